"""The engine in memory: fills, fees, P&L, every rejection with its numbers, idempotency, limit and queued orders,
the market calendar, imports, persistence, and the cash identity after a random sequence of orders.

Expected amounts are computed from the feed's quote and the profile's fee schedule, never hard-coded prices.
"""

from __future__ import annotations

import decimal
import random
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from broker_support import cents, expected_fee, identity_cash, order, trades
from market_times import CLOSED, EARLY_CLOSE_DAY, HOLIDAY, NEXT_OPEN, OPEN

from brokers.errors import DuplicateClientOrderId, InvalidRequest, OrderNotFound, TradingDisabled, UnknownSymbol
from brokers.persistence import OrderRow
from brokers.profiles import RiskLimits
from brokers.symbols import get_directory

START = Decimal("100000.00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def later(text: str, **delta) -> str:
    return (at(text) + timedelta(**delta)).isoformat()


def nothing_written(engine) -> bool:
    account = engine.account()
    return (account.cash, account.buying_power, account.fees_paid) == (START, START, 0) and engine.positions() == [] \
        and trades(engine) == []


# ----------------------------------------------------------------------------------------------- fills and P&L


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
def test_market_buy_fills_at_the_ask_and_sell_at_the_bid_with_fees(book, broker):
    """Buy at the ask, sell at the bid, each with the broker's commission; cash moves to the cent."""
    engine = book(broker)
    quote = engine.quote("AAPL")
    bought = engine.place_order(order(symbol="Apple", quantity="10"))
    buy_fee = expected_fee(engine.profile, Decimal(10), quote.ask)
    assert (bought.status, bought.symbol, bought.filled_quantity, bought.average_fill_price, bought.fees) == (
        "filled", "AAPL", 10, quote.ask, buy_fee)
    assert bought.filled_at == at(OPEN)
    sold = engine.place_order(order(symbol="AAPL", side="sell", quantity="4"))
    sell_fee = expected_fee(engine.profile, Decimal(4), quote.bid)
    assert (sold.status, sold.average_fill_price, sold.fees) == ("filled", quote.bid, sell_fee)
    account = engine.account()
    assert account.cash == START - cents(10 * quote.ask) - buy_fee + cents(4 * quote.bid) - sell_fee
    assert account.fees_paid == buy_fee + sell_fee
    assert quote.bid < quote.last < quote.ask


def test_fee_minimums_differ_between_brokers(book):
    """10 shares: TradeSphere charges its $0.35 minimum, Velocity its $1.00 minimum; 1000 shares: $3.50 vs $6.50."""
    fees = {}
    for broker in ("tradesphere", "velocity"):
        engine = book(broker)
        fees[broker] = [engine.place_order(order(symbol="KO", quantity=q)).fees for q in ("10", "1000")]
    assert fees == {"tradesphere": [Decimal("0.35"), Decimal("3.50")], "velocity": [Decimal("1.00"), Decimal("6.50")]}


def test_average_cost_over_two_buys_and_realized_pnl_on_a_partial_sell(book):
    """Two buys at different prices average by cost; a partial sell realizes P&L against that average."""
    first = book(now=OPEN).place_order(order(symbol="MSFT", quantity="10"))
    second_time = later(OPEN, hours=2)
    engine = book(now=second_time)
    second = engine.place_order(order(symbol="MSFT", quantity="30"))
    assert first.average_fill_price != second.average_fill_price
    cost = cents(10 * first.average_fill_price) + cents(30 * second.average_fill_price)
    [position] = engine.positions()
    assert (position.quantity, position.cost_basis) == (40, cost)
    assert position.average_cost == (cost / 40).quantize(Decimal("0.0001"))

    bid = engine.quote("MSFT").bid
    sold = engine.place_order(order(symbol="MSFT", side="sell", quantity="10"))
    removed = cents(cost * 10 / 40)
    realized = cents(10 * bid) - removed
    [position] = engine.positions()
    assert (sold.average_fill_price, position.quantity, position.cost_basis) == (bid, 30, cost - removed)
    assert position.realized_pnl == realized and engine.account().realized_pnl == realized
    assert engine.account().cash == identity_cash(engine)

    engine.place_order(order(symbol="MSFT", side="sell", quantity="30"))  # the rest: the whole remaining basis goes
    assert engine.positions() == []
    assert engine.account().realized_pnl == cents(10 * bid) + cents(30 * bid) - cost


def test_unrealized_pnl_and_equity_follow_the_last_price(book):
    """Market value is quantity x last; unrealized = value - cost basis; equity = cash + value."""
    book(now=OPEN).place_order(order(symbol="NVDA", quantity="12"))
    engine = book(now=later(OPEN, hours=3))
    last = engine.quote("NVDA").last
    [position] = engine.positions()
    value = cents(12 * last)
    assert (position.market_price, position.market_value) == (last, value)
    assert position.unrealized_pnl == value - position.cost_basis
    assert position.unrealized_pnl_pct == (position.unrealized_pnl * 100 / position.cost_basis).quantize(Decimal("0.01"))
    account = engine.account()
    assert (account.positions_value, account.unrealized_pnl, account.equity) == (value, value - position.cost_basis,
                                                                                 account.cash + value)
    summary = engine.portfolio_summary()
    assert summary.total_positions == 1 and summary.account == account
    assert [p.equity for p in summary.equity_curve][0] == START and summary.equity_curve[-1].equity == account.equity


# ----------------------------------------------------------------------------------------------- rejections


def test_buying_power_rejection_names_the_amounts(book):
    """One BRK.A share costs more than the account: 'needs $X, buying power $100,000.00'."""
    engine = book()
    ask = engine.quote("BRK.A").ask
    needed = cents(ask) + expected_fee(engine.profile, Decimal(1), ask)
    rejected = engine.place_order(order(symbol="BRK.A", quantity="1"))
    assert rejected.status == "rejected"
    assert rejected.reject_reason == f"needs ${needed:,.2f}, buying power $100,000.00"
    assert nothing_written(engine)
    assert [(o.id, o.status) for o in engine.list_orders()] == [(rejected.id, "rejected")]


def test_selling_more_than_held_is_rejected(book):
    engine = book()
    assert engine.place_order(order(symbol="AAPL", side="sell", quantity="5")).reject_reason == "cannot sell 5 AAPL: 0 held"
    engine.place_order(order(symbol="AAPL", quantity="2"))
    cash = engine.account().cash
    rejected = engine.place_order(order(symbol="AAPL", side="sell", quantity="2.5"))
    assert rejected.reject_reason == "cannot sell 2.5 AAPL: 2 held"
    assert engine.account().cash == cash and engine.positions()[0].quantity == 2


def test_velocity_refuses_fractional_shares(book):
    engine = book("velocity")
    rejected = engine.place_order(order(symbol="AAPL", quantity="1.5"))
    assert rejected.reject_reason == "VelocityBrokers trades whole shares only; quantity 1.5 is fractional"
    assert nothing_written(engine)
    with pytest.raises(InvalidRequest, match="whole shares only; quantity 0.5 is fractional"):
        engine.add_position("AAPL", "0.5", "100")


@pytest.mark.parametrize(("broker", "symbol", "notional"), [("velocity", "MSFT", "100"), ("tradesphere", "BRK.A", "0.01")])
def test_notional_too_small_to_buy_anything(book, broker, symbol, notional):
    """$100 buys no whole MSFT share at Velocity; a cent buys under 0.000001 BRK.A at TradeSphere."""
    engine = book(broker)
    ask = engine.quote(symbol).ask
    rejected = engine.place_order(order(symbol=symbol, notional=notional))
    assert rejected.reject_reason == (
        f"notional ${Decimal(notional):,.2f} buys less than the smallest tradable quantity at ${ask:,.2f}")
    assert nothing_written(engine)


def test_max_order_notional_and_allowlist_from_risk_limits(book):
    """Per-order value limit and the symbol allowlist reject with the numbers and the list."""
    engine = book(limits=RiskLimits(max_order_notional=Decimal("1000"), symbol_allowlist=("AAPL", "KO")))
    ask = engine.quote("AAPL").ask
    too_big = engine.place_order(order(symbol="AAPL", quantity="10"))
    assert too_big.reject_reason == f"order value ${cents(10 * ask):,.2f} is over TradeSphere's per-order limit of $1,000.00"
    not_listed = engine.place_order(order(symbol="Microsoft", quantity="1"))
    assert not_listed.reject_reason == "MSFT is not on TradeSphere's allowed symbols (AAPL, KO)"
    assert nothing_written(engine)
    assert engine.place_order(order(symbol="AAPL", quantity="4")).status == "filled"  # 4 x ~$230 is under $1,000


def test_read_only_raises_and_writes_nothing(book):
    """Read-only refuses place, cancel and import outright: no order record, no cash, no position."""
    book("velocity").place_order(order(symbol="KO", quantity="1", order_type="limit", limit_price="1"))
    engine = book("velocity", limits=RiskLimits(read_only=True))
    before = (engine.account(), engine.list_orders())
    with pytest.raises(TradingDisabled, match="VelocityBrokers is in read-only mode"):
        engine.place_order(order(symbol="KO", quantity="1"))
    with pytest.raises(TradingDisabled):
        engine.cancel_order(before[1][0].id)
    with pytest.raises(TradingDisabled):
        engine.add_position("KO", "1", "50")
    assert (engine.account(), engine.list_orders()) == before
    assert engine.estimate_order(order(symbol="KO", quantity="1")).would_be_rejected is None  # reading still works


def test_unknown_symbol_suggests_and_writes_nothing(book):
    engine = book()
    with pytest.raises(UnknownSymbol) as err:
        engine.place_order(order(symbol="Appel Inc", quantity="1"))
    assert "AAPL (Apple Inc.)" in err.value.suggestions and "Did you mean" in str(err.value)
    assert nothing_written(engine) and engine.list_orders() == []


# ----------------------------------------------------------------------------------------------- idempotency


def test_same_client_order_id_same_request_places_once(book):
    engine = book()
    first = engine.place_order(order(symbol="KO", quantity="3", client_order_id="abc-1"))
    again = engine.place_order(order(symbol="Coca-Cola", quantity="3.0", client_order_id="abc-1"))
    assert again.id == first.id and again.status == "filled" and "nothing new was placed" in again.message
    assert len(engine.list_orders()) == 1 and len(trades(engine)) == 1
    assert engine.positions()[0].quantity == 3


def test_same_client_order_id_different_request_is_refused(book):
    engine = book()
    engine.place_order(order(symbol="KO", quantity="3", client_order_id="abc-1"))
    account = engine.account()
    for changed in ({"quantity": "4"}, {"side": "sell", "quantity": "3"}, {"notional": "300"}, {"symbol": "PEP", "quantity": "3"}):
        with pytest.raises(DuplicateClientOrderId, match="'abc-1' was already used for a different order .buy 3 KO.; nothing was placed"):
            engine.place_order(order(**({"symbol": "KO"} | changed), client_order_id="abc-1"))
    assert len(engine.list_orders()) == 1 and engine.account() == account



def test_a_reused_dollar_order_id_is_described_in_dollars(book):
    """The refusal names the first order as it was placed: '$500.00 of KO', not '500 KO' (shares)."""
    engine = book()
    engine.place_order(order(symbol="KO", notional="500", client_order_id="usd-1"))
    with pytest.raises(DuplicateClientOrderId, match=r"different order \(buy \$500\.00 of KO\); nothing was placed"):
        engine.place_order(order(symbol="KO", quantity="5", client_order_id="usd-1"))


# ----------------------------------------------------------------------------------------------- notional orders


def test_notional_buys_fractional_shares_at_tradesphere_rounded_down(book):
    engine = book()
    ask = engine.quote("TSLA").ask
    filled = engine.place_order(order(symbol="TSLA", notional="500"))
    shares = (Decimal(500) / ask).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    assert shares != shares.to_integral_value()
    assert (filled.filled_quantity, filled.average_fill_price, filled.notional, filled.quantity) == (shares, ask, 500, None)
    assert cents(shares * ask) <= 500  # never more than was asked for
    assert engine.account().cash == START - cents(shares * ask) - expected_fee(engine.profile, shares, ask)


def test_notional_buys_whole_shares_at_velocity(book):
    engine = book("velocity")
    ask = engine.quote("MSFT").ask
    filled = engine.place_order(order(symbol="MSFT", notional="2000"))
    assert filled.filled_quantity == (Decimal(2000) / ask).to_integral_value(rounding=ROUND_DOWN)
    assert filled.fees == expected_fee(engine.profile, filled.filled_quantity, ask)


def test_notional_sell(book):
    engine = book()
    engine.place_order(order(symbol="KO", quantity="100"))
    bid = engine.quote("KO").bid
    sold = engine.place_order(order(symbol="KO", side="sell", notional="700"))
    assert sold.filled_quantity == (Decimal(700) / bid).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    assert engine.positions()[0].quantity == 100 - sold.filled_quantity


# ----------------------------------------------------------------------------------------------- limit orders


def test_marketable_limits_fill_at_the_quote_not_the_limit(book):
    engine = book()
    quote = engine.quote("AAPL")
    buy = engine.place_order(order(symbol="AAPL", quantity="2", order_type="limit", limit_price=str(quote.ask + 5)))
    assert (buy.status, buy.average_fill_price) == ("filled", quote.ask)
    sell = engine.place_order(order(symbol="AAPL", side="sell", quantity="1", order_type="limit", limit_price=str(quote.bid - 5)))
    assert (sell.status, sell.average_fill_price) == ("filled", quote.bid)
    exact = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price=str(quote.ask)))
    assert (exact.status, exact.average_fill_price) == ("filled", quote.ask)


