"""Structured requests (`agent/language/structured.py`): key: value fields, --flags, CSV rows, pipes and lists are
read as the plain requests they stand for, one order a line; prose with a colon in it stays prose."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.language import BrokerRef, IntentKind, read_request
from agent.language.structured import plain, records

TS, VE = "tradesphere", "velocity"
BROKERS = (BrokerRef(TS, "TradeSphere"), BrokerRef(VE, "VelocityBrokers"))
D = Decimal


@pytest.mark.parametrize(("text", "said"), [
    ("buy --qty 30 --limit 24 SOFI", "buy 30 shares SOFI limit 24"),
    ("action=sell; ticker=T; qty=25; tif=close", "sell 25 shares T at the close"),
    ("SELL,MCD,8,LMT,320,GTC", "SELL MCD 8 LMT 320 GTC"),
    ("symbol: NVDA, qty: 10, side: buy, broker: velocity, type: limit 120", "buy 10 shares NVDA on velocity limit 120"),
    ("buy 20 XOM | bracket | tp: 130 | sl: 100 | broker: ts", "buy 20 XOM bracket take profit 130 stop loss 100 on ts"),
    ("broker: the other one, qty: same", "the same quantity on the other broker"),
    ("amend ford order: px=6", "amend ford order: limit 6"),
    # prose stays prose: one weak key is not a record
    ("buy 10 apple, my price: around 200", "buy 10 apple, my price: around 200"),
    ("Buy 100 Apple shares through TradeSphere when the market opens",
     "Buy 100 Apple shares through TradeSphere when the market opens"),
])
def test_a_record_is_said_as_a_person_would_say_it(text, said):
    assert plain(text) == said


def test_a_csv_block_with_a_header_is_one_request_a_row():
    assert records("symbol,qty,side,broker\nJPM,10,buy,ts\nGS,4,buy,vb") == ["buy 10 shares JPM on ts", "buy 4 shares GS on vb"]


@pytest.mark.parametrize(("text", "orders"), [
    ("1. buy 10 AAPL\n2. buy 5 MSFT on velocity\n3. buy $200 of SCHD",
     [("buy", "AAPL", D(10), None, ()), ("buy", "MSFT", D(5), None, (VE,)), ("buy", "SCHD", None, D(200), ())]),
    ("- $1000 VTI\n- $1000 VXUS\n- $500 BND",
     [("buy", "VTI", None, D(1000), ()), ("buy", "VXUS", None, D(1000), ()), ("buy", "BND", None, D(500), ())]),
    ("symbol,qty,side,broker\nJPM,10,buy,ts\nGS,4,sell,vb", [("buy", "JPM", D(10), None, (TS,)), ("sell", "GS", D(4), None, (VE,))]),
    ("ticker: ABNB, qty: 10, limit: 110\nticker: BKNG, qty: 1, limit: 3000, broker: velocity",
     [("buy", "ABNB", D(10), None, ()), ("buy", "BKNG", D(1), None, (VE,))]),
    ("I want to buy 10 apple\nand 5 msft please", [("buy", "AAPL", D(10), None, ()), ("buy", "MSFT", D(5), None, ())]),
])
def test_each_line_of_a_list_is_its_own_order_with_its_own_broker(text, orders):
    intents = read_request(text, BROKERS)
    assert [i.kind for i in intents] == [IntentKind.ORDER] * len(orders), intents
    assert [(i.side, i.symbol_text, i.quantity, i.notional, i.brokers) for i in intents] == orders


def test_flags_and_fields_carry_prices_and_timing():
    [trail] = read_request("trailing stop --pct 8 on AFRM", BROKERS)
    assert (trail.side, trail.order_type, trail.trail_percent) == ("sell", "trailing_stop", D(8))
    [sell] = read_request("SELL,MCD,8,LMT,320,GTC", BROKERS)
    assert (sell.side, sell.quantity, sell.limit_price, sell.time_in_force) == ("sell", D(8), D(320), "gtc")
    [close] = read_request("action=sell; ticker=T; qty=25; tif=close", BROKERS)
    assert (close.side, close.symbol_text, close.time_in_force) == ("sell", "T", "cls")
    [change] = read_request("amend ford order: px=6", BROKERS)
    assert (change.kind, change.limit_price, change.quantity) == (IntentKind.REPLACE, D(6), None)
