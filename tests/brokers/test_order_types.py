"""Stops, stop-limits, trailing stops, brackets and replace in the engine: trigger rules at their exact boundaries,
gaps through a stop, trailing marks, one-cancels-other exits, replace on every status, and what stays reserved.

The expected minute of every trigger is found here by walking the simulated feed minute by minute on its own (a
plain loop over the clock), not through the engine's walk: the same deterministic prices, a second reading of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from broker_support import cents, expected_fee, identity_cash, order
from market_times import CLOSED, NEXT_OPEN, OPEN

from brokers.clock import MarketClock
from brokers.domain import OrderStatus
from brokers.errors import InvalidRequest
from brokers.market_data import SimulatedFeed
from brokers.symbols import get_directory

CLOCK = MarketClock()
FEED = SimulatedFeed(get_directory(), CLOCK)
MINUTE = timedelta(minutes=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def later(text: str, minutes: int) -> str:
    return (at(text) + timedelta(minutes=minutes)).isoformat()


def path(symbol: str, start: str, end: str) -> list[tuple[datetime, Decimal]]:
    """(minute, last) for every open minute after `start` through `end`."""
    minute, stop, out = at(start).replace(second=0) + MINUTE, at(end), []
    while minute <= stop:
        if CLOCK.is_open(minute):
            out.append((minute, FEED.prices_at(symbol, minute).last))
        minute += MINUTE
    return out


CANDIDATES = ["AMD", "KO", "WMT", "AAPL", "MSFT", "NVDA", "TSLA", "XOM", "JPM", "JNJ"]


def first_drop(start: str = OPEN, minutes: int = 300) -> tuple[str, datetime, Decimal]:
    """A symbol and the first minute after `start` whose last price is below every earlier one since `start`."""
    for symbol in CANDIDATES:
        low = FEED.prices_at(symbol, at(start)).last
        for minute, last in path(symbol, start, later(start, minutes)):
            if last < low:
                return symbol, minute, last
            low = min(low, last)
    raise AssertionError(f"none of {CANDIDATES} made a new low in {minutes} minutes after {start}")


def first_rise(start: str = OPEN, minutes: int = 300) -> tuple[str, datetime, Decimal]:
    """A symbol and the first minute after `start` whose last price is above every earlier one since `start`."""
    for symbol in CANDIDATES:
        high = FEED.prices_at(symbol, at(start)).last
        for minute, last in path(symbol, start, later(start, minutes)):
            if last > high:
                return symbol, minute, last
            high = max(high, last)
    raise AssertionError(f"none of {CANDIDATES} made a new high in {minutes} minutes after {start}")


def view(engine, order_id):
    return next(o for o in engine.list_orders(limit=500) if o.id == order_id)


# ----------------------------------------------------------------- stops


def test_a_sell_stop_triggers_at_the_first_minute_the_last_price_is_at_its_stop_not_a_cent_above(book):
    engine = book()
    symbol, minute, low = first_drop()
    engine.place_order(order(symbol=symbol, quantity="10"))
    at_stop = engine.place_order(order(symbol=symbol, side="sell", quantity="5", order_type="stop", stop_price=str(low),
                                       time_in_force="gtc"))
    below = engine.place_order(order(symbol=symbol, side="sell", quantity="5", order_type="stop",
                                     stop_price=str(low - Decimal("0.01")), time_in_force="gtc"))
    assert at_stop.status is below.status is OrderStatus.OPEN and at_stop.triggered_at is None
    engine = book(now=minute.isoformat())
    hit, missed = view(engine, at_stop.id), view(engine, below.id)
    expected = FEED.prices_at(symbol, minute).bid
    expected = cents(expected - expected * engine.profile.slippage_bps / 10_000)
    assert (hit.status, hit.triggered_at, hit.filled_at, hit.average_fill_price) == (
        OrderStatus.FILLED, minute, minute, expected)
    assert missed.status is OrderStatus.OPEN and missed.triggered_at is None
    assert engine.account().cash == identity_cash(engine)


def test_a_buy_stop_triggers_at_or_above_its_stop_and_fills_at_that_minutes_ask(book):
    engine = book()
    symbol, minute, high = first_rise()
    at_stop = engine.place_order(order(symbol=symbol, quantity="3", order_type="stop", stop_price=str(high)))
    above = engine.place_order(order(symbol=symbol, quantity="3", order_type="stop", stop_price=str(high + Decimal("0.01"))))
    engine = book(now=minute.isoformat())
    hit, missed = view(engine, at_stop.id), view(engine, above.id)
    ask = FEED.prices_at(symbol, minute).ask
    assert hit.status is OrderStatus.FILLED and hit.triggered_at == minute
    assert hit.average_fill_price == cents(ask + ask * engine.profile.slippage_bps / 10_000)
    assert missed.status is OrderStatus.OPEN


def test_a_stop_already_through_the_market_triggers_when_placed(book):
    engine = book()
    engine.place_order(order(symbol="AAPL", quantity="2"))
    last = engine.quote("AAPL").last
    placed = engine.place_order(order(symbol="AAPL", side="sell", quantity="2", order_type="stop", stop_price=str(last)))
    assert placed.status is OrderStatus.FILLED and placed.triggered_at == at(OPEN)


def test_a_gtc_stop_that_the_market_gaps_through_overnight_fills_at_the_open(book):
    """Find a symbol that opens tomorrow below today's last minute; a sell stop between the two fills at the open."""
    close_minute = at(CLOSED)
    gapped = []
    for security in list(get_directory().securities.values())[:200]:
        before = FEED.prices_at(security.symbol, close_minute).last
        opening = FEED.prices_at(security.symbol, at(NEXT_OPEN)).last
        if opening < before - Decimal("0.10") and before < 2000:
            gapped.append((security.symbol, before, opening))
    assert gapped, "no symbol gaps down overnight in the first 200 (the feed changed?)"
    symbol, before, opening = gapped[0]
    engine = book(now=later(CLOSED, -5 * 60))  # 15:00, open
    engine.place_order(order(symbol=symbol, quantity="4"))
    today_low = min(last for _, last in path(symbol, later(CLOSED, -5 * 60), CLOSED))
    stop = cents((opening + min(before, today_low)) / 2)
    assert opening < stop < today_low, (symbol, opening, stop, today_low)
    placed = engine.place_order(order(symbol=symbol, side="sell", quantity="4", order_type="stop", stop_price=str(stop),
                                      time_in_force="gtc"))
    assert book(now=CLOSED).list_orders(status="open")[0].id == placed.id  # still working overnight
    engine = book(now=later(NEXT_OPEN, 30))
    filled = view(engine, placed.id)
    bid = FEED.prices_at(symbol, at(NEXT_OPEN)).bid
    assert (filled.status, filled.triggered_at, filled.filled_at) == (OrderStatus.FILLED, at(NEXT_OPEN), at(NEXT_OPEN))
    assert filled.average_fill_price == cents(bid - bid * engine.profile.slippage_bps / 10_000) < stop