def test_non_marketable_limit_rests_reserves_and_day_limit_expires_after_the_close(book):
    engine = book()
    limit = engine.quote("AAPL").ask - 20
    resting = engine.place_order(order(symbol="AAPL", quantity="10", order_type="limit", limit_price=str(limit)))
    assert (resting.status, resting.expires_at, resting.filled_quantity) == ("open", at("2026-11-24T16:00:00-05:00"), 0)
    reserved = cents(10 * limit) + expected_fee(engine.profile, Decimal(10), limit)
    account = engine.account()
    assert (account.cash, account.buying_power, account.open_orders) == (START, START - reserved, 1)

    still = book(now="2026-11-24T15:59:00-05:00").list_orders(status="open")
    assert [o.id for o in still] == [resting.id]
    after_close = book(now=CLOSED)
    [expired] = after_close.list_orders()
    assert expired.status == "expired" and after_close.account().buying_power == START


def test_gtc_limit_stays_open_across_the_close_until_cancelled(book):
    engine = book()
    limit = engine.quote("AAPL").ask - 40
    gtc = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price=str(limit), time_in_force="gtc"))
    assert gtc.status == "open" and gtc.expires_at is None and "until cancelled" in gtc.message
    next_day = book(now=later(NEXT_OPEN, hours=1))
    assert next_day.list_orders()[0].status == "open"
    cancelled = next_day.cancel_order(gtc.id)
    assert cancelled.status == "cancelled" and next_day.account().buying_power == START


