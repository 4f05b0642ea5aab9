"""Retries with one client_order_id, concurrently from two real broker processes: one order, never two."""

from __future__ import annotations

import asyncio

from market_times import OPEN
from reliability_support import audit, count, lost_and_doubled, payload, read_book, result_text, stdio_brokers

from brokers.profiles import get_profiles

RETRIES_PER_PROCESS = 50


async def test_same_client_order_id_retried_100_times_from_two_processes_places_one_order(tmp_path):
    """100 concurrent retries of one client_order_id from two processes give exactly one order, and the same answer each time."""
    market = {"symbol": "KO", "side": "buy", "quantity": "3", "client_order_id": "retry-market-1"}
    resting = {"symbol": "KO", "side": "buy", "quantity": "2", "order_type": "limit", "limit_price": "1.00",
               "time_in_force": "gtc", "client_order_id": "retry-limit-1"}
    async with stdio_brokers(2, tmp_path, OPEN) as (first, second):
        for arguments, status in ((market, "filled"), (resting, "open")):
            calls = [session.call_tool("place_order", arguments) for _ in range(RETRIES_PER_PROCESS) for session in (first, second)]
            assert len(calls) == 100
            count("orders_attempted", len(calls))
            results = await asyncio.gather(*calls)
            assert not [result_text(r) for r in results if r.is_error]
            ids = {payload(r)["id"] for r in results}
            assert len(ids) == 1, f"{len(ids)} different orders for one client_order_id"
            assert {payload(r)["status"] for r in results} == {status}
    book = audit(read_book(tmp_path / "tradesphere.db", "tradesphere"), get_profiles()["tradesphere"].commission)
    lost, doubled = lost_and_doubled(book, ["retry-limit-1", "retry-market-1"])
    assert not lost and not doubled, (lost, doubled)
    assert sorted(o["client_order_id"] for o in book.orders.values()) == ["retry-limit-1", "retry-market-1"]
    assert len(book.fills) == 1 and book.reference["KO"].quantity == 3


async def test_same_client_order_id_with_different_arguments_is_refused_and_places_nothing(tmp_path):
    """Reusing a client_order_id for another order is a clear error from either process, and nothing is placed."""
    original = {"symbol": "KO", "side": "buy", "quantity": "3", "client_order_id": "reused-1"}
    variants = [
        {**original, "quantity": "4"},
        {**original, "side": "sell"},
        {**original, "symbol": "AAPL"},
        {**original, "quantity": None, "notional": "210"},
        {**original, "order_type": "limit", "limit_price": "80"},
        {**original, "time_in_force": "gtc"},
    ]
    async with stdio_brokers(2, tmp_path, OPEN) as (first, second):
        placed = await first.call_tool("place_order", original)
        assert not placed.is_error, result_text(placed)
        before = read_book(tmp_path / "tradesphere.db", "tradesphere").snapshot()
        reuses = [s.call_tool("place_order", v) for v in variants for s in (first, second)]
        count("orders_attempted", 2 + len(reuses))  # the original, the reuses, the true retry below
        results = await asyncio.gather(*reuses)
        for result in results:
            text = result_text(result)
            assert result.is_error, f"a different order under a used client_order_id was accepted: {text}"
            assert "reused-1" in text and "client_order_id" in text and "nothing was placed" in text, text
        assert read_book(tmp_path / "tradesphere.db", "tradesphere").snapshot() == before
        again = await second.call_tool("place_order", original)  # the true retry still answers with the original
        assert not again.is_error and payload(again)["id"] == payload(placed)["id"]
    lost, doubled = lost_and_doubled(read_book(tmp_path / "tradesphere.db", "tradesphere"), ["reused-1"])
    assert not lost and not doubled, (lost, doubled)