def test_a_stop_placed_while_closed_waits_for_the_open_and_a_day_stop_expires_at_the_close(book):
    engine = book(now=CLOSED)
    engine.add_position("MSFT", "5", "300")
    queued = engine.place_order(order(symbol="MSFT", side="sell", quantity="5", order_type="stop", stop_price="1"))
    assert queued.status is OrderStatus.QUEUED and queued.executes_at == at(NEXT_OPEN)
    working = view(book(now=later(NEXT_OPEN, 10)), queued.id)
    assert working.status is OrderStatus.OPEN and working.expires_at == CLOCK.next_close(at(NEXT_OPEN))
    expired = view(book(now=later(NEXT_OPEN, 12 * 60)), queued.id)
    assert expired.status is OrderStatus.EXPIRED and expired.filled_quantity == 0


def test_a_triggered_stop_limit_becomes_a_limit_and_never_fills_beyond_it(book):
    engine = book()
    symbol, minute, high = first_rise()
    ask = FEED.prices_at(symbol, minute).ask
    fills = engine.place_order(order(symbol=symbol, quantity="1", order_type="stop_limit", stop_price=str(high),
                                     limit_price=str(ask), time_in_force="gtc"))
    waits = engine.place_order(order(symbol=symbol, quantity="1", order_type="stop_limit", stop_price=str(high),
                                     limit_price=str(ask - Decimal("0.50")), time_in_force="gtc"))
    engine = book(now=minute.isoformat())
    filled, resting = view(engine, fills.id), view(engine, waits.id)
    assert (filled.status, filled.triggered_at, filled.average_fill_price) == (OrderStatus.FILLED, minute, ask)
    assert (resting.status, resting.triggered_at) == (OrderStatus.OPEN, minute)
    assert "triggered" in resting.message