def test_resting_limit_fills_when_the_market_reaches_it_at_that_quote(book):
    """A buy limit a dollar under the ask fills at the first minute the ask is at or under it, at that ask."""
    engine = book()
    limit = engine.quote("AAPL").ask - 1
    resting = engine.place_order(order(symbol="AAPL", quantity="3", order_type="limit", limit_price=str(limit)))
    assert resting.status == "open"
    minute = next(at(OPEN) + timedelta(minutes=m) for m in range(1, 330)
                  if engine.feed.quote_at("AAPL", at(OPEN) + timedelta(minutes=m)).ask <= limit)
    assert book(now=(minute - timedelta(minutes=1)).isoformat()).list_orders()[0].status == "open"
    reopened = book(now=minute.isoformat())
    [filled] = reopened.list_orders()
    ask = reopened.feed.quote_at("AAPL", minute).ask
    assert (filled.status, filled.average_fill_price, filled.filled_at) == ("filled", ask, minute)
    assert filled.average_fill_price <= limit
    assert reopened.account().cash == identity_cash(reopened) == START - cents(3 * ask) - expected_fee(reopened.profile, Decimal(3), ask)


# ----------------------------------------------------------------------------------------------- cancel


def test_cancel_frees_buying_power_and_filled_orders_cannot_be_cancelled(book):
    closed = book(now=CLOSED)
    queued = closed.place_order(order(symbol="KO", quantity="10", client_order_id="q-1"))
    assert closed.account().buying_power < START
    assert closed.cancel_order("q-1").status == "cancelled"  # by client_order_id
    assert closed.account().buying_power == START
    with pytest.raises(InvalidRequest, match=f"order {queued.id} is cancelled; only queued or open orders can be cancelled"):
        closed.cancel_order(queued.id)
    engine = book(now=OPEN)
    filled = engine.place_order(order(symbol="KO", quantity="1"))
    with pytest.raises(InvalidRequest, match="is filled; only queued or open orders"):
        engine.cancel_order(filled.id)
    with pytest.raises(OrderNotFound, match="no order with id or client_order_id 'nope' at TradeSphere"):
        engine.cancel_order("nope")


