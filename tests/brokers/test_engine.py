"""The engine in memory: fills, fees, P&L, rejections with numbers, idempotency, queued orders, the cash identity."""

from __future__ import annotations

import decimal
import random
from datetime import datetime
from decimal import Decimal

import pytest
from market_times import CLOSED, EARLY_CLOSE_DAY, HOLIDAY, NEXT_OPEN, OPEN

from brokers.clock import MarketClock
from brokers.domain import OrderRequest
from brokers.engine import BrokerEngine
from brokers.errors import DuplicateClientOrderId, InvalidRequest, TradingDisabled, UnknownSymbol
from brokers.persistence import BrokerDatabase, FillRow
from brokers.profiles import RiskLimits, get_profile
from brokers.symbols import get_directory


@pytest.fixture
def book(tmp_path):
    """open(broker, now, limits) -> an engine on that broker's db in tmp_path (same db each call)."""

    def open_(broker="tradesphere", now=OPEN, limits=None):
        profile = get_profile(broker)
        db = BrokerDatabase(f"sqlite:///{tmp_path / broker}.db", broker)
        return BrokerEngine(profile, db, clock=MarketClock(datetime.fromisoformat(now)), directory=get_directory(), limits=limits)

    return open_


def order(**kw):
    return OrderRequest.parse(**{"side": "buy", **kw})


def cash_identity(engine):
    with engine.db.transaction() as s:
        fills = s.query(FillRow).filter(FillRow.kind == "trade").all()
    buys = sum((f.gross for f in fills if f.side == "buy"), Decimal(0))
    sells = sum((f.gross for f in fills if f.side == "sell"), Decimal(0))
    fees = sum((f.fees for f in fills), Decimal(0))
    return engine.profile.starting_cash + sells - buys - fees


def test_market_buy_fills_at_the_ask_with_fees(book):
    """A market buy fills at the ask; TradeSphere's minimum fee applies; cash moves to the cent."""
    engine = book()
    ask = engine.quote("AAPL").ask
    o = engine.place_order(order(symbol="Apple", quantity="10"))
    assert (o.status, o.symbol, o.average_fill_price, o.fees) == ("filled", "AAPL", ask, Decimal("0.35"))
    assert engine.account().cash == Decimal("100000.00") - (10 * ask).quantize(Decimal("0.01")) - Decimal("0.35")


def test_sell_at_bid_realizes_pnl_and_average_cost(book):
    """Average cost over two buys; a partial sell at the bid realizes P&L against it."""
    engine = book()
    a = engine.place_order(order(symbol="MSFT", quantity="10"))
    b = engine.place_order(order(symbol="MSFT", quantity="30"))
    [pos] = engine.positions()
    assert pos.quantity == 40 and pos.cost_basis == (10 * a.average_fill_price + 30 * b.average_fill_price)
    bid = engine.quote("MSFT").bid
    s = engine.place_order(order(symbol="MSFT", side="sell", quantity="10"))
    assert s.average_fill_price == bid
    removed = (pos.cost_basis * 10 / 40).quantize(Decimal("0.01"))
    assert engine.account().realized_pnl == 10 * bid - removed
    assert engine.account().cash == cash_identity(engine)


def test_rejections_name_the_numbers_and_write_only_the_record(book):
    """Too little buying power, selling more than held, fractional at Velocity: rejected with numbers."""
    engine = book()
    big = engine.place_order(order(symbol="BRK.A", quantity="1"))
    assert big.status == "rejected" and "needs $" in big.reject_reason and "buying power $100,000.00" in big.reject_reason
    oversell = engine.place_order(order(symbol="AAPL", side="sell", quantity="5"))
    assert oversell.status == "rejected" and "cannot sell 5 AAPL: 0 held" in oversell.reject_reason
    assert engine.account().cash == Decimal("100000.00") and engine.positions() == []
    velocity = book("velocity")
    frac = velocity.place_order(order(symbol="AAPL", quantity="1.5"))
    assert frac.status == "rejected" and "whole shares only" in frac.reject_reason
    assert [o.status for o in engine.list_orders()] == ["rejected", "rejected"]


@pytest.mark.parametrize(("kw", "words"), [
    ({"symbol": "AAPL", "quantity": "-5"}, "positive"), ({"symbol": "AAPL", "quantity": "0"}, "positive"),
    ({"symbol": "AAPL", "quantity": "NaN"}, "finite"), ({"symbol": "AAPL", "quantity": "0.0000001"}, "decimal places"),
    ({"symbol": "AAPL", "quantity": "1", "notional": "5"}, "not both"), ({"symbol": "AAPL"}, "required"),
    ({"symbol": "AAPL", "quantity": "1", "order_type": "limit"}, "limit_price is required"),
    ({"symbol": "AAPL", "quantity": "1", "side": "hold"}, "'hold'"),
    ({"symbol": "AAPL", "quantity": "1", "time_in_force": "forever"}, "'forever'"),
])
def test_bad_requests_name_the_bad_value(kw, words):
    """Malformed orders fail at the boundary with a message naming the value."""
    with pytest.raises(InvalidRequest) as err:
        order(**kw)
    assert words in str(err.value)