def test_a_resting_buy_stop_holds_buying_power_at_the_worse_of_quote_and_stop_until_cancelled(book):
    engine = book()
    ask = engine.quote("NVDA").ask
    stop = cents(ask * Decimal("1.10"))
    before = engine.account().buying_power
    placed = engine.place_order(order(symbol="NVDA", quantity="10", order_type="stop", stop_price=str(stop),
                                      time_in_force="gtc"))
    held = before - engine.account().buying_power
    slipped = cents(stop + stop * engine.profile.slippage_bps / 10_000)
    assert held == cents(10 * slipped) + placed.fees if placed.fees else held >= 10 * stop
    assert held >= 10 * stop
    engine.cancel_order(placed.id)
    assert engine.account().buying_power == before


def test_stop_requests_that_do_not_fit_are_refused_naming_the_field(book):
    engine = book()
    cases = [
        ({"order_type": "stop"}, "stop_price is required for a stop order"),
        ({"order_type": "stop_limit", "stop_price": "10"}, "limit_price is required for a stop_limit order"),
        ({"order_type": "stop", "stop_price": "10", "limit_price": "9"}, "limit_price 9 given for a stop order"),
        ({"order_type": "trailing_stop"}, "exactly one of trail_percent or trail_price; got neither"),
        ({"order_type": "trailing_stop", "trail_percent": "5", "trail_price": "1"}, "got trail_percent 5 and trail_price 1"),
        ({"order_type": "trailing_stop", "trail_percent": "60"}, "trail_percent 60 is larger than the maximum 50"),
        ({"order_type": "limit", "limit_price": "10", "trail_price": "1"}, "trail_price 1 given for a limit order"),
        ({"order_type": "stop", "stop_price": "10", "time_in_force": "opg"}, "time_in_force opg is for market and limit"),
        ({"order_type": "stop", "stop_price": "10.001"}, "stop_price 10.001 has more than 2 decimal places"),
        ({"take_profit_price": "200"}, "take_profit_price was given without stop_loss_price"),
        ({"take_profit_price": "100", "stop_loss_price": "120"}, "take_profit_price 100 must be above stop_loss_price 120"),
        ({"order_type": "stop", "stop_price": "10", "take_profit_price": "20", "stop_loss_price": "5"},
         "whose entry is a market or limit order; got order_type stop"),
        ({"side": "sell", "take_profit_price": "20", "stop_loss_price": "5"}, "a bracket's entry must be a buy"),
        ({"order_type": "limit", "limit_price": "30", "take_profit_price": "20", "stop_loss_price": "5"},
         "limit_price 30 must lie between stop_loss_price 5 and take_profit_price 20"),
        ({"stop_loss_limit_price": "5"}, "stop_loss_limit_price 5 needs stop_loss_price"),
    ]
    for fields, reason in cases:
        with pytest.raises(InvalidRequest, match=reason.replace("(", r"\(")):
            engine.place_order(order(symbol="AAPL", quantity="1", **fields))
    assert engine.list_orders() == []