# ----------------------------------------------------------------------------------------------- queued orders and the calendar


def test_closed_market_queues_reserves_and_fills_at_the_next_open_price(book):
    closed = book(now=CLOSED)
    assert not closed.clock.is_open()
    close_ask = closed.quote("MSFT").ask
    queued = closed.place_order(order(symbol="MSFT", quantity="5"))
    assert (queued.status, queued.executes_at) == ("queued", at(NEXT_OPEN))
    assert "queued on TradeSphere; it executes at the open, Wed 2026-11-25 09:30 ET" in queued.message
    reserved = cents(5 * close_ask) + expected_fee(closed.profile, Decimal(5), close_ask)
    account = closed.account()
    assert (account.cash, account.buying_power, account.open_orders) == (START, START - reserved, 1)
    assert closed.place_order(order(symbol="MSFT", side="sell", quantity="1")).status == "rejected"

    reopened = book(now=later(NEXT_OPEN, minutes=30))
    [filled] = reopened.list_orders(status="filled")
    assert filled.id == queued.id
    open_ask = reopened.feed.quote_at("MSFT", at(NEXT_OPEN)).ask
    assert open_ask != close_ask
    assert (filled.status, filled.average_fill_price, filled.filled_at) == ("filled", open_ask, at(NEXT_OPEN))
    account = reopened.account()
    assert account.cash == account.buying_power == START - cents(5 * open_ask) - expected_fee(reopened.profile, Decimal(5), open_ask)


