"""The Alpaca engine against the fake Alpaca, through alpaca-py: the account, quotes, estimates and orders are
Alpaca's; idempotency, refusals, lost answers and the safety state are ours."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from brokers import controls
from brokers.alpaca.client import AlpacaNotConfigured, AlpacaRefused, AlpacaUnavailable
from brokers.domain import OrderRequest, OrderStatus
from brokers.errors import (
    BrokerError,
    DailyLimitExceeded,
    DuplicateClientOrderId,
    InvalidRequest,
    TradingDisabled,
    TradingHalted,
)
from brokers.profiles import RiskLimits


def order(**fields) -> OrderRequest:
    return OrderRequest.parse(**{"symbol": "AAPL", "side": "buy", "quantity": "10", **fields})


def test_account_positions_and_quote_are_alpacas(alpaca_engine, fake):
    engine = alpaca_engine()
    account = engine.account()
    assert (account.cash, account.buying_power, account.equity) == (Decimal("25000.00"),) * 3
    assert account.open_orders == 0 and account.market_open is True
    quote = engine.quote("Apple")  # a company name goes through our directory
    assert (quote.symbol, quote.bid, quote.ask, quote.source) == ("AAPL", Decimal("190.10"), Decimal("190.14"), "alpaca")
    assert quote.last == Decimal("190.12")
    assert fake.seen("GET", "/v2/stocks/quotes/latest")[-1]["query"]["symbols"] == "AAPL"


def test_a_quote_with_an_empty_side_is_priced_at_the_last_trade(alpaca_engine):
    quote = alpaca_engine().quote("ZZZZ")  # not in our directory: a ticker as written goes to Alpaca
    assert (quote.bid, quote.ask, quote.name) == (Decimal("12.34"), Decimal("12.34"), "ZZZZ")


def test_a_market_buy_fills_at_alpacas_ask_and_the_book_follows(alpaca_engine, fake):
    engine = alpaca_engine()
    placed = engine.place_order(order(client_order_id="t-buy-1"))
    assert placed.status is OrderStatus.FILLED
    assert (placed.filled_quantity, placed.average_fill_price, placed.fees) == (Decimal(10), Decimal("190.14"), 0)
    assert placed.client_order_id == "t-buy-1" and "no commission" in placed.message
    assert '"client_order_id": "t-buy-1"' in fake.seen("POST", "/v2/orders")[0]["body"]
    [position] = engine.positions()
    assert (position.symbol, position.quantity, position.name) == ("AAPL", Decimal(10), "Apple Inc.")
    assert engine.account().cash == Decimal("25000.00") - Decimal("1901.40")
    summary = engine.portfolio_summary()
    assert summary.total_positions == 1 and summary.equity_curve[-1].equity == summary.account.equity


def test_a_retry_with_the_same_client_order_id_places_nothing(alpaca_engine, fake):
    engine = alpaca_engine()
    first = engine.place_order(order(client_order_id="t-once"))
    again = engine.place_order(order(client_order_id="t-once"))
    assert again.id == first.id and "nothing new was placed" in again.message
    assert len(fake.by_cid("t-once")) == 1 and len(fake.seen("POST", "/v2/orders")) == 1
    with pytest.raises(DuplicateClientOrderId, match="different order"):
        engine.place_order(order(client_order_id="t-once", quantity="11"))
    assert engine.has_client_order_id("t-once") and not engine.has_client_order_id("t-never")


def test_an_order_without_client_order_id_gets_one_of_ours(alpaca_engine, fake):
    placed = alpaca_engine().place_order(order(quantity="1"))
    assert placed.client_order_id.startswith("tc-") and fake.by_cid(placed.client_order_id)


@pytest.mark.parametrize("status, body, words", [
    (403, {"code": 40310000, "message": "insufficient buying power", "buying_power": "12.00", "cost_basis": "1901.40"},
     "insufficient buying power (buying power 12.00, cost basis 1901.40)"),
    (422, {"code": 42210000, "message": 'asset "AAPL" is not tradable'}, 'asset "AAPL" is not tradable'),
])
def test_alpacas_refusal_is_an_error_with_its_reason_and_nothing_is_counted(alpaca_engine, fake, status, body, words):
    engine = alpaca_engine(limits=RiskLimits(max_daily_notional=Decimal("100000")))
    fake.fail(status, "POST", "/v2/orders", body=body)
    with pytest.raises(AlpacaRefused, match=f"HTTP {status}") as refused:
        engine.place_order(order(client_order_id="t-refused"))
    assert words in str(refused.value) and not fake.orders
    with engine.db.read() as connection:  # the day's total counts only what Alpaca took
        assert controls.placed_on(connection, controls.new_york_day(datetime.now(UTC))) == 0


def test_an_order_over_buying_power_is_refused_by_alpaca(alpaca_engine, fake):
    with pytest.raises(AlpacaRefused, match="insufficient buying power"):
        alpaca_engine().place_order(order(quantity="1000"))
    assert not fake.orders


def test_rate_limited_orders_are_retried_within_the_bound(alpaca_engine, fake):
    fake.fail(429, "POST", "/v2/orders", times=2)
    placed = alpaca_engine().place_order(order(client_order_id="t-429"))
    assert placed.status is OrderStatus.FILLED
    assert [r["status"] for r in fake.seen("POST", "/v2/orders")] == [429, 429, 200] and len(fake.orders) == 1


def test_rate_limited_past_the_bound_is_a_clear_error_and_nothing_is_placed(alpaca_engine, fake):
    fake.fail(429, "POST", "/v2/orders", times=10)
    with pytest.raises(AlpacaUnavailable, match="429 .*after 3 tries; nothing was done"):
        alpaca_engine().place_order(order(client_order_id="t-429-many"))
    assert len(fake.seen("POST", "/v2/orders")) == 3 and not fake.orders


def test_a_read_that_fails_in_passing_is_retried(alpaca_engine, fake):
    fake.fail(500, "GET", "/v2/account")
    fake.fail("drop", "GET", "/v2/positions")
    assert alpaca_engine().account().cash == Decimal("25000.00")
    assert [r["status"] for r in fake.seen("GET", "/v2/account")] == [500, 200]


@pytest.mark.parametrize("when", ["drop", "drop_after"])
def test_a_lost_answer_places_the_order_exactly_once(alpaca_engine, fake, when):
    """Dropped before Alpaca handled it or after: the engine finds out by client_order_id, and a retry of the
    same call finds the same order."""
    engine = alpaca_engine()
    fake.fail(when, "POST", "/v2/orders")
    placed = engine.place_order(order(client_order_id=f"t-{when}"))
    assert placed.status is OrderStatus.FILLED and len(fake.by_cid(f"t-{when}")) == 1
    again = engine.place_order(order(client_order_id=f"t-{when}"))
    assert again.id == placed.id and len(fake.orders) == 1


def test_an_unreachable_alpaca_is_a_clear_error_that_says_how_to_retry(alpaca_engine, fake):
    fake.fail("drop", "POST", "/v2/orders", times=2)
    fake.fail("drop", "GET", "/v2/orders:by_client_order_id", times=1)
    with pytest.raises(AlpacaUnavailable) as lost:
        alpaca_engine().place_order(order(client_order_id="t-gone"))
    text = str(lost.value)
    assert "dropped" in text and "retry with client_order_id 't-gone'" in text and "never places" in text
    assert "Traceback" not in text and "RemoteDisconnected" not in text and not fake.orders


def test_a_limit_below_the_market_rests_and_is_cancelled_by_id_or_client_order_id(alpaca_engine, fake):
    engine = alpaca_engine()
    resting = engine.place_order(order(quantity="1", order_type="limit", limit_price="150", time_in_force="gtc",
                                       client_order_id="t-limit"))
    assert resting.status is OrderStatus.OPEN and fake.by_cid("t-limit")[0]["status"] == "new"
    assert [o.id for o in engine.list_orders(status="open")] == [resting.id]
    cancelled = engine.cancel_order("t-limit")
    assert cancelled.status is OrderStatus.CANCELLED and fake.seen("DELETE", f"/v2/orders/{resting.id}")
    with pytest.raises(InvalidRequest, match="is cancelled; only queued or open orders can be cancelled"):
        engine.cancel_order(resting.id)


def test_a_market_order_while_alpaca_is_closed_is_queued(alpaca_engine, fake):
    fake.is_open = False
    engine = alpaca_engine()
    queued = engine.place_order(order(quantity="1", client_order_id="t-closed"))
    assert queued.status is OrderStatus.QUEUED and queued.executes_at is not None and "Alpaca: accepted" in queued.message
    assert engine.clock.status()["is_open"] is False and engine.clock.status()["source"] == "alpaca"


def test_opg_cls_stops_trails_and_brackets_go_to_alpaca_as_such(alpaca_engine, fake):
    engine = alpaca_engine()
    opg = engine.place_order(order(quantity="1", time_in_force="opg"))
    assert opg.status is OrderStatus.QUEUED and '"time_in_force": "opg"' in fake.seen("POST", "/v2/orders")[-1]["body"]
    engine.place_order(order(quantity="1", time_in_force="cls"))
    assert '"time_in_force": "cls"' in fake.seen("POST", "/v2/orders")[-1]["body"]
    stop = engine.place_order(order(quantity="1", order_type="stop_limit", stop_price="200", limit_price="201"))
    assert (stop.order_type.value, stop.stop_price, stop.limit_price) == ("stop_limit", Decimal(200), Decimal(201))
    trail = engine.place_order(order(side="buy", quantity="1", order_type="trailing_stop", trail_percent="2.5"))
    assert trail.trail_percent == Decimal("2.5") and '"trail_percent": 2.5' in fake.seen("POST", "/v2/orders")[-1]["body"]
    bracket = engine.place_order(order(quantity="2", take_profit_price="210", stop_loss_price="180",
                                       client_order_id="t-bracket"))
    sent = fake.seen("POST", "/v2/orders")[-1]["body"]
    assert '"order_class": "bracket"' in sent and '"take_profit": {"limit_price": 210.0}' in sent
    assert bracket.status is OrderStatus.FILLED and (bracket.take_profit_price, bracket.stop_loss_price) == (210, 180)
    exits = [o for o in engine.list_orders() if o.parent_id == bracket.id]
    assert sorted(o.order_type.value for o in exits) == ["limit", "stop"] and all(o.status.is_active for o in exits)
    cancelled = engine.cancel_order(bracket.id)  # the entry filled: cancelling it cancels its working exits
    assert "Cancelled its 2 working bracket exits" in cancelled.message
    assert all(fake.orders[o.id]["status"] == "canceled" for o in exits)


def test_replace_patches_the_order_at_alpaca(alpaca_engine, fake):
    engine = alpaca_engine()
    old = engine.place_order(order(quantity="1", order_type="limit", limit_price="150", time_in_force="gtc"))
    new = engine.replace_order(old.id, limit_price="151")
    assert new.replaces == old.id and new.limit_price == Decimal(151) and fake.orders[old.id]["status"] == "replaced"
    with pytest.raises(InvalidRequest, match="whole-share"):
        engine.replace_order(new.id, quantity="1.5")


STATUSES = {"new": "open", "partially_filled": "open", "accepted": "queued", "pending_new": "open", "held": "queued",
            "filled": "filled", "canceled": "cancelled", "expired": "expired", "rejected": "rejected",
            "replaced": "replaced", "done_for_day": "queued", "pending_cancel": "open"}


def test_alpacas_statuses_map_onto_ours(alpaca_engine, fake):
    for status in STATUSES:
        fake.seed(status, client_order_id=f"seed-{status}", filled_qty=None)
    listed = {o.client_order_id: o.status.value for o in alpaca_engine().list_orders(limit=500)}
    assert {s: listed[f"seed-{s}"] for s in STATUSES} == STATUSES
    filled = alpaca_engine().list_orders(status="filled")
    assert [o.client_order_id for o in filled] == ["seed-filled"]


def test_estimates_use_alpacas_quote_no_commission_and_estimated_sell_fees(alpaca_engine):
    engine = alpaca_engine()
    buy = engine.estimate_order(order())
    assert (buy.expected_price, buy.fees, buy.total, buy.fills_now) == (Decimal("190.14"), 0, Decimal("1901.40"), True)
    engine.place_order(order(quantity="100"))
    sell = engine.estimate_order(order(side="sell", quantity="100"))
    # SEC: $19,010 x $27.80 per million = $0.53 (rounded up); FINRA TAF: 100 x $0.000166 = $0.02 (rounded up)
    assert sell.fees == Decimal("0.55") and "estimated SEC and FINRA fees" in sell.message
    too_many = engine.estimate_order(order(side="sell", quantity="101"))
    assert too_many.would_be_rejected == "cannot sell 101 AAPL: 100 held"
    assert "needs" in engine.estimate_order(order(quantity="1000")).would_be_rejected


def test_the_safety_state_holds_for_alpaca(alpaca_engine, fake):
    engine = alpaca_engine(limits=RiskLimits(max_daily_notional=Decimal("2000"), max_order_notional=Decimal("1950"),
                                             symbol_allowlist=("AAPL", "KO")))
    engine.place_order(order())  # $1,901.40 counted
    with pytest.raises(DailyLimitExceeded, match="daily limit of \\$2,000.00"):
        engine.place_order(order(quantity="1"))
    with pytest.raises(InvalidRequest, match="per-order limit"):
        engine.place_order(order(quantity="11"))
    with pytest.raises(InvalidRequest, match="not on Alpaca \\(paper\\)'s allowed symbols"):
        engine.place_order(order(symbol="MSFT", quantity="1"))
    controls.set_halted(engine.db, True, "drill", datetime.now(UTC))
    with pytest.raises(TradingHalted, match="drill"):
        engine.place_order(order(symbol="KO", quantity="1"))
    assert len(fake.orders) == 1
    with pytest.raises(TradingDisabled):
        alpaca_engine(limits=RiskLimits(read_only=True)).place_order(order())


def test_a_token_gate_runs_in_the_transaction_and_a_refusal_rolls_it_back(alpaca_engine, fake):
    engine = alpaca_engine()
    spent = []
    engine.place_order(order(quantity="1"), gate=lambda connection: spent.append(connection))
    assert spent and len(fake.orders) == 1

    def refuse(_connection):
        raise BrokerError("no")

    with pytest.raises(BrokerError, match="no"):
        engine.place_order(order(quantity="1"), gate=refuse)
    assert len(fake.orders) == 1


def test_add_position_is_refused_and_nothing_is_sent(alpaca_engine, fake):
    with pytest.raises(BrokerError, match="refused on a real account"):
        alpaca_engine().add_position("MSFT", "5", "300")
    assert not [r for r in fake.requests if r["method"] != "GET"]


def test_without_keys_every_call_says_not_configured(alpaca_engine, fake):
    engine = alpaca_engine(problem="not configured: no Alpaca API keys")
    for call in (engine.account, lambda: engine.quote("AAPL"), lambda: engine.place_order(order())):
        with pytest.raises(AlpacaNotConfigured, match="Alpaca \\(paper\\) \\(alpaca\\) is not configured"):
            call()
    assert not fake.requests


def test_wrong_keys_are_refused_without_showing_them(tmp_path, profile, fake):
    from alpaca_fake import FAST
    from pydantic import SecretStr

    from brokers.alpaca.client import AlpacaAuthRefused, AlpacaClient
    from brokers.alpaca.config import AlpacaKeys
    from brokers.alpaca.engine import AlpacaEngine
    from brokers.persistence import BrokerDatabase
    from brokers.symbols import get_directory

    wrong = AlpacaKeys(SecretStr("PKWRONG"), SecretStr("wrong-secret-value"), "keyring")
    database = BrokerDatabase(f"sqlite:///{tmp_path / 'wrong'}.db", "alpaca")
    engine = AlpacaEngine(profile, database, directory=get_directory(), keys=wrong,
                          client=AlpacaClient(profile, wrong, FAST))
    with pytest.raises(AlpacaAuthRefused, match="refused the API keys \\(HTTP 401") as refused:
        engine.account()
    assert "wrong-secret-value" not in str(refused.value) and len(fake.seen("GET", "/v2/account")) == 1
    database.dispose()


def test_a_replacement_meets_the_same_limits_and_counts_only_what_it_adds(alpaca_engine, fake):
    engine = alpaca_engine(limits=RiskLimits(max_daily_notional=Decimal("1000"), max_order_notional=Decimal("700")))
    resting = dict(order_type="limit", limit_price="150", time_in_force="gtc")  # below the market: valued at $150
    first = engine.place_order(order(quantity="2", **resting))  # $300 today
    engine.place_order(order(quantity="4", **resting))  # $900 today
    with pytest.raises(InvalidRequest, match="order value \\$750.00 is over .* per-order limit"):
        engine.replace_order(first.id, quantity="5")
    with pytest.raises(DailyLimitExceeded, match="the replacement of order .* adds \\$300.00; with \\$900.00"):
        engine.replace_order(first.id, quantity="4")
    smaller = engine.replace_order(first.id, quantity="1")  # adds nothing
    assert smaller.replaces == first.id and fake.orders[first.id]["status"] == "replaced"