# ----------------------------------------------------------------- trailing stops


@pytest.mark.parametrize("trail", [{"trail_price": "0.40"}, {"trail_percent": "0.3"}])
def test_a_trailing_sell_follows_the_high_minute_by_minute_and_triggers_when_the_price_falls_back_by_the_trail(book, trail):
    engine = book()
    engine.place_order(order(symbol="TSLA", quantity="3"))
    placed = engine.place_order(order(symbol="TSLA", side="sell", quantity="3", order_type="trailing_stop",
                                      time_in_force="gtc", **trail))
    start_mark = FEED.prices_at("TSLA", at(OPEN)).last
    assert placed.status is OrderStatus.OPEN and placed.high_water_mark == start_mark
    high, trigger = start_mark, None
    for minute, last in path("TSLA", OPEN, later(OPEN, 300)):
        high = max(high, last)
        distance = Decimal(trail["trail_price"]) if "trail_price" in trail else high * Decimal(trail["trail_percent"]) / 100
        if last <= high - distance:
            trigger = (minute, high)
            break
    assert trigger, "TSLA never fell back by the trail in five hours (the feed changed?)"
    minute, high_then = trigger
    before = view(book(now=(minute - MINUTE).isoformat()), placed.id)
    assert before.status is OrderStatus.OPEN and before.high_water_mark == high_then
    after = view(book(now=minute.isoformat()), placed.id)
    assert (after.status, after.triggered_at, after.high_water_mark) == (OrderStatus.FILLED, minute, high_then)


def test_a_trailing_buy_follows_the_low(book):
    engine = book()
    placed = engine.place_order(order(symbol="XOM", quantity="2", order_type="trailing_stop", trail_price="0.30",
                                      time_in_force="gtc"))
    low = FEED.prices_at("XOM", at(OPEN)).last
    for minute, last in path("XOM", OPEN, later(OPEN, 60)):
        low = min(low, last)
        if last >= low + Decimal("0.30"):
            break
        assert view(book(now=minute.isoformat()), placed.id).high_water_mark == low
    else:
        pytest.skip("XOM did not rise back by 30 cents within the hour")
    assert view(book(now=minute.isoformat()), placed.id).status is OrderStatus.FILLED


# ----------------------------------------------------------------- brackets


def bracket_levels(symbol: str, engine, start: str = OPEN):
    """A take-profit and a stop-loss around `symbol`'s price, one of which the coming path reaches first."""
    last = engine.quote(symbol).last
    return cents(last * Decimal("1.004")), cents(last * Decimal("0.996"))


def first_exit(symbol, take_profit, stop_loss, start=OPEN, minutes=390):
    for minute, _last in path(symbol, start, later(start, minutes)):
        prices = FEED.prices_at(symbol, minute)
        if prices.last <= stop_loss:
            return "stop_loss", minute
        if prices.bid >= take_profit:
            return "take_profit", minute
    return None, None


@pytest.mark.parametrize("symbol", ["AAPL", "KO", "JPM", "MSFT", "AMD", "WMT"])
def test_a_bracket_opens_two_exits_when_its_entry_fills_and_the_first_to_fill_cancels_the_other(book, symbol):
    engine = book()
    take_profit, stop_loss = bracket_levels(symbol, engine)
    winner, minute = first_exit(symbol, take_profit, stop_loss)
    if winner is None:
        pytest.skip(f"{symbol} reached neither exit today")
    entry = engine.place_order(order(symbol=symbol, quantity="4", take_profit_price=str(take_profit),
                                     stop_loss_price=str(stop_loss), time_in_force="gtc"))
    assert entry.status is OrderStatus.FILLED and entry.order_class.value == "bracket"
    legs = {o.order_type.value: o for o in engine.list_orders() if o.parent_id == entry.id}
    assert set(legs) == {"limit", "stop"} and all(leg.status is OrderStatus.OPEN for leg in legs.values())
    assert (legs["limit"].limit_price, legs["stop"].stop_price) == (take_profit, stop_loss)
    assert engine.account().buying_power == engine.account().cash  # sells reserve no cash
    # the two exits promise the same 4 shares once: nothing else may sell them
    refused = engine.place_order(order(symbol=symbol, side="sell", quantity="1"))
    assert refused.status is OrderStatus.REJECTED and "4 already reserved" in refused.reject_reason
    engine = book(now=minute.isoformat())
    tp, sl = view(engine, legs["limit"].id), view(engine, legs["stop"].id)
    filled, cancelled = (tp, sl) if winner == "take_profit" else (sl, tp)
    assert (filled.status, filled.filled_at, cancelled.status) == (OrderStatus.FILLED, minute, OrderStatus.CANCELLED)
    assert not [p for p in engine.positions() if p.symbol == symbol]
    assert engine.account().cash == identity_cash(engine)