def test_queued_order_is_rejected_at_the_open_if_cash_no_longer_covers_it(book):
    """The reservation uses the close's price; at the open the fill checks cash again at the open's price."""
    closed = book(now=CLOSED)
    symbol = next(s for s in SYMBOLS if closed.feed.quote_at(s, at(NEXT_OPEN)).ask > closed.quote(s).ask * Decimal("1.001"))
    close_ask, open_ask = closed.quote(symbol).ask, closed.feed.quote_at(symbol, at(NEXT_OPEN)).ask
    shares = ((START - 10) / close_ask).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)  # all in, at the close's price
    queued = closed.place_order(order(symbol=symbol, quantity=str(shares)))
    assert queued.status == "queued"
    [done] = book(now=later(NEXT_OPEN, minutes=1)).list_orders()
    needed = cents(shares * open_ask) + expected_fee(closed.profile, shares, open_ask)
    assert needed > START
    assert done.status == "rejected"
    assert done.reject_reason == f"needs ${needed:,.2f} at ${open_ask:,.2f}, cash $100,000.00"
    assert trades(closed) == [] and book(now=later(NEXT_OPEN, minutes=1)).account().buying_power == START


def test_queued_sell_reserves_the_shares(book):
    book(now=OPEN).place_order(order(symbol="AAPL", quantity="10"))
    closed = book(now=CLOSED)
    assert closed.place_order(order(symbol="AAPL", side="sell", quantity="10")).status == "queued"
    second = closed.place_order(order(symbol="AAPL", side="sell", quantity="1"))
    assert second.reject_reason == "cannot sell 1 AAPL: 10 held (10 already reserved by open sell orders)"


def test_opg_placed_while_open_waits_for_the_next_sessions_open(book):
    engine = book(now=OPEN)
    opg = engine.place_order(order(symbol="KO", quantity="1", time_in_force="opg"))
    assert (opg.status, opg.executes_at) == ("queued", at(NEXT_OPEN))
    assert book(now=later(OPEN, hours=5)).list_orders()[0].status == "queued"  # not at today's close
    [filled] = book(now=later(NEXT_OPEN, hours=1)).list_orders()
    assert (filled.status, filled.average_fill_price) == ("filled", engine.feed.quote_at("KO", at(NEXT_OPEN)).ask)


def test_cls_fills_at_the_close_price(book):
    """A cls order executes at 16:00 at the closing price: the quote the market shows all evening."""
    engine = book(now=OPEN)
    cls = engine.place_order(order(symbol="AAPL", quantity="2", time_in_force="cls"))
    assert (cls.status, cls.executes_at) == ("queued", at("2026-11-24T16:00:00-05:00"))
    evening = book(now=CLOSED)
    [filled] = evening.list_orders()
    close_ask = evening.quote("AAPL").ask
    assert close_ask == evening.feed.quote_at("AAPL", at("2026-11-24T15:59:00-05:00")).ask
    assert close_ask != evening.feed.quote_at("AAPL", at("2026-11-23T15:59:00-05:00")).ask  # not yesterday's close
    assert (filled.status, filled.average_fill_price, filled.filled_at) == ("filled", close_ask, cls.executes_at)