def test_unknown_symbol_suggests_and_floats_are_refused(book):
    """Unknown names get suggestions; a float never reaches the domain."""
    with pytest.raises(UnknownSymbol) as err:
        book().place_order(order(symbol="Appel Inc", quantity="1"))
    assert "AAPL" in str(err.value)
    from brokers.money import to_decimal

    with pytest.raises(TypeError):
        to_decimal(1.5, "quantity")


def test_idempotent_client_order_id(book):
    """The same client_order_id returns the first order; a different request with it is an error."""
    engine = book()
    first = engine.place_order(order(symbol="KO", quantity="3", client_order_id="abc-1"))
    again = engine.place_order(order(symbol="KO", quantity="3", client_order_id="abc-1"))
    assert again.id == first.id and len(engine.list_orders()) == 1
    with pytest.raises(DuplicateClientOrderId):
        engine.place_order(order(symbol="KO", quantity="4", client_order_id="abc-1"))
    assert len(engine.list_orders()) == 1


def test_closed_market_queues_and_fills_at_next_open_price(book):
    """After hours a market order queues; the next session fills it at that open's ask."""
    closed = book(now=CLOSED)
    q = closed.place_order(order(symbol="MSFT", quantity="5"))
    assert q.status == "queued" and q.executes_at == datetime.fromisoformat(NEXT_OPEN)
    assert closed.account().buying_power < closed.account().cash
    reopened = book(now="2026-11-25T10:00:00-05:00")
    [filled] = reopened.list_orders()
    assert filled.status == "filled" and filled.average_fill_price == reopened.feed.quote_at("MSFT", datetime.fromisoformat(NEXT_OPEN)).ask


def test_opg_while_open_waits_for_the_next_open_and_holiday_calendar(book):
    """opg placed during a session queues for the next one; Thanksgiving is skipped; early close is 13:00."""
    assert book(now=OPEN).place_order(order(symbol="KO", quantity="1", time_in_force="opg")).executes_at == datetime.fromisoformat(NEXT_OPEN)
    holiday = book("velocity", now=HOLIDAY)
    q = holiday.place_order(order(symbol="KO", quantity="1"))
    assert q.status == "queued" and q.executes_at == datetime.fromisoformat("2026-11-27T09:30:00-05:00")
    cls = book("velocity", now=EARLY_CLOSE_DAY).place_order(order(symbol="KO", quantity="1", time_in_force="cls"))
    assert cls.executes_at == datetime.fromisoformat("2026-11-27T13:00:00-05:00")


def test_limit_orders_rest_fill_cancel_and_expire(book):
    """A non-marketable limit rests; cancel frees it; a day limit expires after the close."""
    engine = book()
    rest = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price="1.00"))
    assert rest.status == "open"
    assert engine.cancel_order(rest.id).status == "cancelled"
    with pytest.raises(InvalidRequest):
        engine.cancel_order(rest.id)
    day = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price="1.00"))
    marketable = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price="100000"))
    assert marketable.status == "filled" and marketable.average_fill_price == engine.quote("AAPL").ask
    later = book(now=CLOSED)
    assert {o.id: o.status for o in later.list_orders()}[day.id] == "expired"


def test_limits_and_read_only_hold(book):
    """Max order value, allowlist and read-only are enforced by the engine."""
    limited = book(limits=RiskLimits(max_order_notional=Decimal("1000"), symbol_allowlist=("AAPL", "KO")))
    assert "per-order limit" in limited.place_order(order(symbol="AAPL", quantity="10")).reject_reason
    assert "allowed symbols" in limited.place_order(order(symbol="MSFT", quantity="1")).reject_reason
    with pytest.raises(TradingDisabled):
        book("velocity", limits=RiskLimits(read_only=True)).place_order(order(symbol="KO", quantity="1"))


def test_notional_and_import(book):
    """$ amounts buy fractional shares at TradeSphere (rounded down); add_position imports without cash."""
    engine = book()
    o = engine.place_order(order(symbol="TSLA", notional="500"))
    assert o.filled_quantity == (Decimal(500) / o.average_fill_price).quantize(Decimal("0.000001"), rounding=decimal.ROUND_DOWN)
    cash = engine.account().cash
    pos = engine.add_position("IBM", "5", "100")
    assert pos.average_cost == Decimal("100.0000") and engine.account().cash == cash


def test_cash_identity_after_random_sequence_with_float_trap(book):
    """Starting cash + sells - buys - fees == cash after 200 random orders, with no float anywhere."""
    context = decimal.getcontext()
    context.traps[decimal.FloatOperation] = True
    try:
        engine = book()
        rng = random.Random(7)
        for _ in range(200):
            symbol = rng.choice(["AAPL", "KO", "F", "MSFT", "SPY"])
            side = rng.choice(["buy", "buy", "sell"])
            qty = str(rng.choice([1, 2, 5, Decimal("0.5"), Decimal("1.25")]))
            engine.place_order(order(symbol=symbol, side=side, quantity=qty))
        assert engine.account().cash == cash_identity(engine)
        assert all(p.quantity > 0 for p in engine.positions())
    finally:
        context.traps[decimal.FloatOperation] = False