def test_cancelling_a_bracket_entry_cancels_the_bracket(book):
    engine = book()
    ask = engine.quote("JNJ").ask
    resting = engine.place_order(order(symbol="JNJ", quantity="1", order_type="limit", limit_price=str(cents(ask * Decimal("0.9"))),
                                       take_profit_price=str(cents(ask * 2)), stop_loss_price=str(cents(ask * Decimal("0.5"))),
                                       time_in_force="gtc"))
    assert resting.status is OrderStatus.OPEN and resting.take_profit_price == cents(ask * 2)
    assert engine.cancel_order(resting.id).status is OrderStatus.CANCELLED
    filled = engine.place_order(order(symbol="JNJ", quantity="1", take_profit_price=str(cents(ask * 2)),
                                      stop_loss_price=str(cents(ask * Decimal("0.5")))))
    cancelled = engine.cancel_order(filled.id)
    assert cancelled.status is OrderStatus.FILLED and "Cancelled its 2 working bracket exits" in cancelled.message
    assert [o.status for o in engine.list_orders() if o.parent_id == filled.id] == [OrderStatus.CANCELLED] * 2
    assert engine.list_orders(status="active") == []


def test_a_bracket_placed_while_closed_opens_its_exits_at_the_open_fill(book):
    engine = book(now=CLOSED)
    entry = engine.place_order(order(symbol="KO", quantity="2", take_profit_price="1000", stop_loss_price="1",
                                     time_in_force="gtc"))
    assert entry.status is OrderStatus.QUEUED
    engine = book(now=later(NEXT_OPEN, 5))
    assert view(engine, entry.id).filled_at == at(NEXT_OPEN)
    legs = [o for o in engine.list_orders() if o.parent_id == entry.id]
    assert len(legs) == 2 and {o.status for o in legs} == {OrderStatus.OPEN} and {o.quantity for o in legs} == {2}


# ----------------------------------------------------------------- replace