def test_due_orders_fill_in_clock_order_after_an_idle_night(book):
    """An opg placed before a cls still fills after it: fills, cash and the equity curve follow the clock."""
    engine = book(now=OPEN)
    opg = engine.place_order(order(symbol="AAPL", quantity="1", time_in_force="opg"))
    cls = engine.place_order(order(symbol="KO", quantity="1", time_in_force="cls"))
    assert opg.executes_at > cls.executes_at
    reopened = book(now=later(NEXT_OPEN, hours=1))  # nobody used the engine between the close and the open
    fills = trades(reopened)
    assert [(f.symbol, f.executed_at) for f in fills] == [("KO", cls.executes_at), ("AAPL", opg.executes_at)]
    assert fills[0].cash_after == START - fills[0].gross - fills[0].fees
    curve = [point.time for point in reopened.portfolio_summary().equity_curve]
    assert curve == sorted(curve)


def test_thanksgiving_is_closed_and_queues_for_friday(book):
    engine = book("velocity", now=HOLIDAY)
    assert not engine.clock.is_open() and not engine.account().market_open
    assert engine.clock.next_open() == at("2026-11-27T09:30:00-05:00")
    wednesday_close = engine.feed.quote_at("KO", at("2026-11-25T15:59:00-05:00"))
    assert engine.quote("KO").ask == wednesday_close.ask  # prices stand still through the holiday
    queued = engine.place_order(order(symbol="KO", quantity="1"))
    assert (queued.status, queued.executes_at) == ("queued", at("2026-11-27T09:30:00-05:00"))
    [filled] = book("velocity", now=EARLY_CLOSE_DAY).list_orders()
    assert filled.average_fill_price == engine.feed.quote_at("KO", at("2026-11-27T09:30:00-05:00")).ask


def test_early_close_day_ends_at_one(book):
    """The day after Thanksgiving closes at 13:00 ET: cls executes then, day limits expire then."""
    engine = book(now=EARLY_CLOSE_DAY)
    assert engine.clock.is_open() and engine.clock.next_close() == at("2026-11-27T13:00:00-05:00")
    assert engine.clock.status()["early_close"] is True
    cls = engine.place_order(order(symbol="KO", quantity="1", time_in_force="cls"))
    day = engine.place_order(order(symbol="KO", quantity="1", order_type="limit", limit_price="1"))
    assert cls.executes_at == day.expires_at == at("2026-11-27T13:00:00-05:00")
    afternoon = book(now="2026-11-27T13:30:00-05:00")
    assert not afternoon.clock.is_open()
    statuses = {o.id: (o.status, o.average_fill_price) for o in afternoon.list_orders()}
    close_ask = afternoon.feed.quote_at("KO", at("2026-11-27T12:59:00-05:00")).ask
    assert statuses == {cls.id: ("filled", close_ask), day.id: ("expired", None)}
    assert afternoon.quote("KO").ask == close_ask


def test_estimate_matches_the_fill_and_places_nothing(book):
    engine = book()
    estimate = engine.estimate_order(order(symbol="MSFT", quantity="50"))
    ask = engine.quote("MSFT").ask
    assert (estimate.expected_price, estimate.trade_value, estimate.fees) == (ask, cents(50 * ask), Decimal("0.35"))
    assert estimate.total == cents(50 * ask) + Decimal("0.35") and estimate.fills_now and estimate.buying_power == START
    assert engine.list_orders() == []
    filled = engine.place_order(order(symbol="MSFT", quantity="50"))
    assert (filled.average_fill_price, filled.fees) == (estimate.expected_price, estimate.fees)
    assert START - engine.account().cash == estimate.total
    closed = book("velocity", now=CLOSED)
    later_fill = closed.estimate_order(order(symbol="KO", quantity="3"))
    assert not later_fill.fills_now and later_fill.executes_at == at(NEXT_OPEN) and later_fill.would_be_rejected is None
    assert later_fill.message.endswith("queued until Wed 2026-11-25 09:30 ET.")
    too_big = closed.estimate_order(order(symbol="BRK.A", quantity="1"))
    assert not too_big.fills_now and too_big.would_be_rejected.startswith("needs $")
    assert too_big.message.endswith(f"It would be rejected: {too_big.would_be_rejected}") and "rests as" not in too_big.message
    assert closed.list_orders() == []


# ----------------------------------------------------------------------------------------------- imports and persistence


