"""Bad input through the MCP tools: a clear error naming the bad value, nothing written, the server still up."""

from __future__ import annotations

import logging

import pytest
from market_times import OPEN
from mcp import Client
from reliability_support import audit, open_engine, payload, read_book, result_text

from brokers.server import build_server

ORDER = {"symbol": "AAPL", "side": "buy", "quantity": "1"}
TINY = "1e-999999999"  # positive, but rounds to zero in any decimal context: must never become a zero price

# (tool, arguments, text the error must contain: the field or the offending value)
BAD_INPUTS: list[tuple[str, dict, str]] = [
    # quantities
    *[("place_order", {**ORDER, "quantity": q}, "quantity") for q in (
        "-5", -5, 0, "0", "-0", "0.000", "NaN", "nan", "sNaN", "-NaN", "Infinity", "inf", "-Infinity", "1e400", 10**30,
        "99999999999", "1000000001", "0.0000001", "1e-7", 0.1 + 0.2, "1.00000000000000000000000000001", "1e-99999", TINY,
        "", " ", "abc", "0x10", "1/2", "1 000", "--1", "1e", ".", "1,5", "1,0", "12,34.5", "1٠", "١", "１", "1_0",
        True, False, [1], {"value": 1},
    )],
    # prices
    *[("place_order", {**ORDER, "order_type": "limit", "limit_price": p}, "limit_price") for p in (
        "NaN", "-1", 0, "0", "230.001", "1e12", "Infinity", TINY, "230,5", "2,30", "２３０", True, [230],
    )],
    ("place_order", {**ORDER, "order_type": "limit"}, "limit_price"),
    ("place_order", {**ORDER, "limit_price": "10"}, "limit_price"),
    # notional
    *[("place_order", {"symbol": "AAPL", "side": "buy", "notional": n}, "notional") for n in (
        "0.001", "-100", "0", "NaN", "1e400", "1e12", TINY, "1,5",
    )],
    ("place_order", {**ORDER, "notional": "100"}, "notional"),
    ("place_order", {"symbol": "AAPL", "side": "buy"}, "quantity"),
    # symbols: unknown, look-alikes, wrong types, floods
    *[("place_order", {**ORDER, "symbol": s}, "symbol") for s in (5, None, ["AAPL"], "A" * 6000)],
    *[("place_order", {**ORDER, "symbol": s}, shown) for s, shown in (
        ("ΑAPL", "ΑAPL"),  # Greek capital alpha
        ("АAPL", "АAPL"),  # Cyrillic capital a
        ("ＡＡＰＬ", "ＡＡＰＬ"),  # fullwidth
        ("AAPL\u200b", "AAPL"),  # zero-width space
        ("ZZZZ", "ZZZZ"),
        ("", "Unknown symbol"),
        ("A" * 5000, "AAAAAAAAAA"),
        ("AAPL; DROP TABLE orders", "DROP TABLE"),
    )],
    # enums and missing or extra fields
    ("place_order", {**ORDER, "side": "hold"}, "hold"),
    ("place_order", {**ORDER, "side": "BUY; sell everything"}, "side"),
    ("place_order", {**ORDER, "side": 1}, "side"),
    ("place_order", {"symbol": "AAPL", "quantity": "1"}, "side"),
    ("place_order", {"side": "buy", "quantity": "1"}, "symbol"),
    ("place_order", {}, "symbol"),
    ("place_order", {**ORDER, "order_type": "stop"}, "order_type"),
    ("place_order", {**ORDER, "time_in_force": "forever"}, "time_in_force"),
    ("place_order", {**ORDER, "time_in_force": "d" * 10_000}, "time_in_force"),
    ("place_order", {**ORDER, "qty": "1"}, "qty"),
    ("place_order", {**ORDER, "surprise": "x"}, "surprise"),
    ("place_order", {**ORDER, "Quantity": "100"}, "Quantity"),
    *[("place_order", {**ORDER, "client_order_id": c}, "client_order_id") for c in ("x" * 65, "a b", "ünï", "", 5)],
    # imports
    *[("add_position", {"symbol": "AAPL", "quantity": q, "purchase_price": "100"}, "quantity") for q in ("-1", "0", "NaN", TINY, "1,5", True)],
    *[("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": p}, "purchase_price") for p in ("-1", "0", "NaN", "0.00001", TINY, "1,5")],
    ("add_position", {"symbol": "AAPL", "quantity": "1"}, "purchase_price"),
    ("add_position", {"symbol": "ΑAPL", "quantity": "1", "purchase_price": "100"}, "ΑAPL"),
    ("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": "100", "cost": "1"}, "cost"),
    # cancels and reads
    ("cancel_order", {"order_id": "no-such-order"}, "no-such-order"),
    ("cancel_order", {"order_id": "x" * 300}, "order_id"),
    ("cancel_order", {}, "order_id"),
    ("cancel_order", {"order_id": "x", "all": True}, "all"),
    ("list_orders", {"limit": 0}, "limit"),
    ("list_orders", {"limit": 100_000}, "limit"),
    ("list_orders", {"limit": "x"}, "limit"),
    ("list_orders", {"limit": 1.5}, "limit"),
    ("list_orders", {"status": "everything"}, "everything"),
    ("list_orders", {"symbol": "ΑAPL"}, "ΑAPL"),
    ("get_quote", {"symbol": "ΑAPL"}, "ΑAPL"),
    ("get_quote", {}, "symbol"),
    ("estimate_order", {**ORDER, "quantity": "NaN"}, "quantity"),
    ("estimate_order", {**ORDER, "quantity": "1,5"}, "quantity"),
    ("estimate_order", {**ORDER, "symbol": "ＡＡＰＬ"}, "ＡＡＰＬ"),
]


