"""Risk limits (max order notional, symbol allowlist, read-only) hold against direct tool calls, with no agent in between."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from market_times import CLOSED, NEXT_OPEN, OPEN
from mcp import Client
from reliability_support import audit, count, payload, read_book, result_text, stdio_broker

from brokers.domain import OrderRequest
from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import build_server
from brokers.settings import get_settings


@pytest.fixture(autouse=True)
def quiet_mcp():
    logging.getLogger("mcp").setLevel(logging.WARNING)


def _engine(monkeypatch, now: str = OPEN, **env: str):
    """The engine exactly as `python -m brokers serve` wires it, from TRADING_* variables."""
    monkeypatch.setenv("TRADING_NOW", now)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return open_engine(get_profile("tradesphere"), get_settings())


def _book(engine):
    return read_book(engine.db.url.removeprefix("sqlite:///"), "tradesphere")


def _traded_nothing(before, after) -> bool:
    """Cash, fills and positions unchanged (a rejected order may leave its rejected record); counted as a breach tried."""
    held = (before.cash, before.fees_paid, len(before.fills), before.positions) == (
        after.cash, after.fees_paid, len(after.fills), after.positions,
    ) and all(o["status"] == "rejected" for i, o in after.orders.items() if i not in before.orders)
    count("limit_breaches_tried")
    count("limit_breaches_passed", not held)
    return held


async def _breach(session, arguments: dict):
    """One place_order that a limit must refuse, counted as a breach tried (and as passed if it was not refused)."""
    count("orders_attempted")
    count("limit_breaches_tried")
    result = await session.call_tool("place_order", arguments)
    count("limit_breaches_passed", not result.is_error)
    return result


async def test_max_order_notional_refuses_every_way_round_it(monkeypatch):
    """Over the per-order limit is refused as shares, as dollars, as a limit order, as a sell, and under it fills."""
    engine = _engine(monkeypatch, TRADING_MAX_ORDER_NOTIONAL="1000")
    engine.add_position("AAPL", "10", "200")
    over = [
        {"symbol": "AAPL", "side": "buy", "quantity": "5"},
        {"symbol": "apple", "side": "buy", "quantity": "4.5"},
        {"symbol": "AAPL", "side": "buy", "notional": "1000.01"},
        {"symbol": "AAPL", "side": "buy", "quantity": "5", "order_type": "limit", "limit_price": "250", "time_in_force": "gtc"},
        {"symbol": "AAPL", "side": "buy", "quantity": "5", "time_in_force": "opg"},
        {"symbol": "AAPL", "side": "sell", "quantity": "5"},
        {"symbol": "AZO", "side": "buy", "quantity": "1"},
    ]
    async with Client(build_server(engine.profile, engine)) as client:
        for arguments in over:
            before = _book(engine)
            count("orders_attempted")
            result = await client.call_tool("place_order", arguments)
            text = result_text(result)
            assert result.is_error and "$1,000.00" in text and "limit" in text, f"{arguments}: {text}"
            assert _traded_nothing(before, _book(engine)), arguments
            estimate = payload(await client.call_tool("estimate_order", {k: v for k, v in arguments.items() if k != "client_order_id"}))
            assert "limit" in (estimate.get("would_be_rejected") or ""), (arguments, estimate)
        count("orders_attempted")
        under = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "4"})
        assert not under.is_error and payload(under)["status"] == "filled", result_text(under)
    audit(_book(engine))


async def test_max_order_notional_holds_when_a_queued_order_fills_higher(monkeypatch, tmp_path):
    """An order queued under the limit at the close price is not filled over the limit at a higher open price."""
    closed = _engine(monkeypatch, CLOSED, TRADING_MAX_ORDER_NOTIONAL="930")
    close_value = 4 * closed.quote("AAPL").ask
    assert close_value <= 930, close_value  # AAPL closes at $229.77 and opens higher (deterministic feed)
    async with Client(build_server(closed.profile, closed)) as client:
        count("orders_attempted")
        queued = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "4"})
        assert not queued.is_error and payload(queued)["status"] == "queued", result_text(queued)
    opened = _engine(monkeypatch, NEXT_OPEN, TRADING_MAX_ORDER_NOTIONAL="930")
    open_value = 4 * opened.feed.quote_at("AAPL", opened.clock.now()).ask
    assert open_value > 930, open_value
    [order] = opened.list_orders()
    book = audit(_book(opened))
    filled_value = sum((f["gross"] for f in book.fills), Decimal(0))
    count("limit_breaches_tried")
    count("limit_breaches_passed", filled_value > 930)
    assert filled_value <= 930, f"{order.status.value} at {order.average_fill_price}: ${filled_value} traded under a $930 limit"
    assert order.status.value == "rejected" and "930" in order.reject_reason, order


async def test_allowlist_refuses_other_symbols_by_any_name(monkeypatch):
    """With an allowlist, other tickers are refused by ticker, company name or alias, buy or sell; listed ones trade."""
    engine = _engine(monkeypatch, TRADING_SYMBOL_ALLOWLIST="AAPL, msft")
    engine.add_position("KO", "10", "60")  # held from before the allowlist: still cannot be traded
    async with Client(build_server(engine.profile, engine)) as client:
        for symbol, side in (("KO", "buy"), ("Coca-Cola", "buy"), ("coke", "buy"), ("KO", "sell"), ("GOOGL", "buy"), ("google", "buy")):
            before = _book(engine)
            count("orders_attempted")
            result = await client.call_tool("place_order", {"symbol": symbol, "side": side, "quantity": "1"})
            text = result_text(result)
            assert result.is_error and "allowed symbols" in text and "AAPL" in text, f"{symbol}: {text}"
            assert _traded_nothing(before, _book(engine)), symbol
        for symbol in ("AAPL", "apple", "MSFT", "Microsoft"):
            count("orders_attempted")
            result = await client.call_tool("place_order", {"symbol": symbol, "side": "buy", "quantity": "1"})
            assert not result.is_error and payload(result)["status"] == "filled", result_text(result)
        profile = payload(await client.call_tool("get_broker_profile", {}))
        assert profile["symbol_allowlist"] == ["AAPL", "MSFT"]
    audit(_book(engine))


async def test_read_only_refuses_every_write_and_still_reads(monkeypatch):
    """Read-only refuses place, cancel and import (by any argument shape) and writes nothing; reads still answer."""
    setup = _engine(monkeypatch)
    resting = setup.place_order(
        OrderRequest.parse(symbol="KO", side="buy", quantity="1", order_type="limit", limit_price="1.00", time_in_force="gtc")
    )
    setup.db.dispose()
    engine = _engine(monkeypatch, TRADING_READ_ONLY="true")
    before = _book(engine).snapshot()
    writes = [
        ("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"}),
        ("place_order", {"symbol": "AAPL", "side": "buy", "notional": "10", "client_order_id": "ro-1"}),
        ("place_order", {"symbol": "KO", "side": "sell", "quantity": "1", "time_in_force": "opg"}),
        ("cancel_order", {"order_id": resting.id}),
        ("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": "1"}),
    ]
    async with Client(build_server(engine.profile, engine)) as client:
        for tool, arguments in writes:
            count("orders_attempted" if tool == "place_order" else "other_writes_attempted")
            count("limit_breaches_tried")
            result = await client.call_tool(tool, arguments)
            count("limit_breaches_passed", not result.is_error)
            assert result.is_error and "read-only" in result_text(result), f"{tool}: {result_text(result)}"
        for tool in ("get_account", "fetch_positions", "list_orders", "get_portfolio_summary", "get_broker_profile"):
            assert not (await client.call_tool(tool, {})).is_error, tool
        assert not (await client.call_tool("get_quote", {"symbol": "AAPL"})).is_error
        assert not (await client.call_tool("estimate_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})).is_error
    after = _book(engine)
    count("limit_breaches_passed", after.snapshot() != before)
    assert after.snapshot() == before
    assert after.orders[resting.id]["status"] == "open"


async def test_limits_hold_in_the_real_server_process(tmp_path):
    """The TRADING_* limits reach a real `python -m brokers serve` process and hold against raw MCP calls."""
    limits = {"TRADING_MAX_ORDER_NOTIONAL": "500", "TRADING_SYMBOL_ALLOWLIST": "KO,PLUG"}
    async with stdio_broker(tmp_path, OPEN, **limits) as session:
        too_big = await _breach(session, {"symbol": "KO", "side": "buy", "quantity": "7"})
        assert too_big.is_error and "$500.00" in result_text(too_big)
        not_listed = await _breach(session, {"symbol": "AAPL", "side": "buy", "quantity": "1"})
        assert not_listed.is_error and "allowed symbols" in result_text(not_listed)
        count("orders_attempted")
        fine = await session.call_tool("place_order", {"symbol": "KO", "side": "buy", "quantity": "6"})
        assert not fine.is_error, result_text(fine)
    async with stdio_broker(tmp_path, OPEN, TRADING_READ_ONLY="1") as session:
        refused = await _breach(session, {"symbol": "KO", "side": "buy", "quantity": "1"})
        assert refused.is_error and "read-only" in result_text(refused)
    book = audit(read_book(tmp_path / "tradesphere.db", "tradesphere"))
    assert [o["status"] for o in book.orders.values()] == ["rejected", "rejected", "filled"]