def test_add_position_imports_a_holding_without_moving_cash(book):
    engine = book()
    engine.place_order(order(symbol="KO", quantity="1"))
    cash = engine.account().cash
    imported = engine.add_position("International Business Machines", "5", "100")
    assert (imported.symbol, imported.quantity, imported.average_cost, imported.cost_basis) == ("IBM", 5, Decimal("100.0000"), Decimal("500.00"))
    assert engine.account().cash == cash
    assert {p.symbol: p.average_cost for p in engine.positions()}["IBM"] == Decimal("100")
    engine.add_position("IBM", "5", "110.5")
    ibm = {p.symbol: p for p in engine.positions()}["IBM"]
    assert (ibm.quantity, ibm.average_cost) == (10, Decimal("105.25"))
    bid = engine.quote("IBM").bid
    engine.place_order(order(symbol="IBM", side="sell", quantity="10"))
    assert engine.account().realized_pnl == cents(10 * bid) - Decimal("1052.50")
    assert engine.account().cash == identity_cash(engine)
    for bad, message in ((("IBM", "0", "1")), "quantity must be positive"), ((("IBM", "1", "-1")), "purchase_price must be positive"):
        with pytest.raises(InvalidRequest, match=message):
            engine.add_position(*bad)


def test_the_account_survives_reopening(book):
    engine = book()
    engine.place_order(order(symbol="AAPL", quantity="3"))
    engine.place_order(order(symbol="KO", quantity="1", order_type="limit", limit_price="1", time_in_force="gtc"))
    engine.add_position("IBM", "2", "150")
    before = (engine.account(), engine.positions(), engine.list_orders())
    engine.db.dispose()
    again = book()
    assert (again.account(), again.positions(), again.list_orders()) == before
    assert again.account().cash < START and again.account().open_orders == 1


# ----------------------------------------------------------------------------------------------- listing orders


def test_list_orders_filters(book):
    engine = book()
    filled = engine.place_order(order(symbol="AAPL", quantity="1"))
    resting = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price="1"))
    rejected = engine.place_order(order(symbol="KO", side="sell", quantity="1"))
    queued = engine.place_order(order(symbol="KO", quantity="1", time_in_force="opg"))
    cancelled = engine.place_order(order(symbol="MSFT", quantity="1", order_type="limit", limit_price="1"))
    engine.cancel_order(cancelled.id)

    def ids(**filters):
        return [o.id for o in engine.list_orders(**filters)]

    assert ids() == [cancelled.id, queued.id, rejected.id, resting.id, filled.id]  # newest first
    assert ids(status="active") == [queued.id, resting.id]
    assert ids(status="OPEN") == [resting.id] and ids(status="queued") == [queued.id]
    assert ids(status="filled") == [filled.id] and ids(status="rejected") == [rejected.id]
    assert ids(status="cancelled") == [cancelled.id] and ids(status="expired") == []
    assert ids(symbol="Apple") == [resting.id, filled.id] and ids(symbol="ko", status="active") == [queued.id]
    assert ids(limit=2) == [cancelled.id, queued.id]


@pytest.mark.parametrize(("filters", "error", "words"), [
    ({"status": "done"}, InvalidRequest, "status must be one of all, active, queued, open, filled, cancelled, rejected, expired, replaced; got 'done'"),
    ({"limit": 0}, InvalidRequest, "limit must be a whole number from 1 to 500; got 0"),
    ({"limit": 501}, InvalidRequest, "got 501"),
    ({"limit": True}, InvalidRequest, "got True"),
    ({"limit": "5"}, InvalidRequest, "got '5'"),
    ({"symbol": "Nonexistent Widgets"}, UnknownSymbol, "Unknown symbol or company 'Nonexistent Widgets'"),
])
def test_bad_list_filters_error(book, filters, error, words):
    with pytest.raises(error) as err:
        book().list_orders(**filters)
    assert words in str(err.value)


# ----------------------------------------------------------------------------------------------- whole-book invariants

PHASES = [OPEN, later(OPEN, hours=2), CLOSED, later(NEXT_OPEN, minutes=1), later(NEXT_OPEN, hours=4), HOLIDAY,
          EARLY_CLOSE_DAY, "2026-11-30T10:00:00-05:00"]
SYMBOLS = ["AAPL", "KO", "F", "MSFT", "SPY", "PLUG", "NVDA"]