@pytest.fixture
def engine(tmp_path):
    logging.getLogger("mcp").setLevel(logging.WARNING)
    engine = open_engine(tmp_path / "tradesphere.db", "tradesphere", OPEN)
    engine.add_position("AAPL", "10", "200")  # something held, so a bad sell would have something to take
    yield engine
    engine.db.dispose()


async def test_every_bad_input_is_refused_by_name_and_writes_nothing(engine):
    """Each malformed tool call is a short tool error naming the field or value; nothing is written; the server still trades."""
    db = engine.db.url.removeprefix("sqlite:///")
    before = read_book(db, "tradesphere").snapshot()
    problems = []
    async with Client(build_server(engine.profile, engine)) as client:
        for tool, arguments, named in BAD_INPUTS:
            result = await client.call_tool(tool, arguments)
            text = result_text(result)
            call = f"{tool}({str(arguments)[:80]})"
            if not result.is_error:
                problems.append(f"{call} was accepted: {text[:160]}")
            elif not text.startswith(f"Error executing tool {tool}:"):
                problems.append(f"{call} gave no reason: {text[:160]}")  # the bare line a hidden exception gives
            elif named.lower() not in text.lower():
                problems.append(f"{call} error does not name {named!r}: {text[:200]}")
            elif len(text) > 1500:
                problems.append(f"{call} error is {len(text)} characters long")
            if read_book(db, "tradesphere").snapshot() != before:
                problems.append(f"{call} changed the book")
                before = read_book(db, "tradesphere").snapshot()
            account = await client.call_tool("get_account", {})
            if account.is_error or payload(account)["cash"] != "100000.00":
                problems.append(f"after {call} get_account gave {result_text(account)[:160]}")
        assert not problems, "\n".join(problems)
        good = await client.call_tool("place_order", {**ORDER, "quantity": "2"})
    assert not good.is_error and payload(good)["status"] == "filled", result_text(good)
    book = audit(read_book(db, "tradesphere"), engine.profile.commission)
    assert len(book.orders) == 1 and book.reference["AAPL"].quantity == 12