def test_replace_on_every_status(book):
    engine = book()
    ask = engine.quote("MSFT").ask
    low = cents(ask * Decimal("0.5"))
    open_limit = engine.place_order(order(symbol="MSFT", quantity="2", order_type="limit", limit_price=str(low),
                                          time_in_force="gtc", client_order_id="mine-1"))
    new = engine.replace_order("mine-1", quantity="3", limit_price=str(low + 1))
    old = view(engine, open_limit.id)
    assert (old.status, new.status, new.replaces, new.quantity, new.limit_price) == (
        OrderStatus.REPLACED, OrderStatus.OPEN, open_limit.id, 3, low + 1)
    account = engine.account()
    assert account.cash - account.buying_power == cents(3 * (low + 1)) + expected_fee(engine.profile, Decimal(3), low + 1)

    queued = book(now=CLOSED).place_order(order(symbol="MSFT", quantity="1", time_in_force="opg"))
    engine = book(now=CLOSED)
    again = engine.replace_order(queued.id, quantity="2")
    assert (again.status, again.executes_at, again.replaces) == (OrderStatus.QUEUED, at(NEXT_OPEN), queued.id)

    engine = book()
    filled = engine.place_order(order(symbol="MSFT", quantity="1"))
    cancelled = engine.place_order(order(symbol="MSFT", quantity="1", order_type="limit", limit_price=str(low)))
    engine.cancel_order(cancelled.id)
    rejected = engine.place_order(order(symbol="MSFT", side="sell", quantity="1000"))
    expiring = engine.place_order(order(symbol="MSFT", quantity="1", order_type="limit", limit_price=str(low)))
    engine = book(now=later(CLOSED, 60 * 24))  # the day limit expired at Tuesday's close; now Wednesday night
    before = [(o.id, o.status) for o in engine.list_orders(limit=500)]
    for done, status in ((filled, "filled"), (cancelled, "cancelled"), (rejected, "rejected"), (open_limit, "replaced"),
                         (expiring, "expired")):
        with pytest.raises(InvalidRequest, match=f"order {done.id} is {status}; only queued or open orders can be replaced"):
            engine.replace_order(done.id, quantity="1")
    assert [(o.id, o.status) for o in engine.list_orders(limit=500)] == before


def test_a_replacement_the_broker_would_refuse_leaves_the_order_as_it_was(book):
    engine = book()
    ask = engine.quote("AAPL").ask
    placed = engine.place_order(order(symbol="AAPL", quantity="1", order_type="limit", limit_price=str(cents(ask / 2)),
                                      time_in_force="gtc"))
    cases = [
        ({"quantity": "100000"}, r"was not replaced \(it is unchanged\): needs"),
        ({"stop_price": "10"}, "stop_price 10 given for a limit order"),
        ({"limit_price": str(cents(ask / 2))}, "changes nothing: limit_price is already"),
        ({}, "replace_order needs at least one of quantity"),
    ]
    for changes, reason in cases:
        with pytest.raises(InvalidRequest, match=reason):
            engine.replace_order(placed.id, **changes)
    assert [(o.id, o.status) for o in engine.list_orders()] == [(placed.id, OrderStatus.OPEN)]


def test_replacing_a_trailing_stop_keeps_its_mark_and_a_bracket_exit_keeps_its_bracket(book):
    engine = book()
    engine.place_order(order(symbol="TSLA", quantity="2"))
    trailing = engine.place_order(order(symbol="TSLA", side="sell", quantity="2", order_type="trailing_stop",
                                        trail_percent="20", time_in_force="gtc"))
    engine = book(now=later(OPEN, 45))
    mark = view(engine, trailing.id).high_water_mark
    moved = engine.replace_order(trailing.id, trail_price="5")
    assert (moved.high_water_mark, moved.trail_price, moved.trail_percent) == (mark, 5, None)

    entry = engine.place_order(order(symbol="KO", quantity="3", take_profit_price="1000", stop_loss_price="1",
                                     time_in_force="gtc"))
    stop_leg = next(o for o in engine.list_orders() if o.parent_id == entry.id and o.order_type.value == "stop")
    raised = engine.replace_order(stop_leg.id, stop_price="2")
    assert (raised.parent_id, raised.order_class.value, raised.stop_price, raised.status) == (entry.id, "bracket", 2, OrderStatus.OPEN)
    legs = [o for o in engine.list_orders(status="active") if o.parent_id == entry.id]
    assert sorted(o.order_type.value for o in legs) == ["limit", "stop"]


def test_a_book_opened_after_the_close_catches_up_on_a_stop_the_session_triggered(book):
    """The read that finds nothing due must still see the minutes of trading since a stop was last checked."""
    engine = book()
    symbol, minute, low = first_drop()
    engine.place_order(order(symbol=symbol, quantity="1"))
    placed = engine.place_order(order(symbol=symbol, side="sell", quantity="1", order_type="stop", stop_price=str(low),
                                      time_in_force="gtc"))
    assert view(book(now=CLOSED), placed.id).filled_at == minute
