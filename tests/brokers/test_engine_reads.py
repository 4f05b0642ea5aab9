"""Reads take no write lock, yet still bring due orders up to date; the equity curve reads only its last fills."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from broker_support import identity_cash, order, trades
from market_times import CLOSED, NEXT_OPEN, OPEN

from brokers import engine as engine_module

READ_TIMEOUT_S = 20  # far below the 60 s busy timeout a read waiting for the write lock would sit in


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _held_write_lock(engine) -> sqlite3.Connection:
    """A second connection to the engine's file holding SQLite's write lock (BEGIN IMMEDIATE) until closed."""
    other = sqlite3.connect(engine.db.url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_reads_answer_while_another_connection_holds_the_write_lock(book):
    """account, positions, list_orders, portfolio_summary, estimate and process_due never wait for a writer."""
    engine = book()
    engine.place_order(order(symbol="AAPL", quantity="3"))
    engine.place_order(order(symbol="KO", quantity="1", order_type="limit", limit_price="1", time_in_force="gtc"))
    expected = (engine.account(), engine.positions(), engine.list_orders(), engine.portfolio_summary())
    other = _held_write_lock(engine)
    try:
        with ThreadPoolExecutor(1) as pool:
            reads = pool.submit(lambda: (
                engine.account(), engine.positions(), engine.list_orders(), engine.portfolio_summary(),
                engine.estimate_order(order(symbol="MSFT", quantity="2")), engine.process_due(),
            ))
            account, positions, orders, summary, estimate, active = reads.result(timeout=READ_TIMEOUT_S)
    finally:
        other.rollback()
        other.close()
    assert (account, positions, orders, summary) == expected
    assert estimate.fills_now and active == 1 and account.open_orders == 1


def test_a_write_still_waits_for_the_lock_and_then_lands(book):
    """A place_order while another connection writes waits for it (BEGIN IMMEDIATE), it does not fail."""
    engine = book()
    other = _held_write_lock(engine)
    with ThreadPoolExecutor(1) as pool:
        placing = pool.submit(engine.place_order, order(symbol="AAPL", quantity="1"))
        with pytest.raises(TimeoutError):
            placing.result(timeout=0.5)
        other.rollback()
        other.close()
        assert placing.result(timeout=READ_TIMEOUT_S).status == "filled"


@pytest.mark.parametrize("read", ["account", "positions", "list_orders", "portfolio_summary", "process_due"])
def test_a_read_that_finds_a_due_order_fills_it(book, read):
    """A queued order whose open has come is filled by the first read that sees it, then every read agrees."""
    engine = book(now=CLOSED)
    queued = engine.place_order(order(symbol="KO", quantity="2"))
    assert queued.status == "queued" and engine.account().open_orders == 1
    engine.clock.frozen_now = at(NEXT_OPEN) + timedelta(hours=1)  # the same engine, no reopen: no start-up processing
    getattr(engine, read)()
    [filled] = engine.list_orders()
    open_ask = engine.feed.quote_at("KO", at(NEXT_OPEN)).ask
    assert (filled.status, filled.average_fill_price, filled.filled_at) == ("filled", open_ask, at(NEXT_OPEN))
    account = engine.account()
    assert account.open_orders == 0 and account.cash == identity_cash(engine) and len(trades(engine)) == 1
    assert [p.quantity for p in engine.positions()] == [2]


def test_an_estimate_that_finds_a_due_order_fills_it_first(book):
    """The estimate's buying power is after the due buy filled, not with its cash still reserved."""
    engine = book(now=CLOSED)
    engine.place_order(order(symbol="KO", quantity="2"))
    engine.clock.frozen_now = at(NEXT_OPEN) + timedelta(hours=1)
    estimate = engine.estimate_order(order(symbol="KO", quantity="1"))
    assert estimate.buying_power == engine.account().cash == identity_cash(engine) < Decimal("100000")
    assert engine.list_orders()[0].status == "filled"


def test_a_resting_limit_that_became_marketable_is_filled_by_a_read(book):
    engine = book(now=OPEN)
    price = engine.quote("AAPL").ask
    resting = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price=str(price - 1),
                                       time_in_force="gtc"))
    assert resting.status == "open"
    for minutes in range(1, 600):  # the simulated price wanders: find a minute of this session where it reaches the limit
        moment = at(OPEN) + timedelta(minutes=minutes)
        if engine.clock.is_open(moment) and engine.feed.quote_at("AAPL", moment).ask <= resting.limit_price:
            break
    else:
        pytest.skip("the simulated AAPL price never came down to the limit this session")
    engine.clock.frozen_now = moment
    assert engine.account().open_orders == 0
    [filled] = engine.list_orders()
    assert (filled.status, filled.average_fill_price) == ("filled", engine.feed.quote_at("AAPL", moment).ask)


def test_the_equity_curve_keeps_its_last_points_without_reading_older_fills(book, monkeypatch):
    """With more fills than the curve shows, its points are the same as replaying every fill from the start."""
    monkeypatch.setattr(engine_module, "EQUITY_CURVE_POINTS", 12)
    engine = book()
    engine.add_position("IBM", "3", "100")
    for i in range(20):
        engine.place_order(order(symbol=("AAPL", "KO")[i % 2], side="buy" if i % 3 else "sell", quantity="1"))
    curve = engine.portfolio_summary().equity_curve
    fills = _all_fills(engine)
    holdings: dict[str, Decimal] = {}
    replayed = []
    for fill in fills:
        holdings[fill.symbol] = holdings.get(fill.symbol, Decimal(0)) + (fill.quantity if fill.side == "buy" else -fill.quantity)
        value = sum((engine_module.money(q * engine.feed.quote_at(s, fill.executed_at).last) for s, q in holdings.items() if q),
                    Decimal(0))
        replayed.append((fill.executed_at, fill.cash_after, fill.cash_after + value))
    account = engine.account()
    assert len(curve) == 12
    assert [(p.time, p.cash, p.equity) for p in curve] == replayed[-11:] + [(at(OPEN), account.cash, account.equity)]


def _all_fills(engine):
    from brokers.persistence import FillRow

    with engine.db.transaction() as session:
        return list(session.query(FillRow).order_by(FillRow.seq))