def random_request(rng: random.Random, held: list[str]):
    side = rng.choice(["buy", "buy", "sell"])
    symbol = rng.choice(held) if side == "sell" and held and rng.random() < 0.8 else rng.choice(SYMBOLS)
    size = ({"notional": str(rng.choice([50, 250, 1000, Decimal("99.99")]))} if rng.random() < 0.25
            else {"quantity": str(rng.choice([1, 2, 5, 10, 40, Decimal("0.5"), Decimal("1.25")]))})
    fields = {"symbol": symbol, "side": side, **size, "time_in_force": rng.choice(["day", "day", "gtc", "opg", "cls"])}
    if rng.random() < 0.3:
        fields["order_type"] = "limit"
        fields["limit_price"] = str(rng.choice([1, 10, 100, 300, 1000]) + rng.choice([0, Decimal("0.25")]))
    return order(**fields)


@pytest.mark.parametrize(("broker", "seed"), [("tradesphere", 7), ("velocity", 11)])
def test_cash_identity_after_a_random_sequence_of_orders(book, broker, seed):
    """starting cash + sells - buys - fees == cash, across ~200 mixed orders, cancels and eight clock times."""
    rng = random.Random(seed)
    placed = 0
    for phase in PHASES:
        engine = book(broker, now=phase)
        for _ in range(25):
            active = engine.list_orders(status="active")
            if active and rng.random() < 0.1:
                engine.cancel_order(rng.choice(active).id)
                continue
            held = [p.symbol for p in engine.positions()]
            engine.place_order(random_request(rng, held))
            placed += 1
        account = engine.account()
        assert account.cash == identity_cash(engine)
        fills = trades(engine)
        assert account.fees_paid == sum((f.fees for f in fills), Decimal(0))
        with engine.db.transaction() as session:  # buying power is cash less what active buys hold back
            active_buys = session.query(OrderRow).filter(OrderRow.status.in_(["queued", "open"]), OrderRow.side == "buy")
            reserved = sum((o.reserved_cash for o in active_buys), Decimal(0))
        assert account.buying_power == account.cash - reserved and account.cash >= 0 and account.buying_power >= 0
        net: dict[str, Decimal] = {}
        for f in fills:
            net[f.symbol] = net.get(f.symbol, Decimal(0)) + (f.quantity if f.side == "buy" else -f.quantity)
        assert {p.symbol: p.quantity for p in engine.positions()} == {s: q for s, q in net.items() if q}
        assert all(q >= 0 for q in net.values())
        assert [f.executed_at for f in fills] == sorted(f.executed_at for f in fills)  # fills follow the clock
    statuses = {o.status for o in engine.list_orders(limit=500)}
    assert placed >= 180 and {"filled", "rejected", "expired", "cancelled"} <= statuses


def test_no_float_mixes_in_during_a_full_sequence(book):
    """With decimal.FloatOperation trapped, every engine path runs: any float mixed into a Decimal would raise."""
    context = decimal.getcontext()
    saved = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        engine = book()
        engine.estimate_order(order(symbol="AAPL", quantity="2"))
        engine.place_order(order(symbol="AAPL", quantity="2"))
        engine.place_order(order(symbol="TSLA", notional="333.33"))
        engine.place_order(order(symbol="AAPL", side="sell", quantity="0.5"))
        engine.place_order(order(symbol="KO", quantity=3, order_type="limit", limit_price=0.5))
        resting = engine.place_order(order(symbol="KO", quantity="3", order_type="limit", limit_price="1", time_in_force="gtc"))
        engine.cancel_order(resting.id)
        engine.place_order(order(symbol="BRK.A", quantity="1"))
        engine.place_order(order(symbol="MSFT", quantity="1", time_in_force="cls"))
        engine.add_position("IBM", 4, 0.1)
        closed = book(now=CLOSED)
        closed.place_order(order(symbol="F", quantity="7"))
        nxt = book(now=later(NEXT_OPEN, hours=1))
        nxt.portfolio_summary()
        nxt.list_orders(status="active", symbol="Ford")
        assert nxt.account().cash == identity_cash(nxt)
        assert not context.flags[decimal.FloatOperation]
    finally:
        context.traps[decimal.FloatOperation] = saved


def test_every_symbol_in_the_directory_can_be_quoted_and_estimated(book):
    engine = book()
    for symbol in list(get_directory().securities)[::25]:
        estimate = engine.estimate_order(order(symbol=symbol, quantity="1"))
        assert estimate.expected_price > 0 and estimate.fees == expected_fee(engine.profile, Decimal(1), estimate.expected_price)
