"""The offline model on a table of realistic phrasings, through the real Agent, Runner and broker subprocesses.

Orders are not approved here: what the agent would place is read from the pending approvals, so
the book stays as the module set it up (holdings to sell, one working Tesla order to cancel).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

TS, VE = "tradesphere", "velocity"


def order(broker, symbol, side="buy", quantity=None, notional=None, order_type="market", limit_price=None, tif="day"):
    return {"broker": broker, "tool": "place_order", "symbol": symbol, "side": side, "quantity": quantity,
            "notional": notional, "order_type": order_type, "limit_price": limit_price, "time_in_force": tif}


ORDERS = [
    ("Buy 100 Apple shares through TradeSphere when the market opens", [order(TS, "AAPL", quantity="100", tif="opg")]),
    ("buy 10 AAPL on velocity", [order(VE, "AAPL", quantity="10")]),
    ("Purchase 25 shares of Microsoft via VelocityBrokers", [order(VE, "MSFT", quantity="25")]),
    ("buy 5 nvda through tradesphere", [order(TS, "NVDA", quantity="5")]),
    ("Please buy fifty shares of Tesla on TradeSphere", [order(TS, "TSLA", quantity="50")]),
    ("buy a hundred shares of amazon on velocity", [order(VE, "AMZN", quantity="100")]),
    ("buy twenty five Google on TradeSphere", [order(TS, "GOOGL", quantity="25")]),
    ("Buy 1.5 shares of Apple on TradeSphere", [order(TS, "AAPL", quantity="1.5")]),
    ("buy 3 BRK.B on tradesphere", [order(TS, "BRK.B", quantity="3")]),
    ("buy 2 berkshire on velocity", [order(VE, "BRK.B", quantity="2")]),
    ("buy 10 coca cola on tradesphere", [order(TS, "KO", quantity="10")]),
    ("get me 12 shares of $AMD on velocity", [order(VE, "AMD", quantity="12")]),
    ("I'd like to buy 8 Netflix on TradeSphere", [order(TS, "NFLX", quantity="8")]),
    ("pick up 40 shares of Ford on trade sphere", [order(TS, "F", quantity="40")]),
    ("buy 1,000 shares of Ford on tradesphere", [order(TS, "F", quantity="1000")]),
    ("can you buy 7 JPM on velocity brokers", [order(VE, "JPM", quantity="7")]),
    ("buy 30 shares of Bank of America through tradesphre", [order(TS, "BAC", quantity="30")]),
    ("buy 4 SPY on velocity", [order(VE, "SPY", quantity="4")]),
    ("Buy $500 of Tesla on Velocity", [order(VE, "TSLA", notional="500")]),
    ("Buy $1,000 worth of AAPL through TradeSphere", [order(TS, "AAPL", notional="1000")]),
    ("buy 250 dollars of nvidia on tradesphere", [order(TS, "NVDA", notional="250")]),
    ("buy $2k of MSFT on TradeSphere", [order(TS, "MSFT", notional="2000")]),
    ("Buy 10 NVDA on Velocity limit $180", [order(VE, "NVDA", quantity="10", order_type="limit", limit_price="180")]),
    ("buy 20 AAPL at 180 or better on tradesphere", [order(TS, "AAPL", quantity="20", order_type="limit", limit_price="180")]),
    ("buy 5 MSFT on velocity, limit price 400.50", [order(VE, "MSFT", quantity="5", order_type="limit", limit_price="400.50")]),
    ("Buy 10 AMD on TradeSphere good till cancelled limit 150",
     [order(TS, "AMD", quantity="10", order_type="limit", limit_price="150", tif="gtc")]),
    ("buy 10 AAPL on tradesphere at the close", [order(TS, "AAPL", quantity="10", tif="cls")]),
    ("buy 15 KO on velocity at market open", [order(VE, "KO", quantity="15", tif="opg")]),
    ("buy 10 AAPL on tradesphere gtc limit 200", [order(TS, "AAPL", quantity="10", order_type="limit", limit_price="200", tif="gtc")]),
    ("buy 6 TSLA on velocity first thing tomorrow", [order(VE, "TSLA", quantity="6", tif="opg")]),
    ("sell 10 AAPL on TradeSphere", [order(TS, "AAPL", "sell", quantity="10")]),
    ("sell all my NVDA on tradesphere", [order(TS, "NVDA", "sell", quantity="40")]),
    ("sell half my Apple on TradeSphere", [order(TS, "AAPL", "sell", quantity="50")]),
    ("sell 5 AMD on velocity at the open", [order(VE, "AMD", "sell", quantity="5", tif="opg")]),
    ("sell 10 MSFT on velocity limit 500", [order(VE, "MSFT", "sell", quantity="10", order_type="limit", limit_price="500")]),
    ("sell all my AMD on velocity", [order(VE, "AMD", "sell", quantity="20")]),
    ("sell half my msft on velocity", [order(VE, "MSFT", "sell", quantity="15")]),
    ("unload 5 tesla on tradesphere", [order(TS, "TSLA", "sell", quantity="5")]),
    ("sell a quarter of my apple on tradesphere", [order(TS, "AAPL", "sell", quantity="25")]),
    ("sell 3 apple at the close on tradesphere", [order(TS, "AAPL", "sell", quantity="3", tif="cls")]),
    ("Buy 50 MSFT through the cheapest broker", [order(TS, "MSFT", quantity="50")]),
    ("Buy 100 AAPL through the fastest broker", [order(VE, "AAPL", quantity="100")]),
    ("buy 10 KO with the lowest fees", [order(TS, "KO", quantity="10")]),
    ("buy 5 AMZN on whichever broker is fastest", [order(VE, "AMZN", quantity="5")]),
    ("buy 200 F through the cheaper broker", [order(TS, "F", quantity="200")]),
    ("buy 10 aapl", [order(TS, "AAPL", quantity="10")]),
    ("Buy 20 shares of Apple", [order(TS, "AAPL", quantity="20")]),
    ("sell 5 apple", [order(TS, "AAPL", "sell", quantity="5")]),
    ("buy 10 AAPL on both brokers", [order(TS, "AAPL", quantity="10"), order(VE, "AAPL", quantity="10")]),
]

QUESTIONS = [
    # (request, a tool the answer must have used as (broker or None for any, tool), words the reply must contain)
    ("Show me portfolios from both brokers", (None, "get_portfolio_summary"), ["TradeSphere", "VelocityBrokers", "Combined"]),
    ("what's my total portfolio value?", (None, "get_account"), ["total portfolio value"]),
    ("how much cash do I have on Velocity?", (VE, "get_account"), ["VelocityBrokers", "cash"]),
    ("what is Apple trading at?", (None, "get_quote"), ["AAPL"]),
    ("show my open orders", (None, "list_orders"), ["TSLA"]),
    ("compare the brokers", (None, "get_broker_profile"), ["Fastest: VelocityBrokers", "Lowest fees: TradeSphere"]),
    ("which broker is cheaper for 200 shares of AMZN?", (None, "estimate_order"), ["TradeSphere is cheaper", "Nothing was placed"]),
    ("what's the price of MSFT", (None, "get_quote"), ["MSFT"]),
    ("show my positions on tradesphere", (TS, "get_portfolio_summary"), ["AAPL", "NVDA"]),
    ("how much buying power do I have on tradesphere", (TS, "get_account"), ["buying power"]),
    ("quote tsla", (None, "get_quote"), ["TSLA"]),
    ("what are my holdings?", (None, "get_portfolio_summary"), ["AAPL"]),
    ("how much would it cost to buy 10 TSLA", (None, "estimate_order"), ["fees"]),
    ("which broker is fastest?", (None, "get_broker_profile"), ["VelocityBrokers"]),
    ("show my order history", (None, "list_orders"), ["orders"]),
]

NO_ORDER = [
    # (request, words the reply must contain) — a question back, never a guessed trade
    ("buy some", ["how many"]),
    ("buy apple", ["how many"]),
    ("buy 10", ["which"]),
    ("sell", ["which stock", "how many"]),
    ("asdf qwerty", []),
    ("should I buy Apple?", []),
    ("buy 0 AAPL on tradesphere", ["0"]),
    ("buy -5 AAPL on tradesphere", ["-5"]),
    ("buy 10 Zorblax Quantum Corp on tradesphere", ["unknown"]),
    ("sell 10 ZZZZQ on velocity", ["unknown"]),
    ("help", ["Buy 100 Apple"]),
    ("what can you do?", ["Buy"]),
    ("sell all my GME on tradesphere", ["no GME"]),
    ("buy 1000000 shares of BRK.A on tradesphere", ["buying power"]),
    ("buy 1.5 AAPL on velocity", ["whole shares"]),
]


@pytest.fixture(scope="module", autouse=True)
def book(connections):
    """Holdings to sell and one working Tesla order to cancel."""
    for broker, symbol, qty in [(TS, "AAPL", "100"), (TS, "NVDA", "40"), (TS, "TSLA", "10"), (VE, "AMD", "20"), (VE, "MSFT", "30")]:
        assert connections.call(broker, "place_order", {"symbol": symbol, "side": "buy", "quantity": qty})["status"] == "filled"
    working = connections.call(TS, "place_order", {"symbol": "TSLA", "side": "buy", "quantity": "1", "order_type": "limit",
                                                   "limit_price": "1.00", "time_in_force": "gtc"})
    assert working["status"] == "open"
    return working


def _pending_orders(result):
    return [
        {"broker": p.server, "tool": p.tool, "symbol": p.arguments.get("symbol"), "side": p.arguments.get("side"),
         "order_id": p.arguments.get("order_id"),
         "quantity": p.arguments.get("quantity"), "notional": p.arguments.get("notional"),
         "order_type": p.arguments.get("order_type", "market"), "limit_price": p.arguments.get("limit_price"),
         "time_in_force": p.arguments.get("time_in_force", "day")}
        for p in result.pending_approvals
    ]


def _same(expected: dict, actual: dict) -> bool:
    for key, want in expected.items():
        got = actual.get(key)
        if key in ("quantity", "notional", "limit_price"):
            if (want is None) != (got is None) or (want is not None and Decimal(str(got)) != Decimal(want)):
                return False
        elif got != want:
            return False
    return True


@pytest.mark.parametrize(("request_text", "expected"), ORDERS, ids=[c[0] for c in ORDERS])
def test_order_phrasings(assistant, request_text, expected):
    """Each trade request stops for approval with exactly the right order on the right broker."""
    result = assistant.ask(request_text, session_id=f"t-{request_text}")
    pending = _pending_orders(result)
    assert len(pending) == len(expected), (result.reply, pending)
    for want in expected:
        assert any(_same(want, got) for got in pending), (want, pending, result.reply)
    for p in result.pending_approvals:
        assert p.estimate and Decimal(p.estimate["fees"]) >= 0 and "total" in p.estimate
    assistant.decide(f"t-{request_text}", {p.call_id: False for p in result.pending_approvals})


@pytest.mark.parametrize(("request_text", "tool", "words"), QUESTIONS, ids=[c[0] for c in QUESTIONS])
def test_question_phrasings(assistant, request_text, tool, words):
    """Questions answer from the brokers' tools and never place or stage an order."""
    result = assistant.ask(request_text)
    assert not result.pending_approvals, result.reply
    broker, name = tool
    assert any(c.tool == name and (broker is None or c.server == broker) for c in result.tool_calls), result.tool_calls
    assert not any(c.tool in ("place_order", "cancel_order", "add_position") for c in result.tool_calls)
    for word in words:
        assert word.lower() in result.reply.lower(), (word, result.reply)


@pytest.mark.parametrize(("request_text", "words"), NO_ORDER, ids=[c[0] for c in NO_ORDER])
def test_unclear_or_impossible_requests_place_nothing(assistant, request_text, words):
    """Ambiguous, unknown or impossible requests get an answer back and no order tool call."""
    result = assistant.ask(request_text)
    assert not result.pending_approvals, result.reply
    assert not any(c.tool in ("place_order", "cancel_order", "add_position") for c in result.tool_calls)
    assert result.reply.strip()
    for word in words:
        assert word.lower() in result.reply.lower(), (word, result.reply)


def test_cancel_my_tesla_order_stages_the_cancel(assistant, book):
    """'cancel my Tesla order' finds the working Tesla order and asks to cancel exactly it."""
    result = assistant.ask("cancel my Tesla order", session_id="cancel")
    assert [(p.server, p.tool, p.arguments) for p in result.pending_approvals] == [(TS, "cancel_order", {"order_id": book["id"]})]
    done = assistant.decide("cancel", {p.call_id: False for p in result.pending_approvals})
    assert "kept order" in done.reply.lower()


FOLLOW_UPS = [
    (["Buy 10 AMD on Velocity", "buy 10 more"], order(VE, "AMD", quantity="10")),
    (["Buy 10 AMD on Velocity with a limit of $1", "make it 20"],
     {"broker": VE, "tool": "replace_order", "quantity": "20"}),  # still open: changed in place, not doubled
    (["Buy 10 AMD on Velocity with a limit of $1", "change the limit to 1.50"],
     {"broker": VE, "tool": "replace_order", "limit_price": "1.50"}),
    (["Buy 10 AMD on Velocity", "do the same on TradeSphere"], order(TS, "AMD", quantity="10")),
    (["Buy 10 AMD on Velocity", "and sell it tomorrow at the open"], order(VE, "AMD", "sell", quantity="10", tif="opg")),
]


@pytest.mark.parametrize(("turns", "expected"), FOLLOW_UPS, ids=[" / ".join(t) for t, _ in FOLLOW_UPS])
def test_follow_ups_use_the_conversation(assistant, turns, expected):
    """A follow-up ('buy 10 more', 'do the same on TradeSphere', 'make it 20' while the order is open) is read against
    the earlier order in the chat."""
    session = "follow-" + turns[1]
    first = assistant.ask(turns[0], session_id=session)
    assert len(first.pending_approvals) == 1
    assistant.decide(session, {first.pending_approvals[0].call_id: True})
    second = assistant.ask(turns[1], session_id=session)
    pending = _pending_orders(second)
    assert len(pending) == 1 and _same(expected, pending[0]), (pending, second.reply)
    if expected["tool"] == "replace_order":
        assert pending[0]["order_id"], pending  # the id of the order the first turn placed
    assistant.decide(session, {p.call_id: False for p in second.pending_approvals})


def test_table_is_big_enough():
    """The issue asks for at least 80 phrasings."""
    assert len(ORDERS) + len(QUESTIONS) + len(NO_ORDER) + len(FOLLOW_UPS) + 1 >= 80


def test_cancel_all_my_tesla_orders_cancels_only_tesla(assistant, connections, book):
    """'cancel all my tesla orders' stages cancels for Tesla orders only, never the rest of the book."""
    other = connections.call(VE, "place_order", {"symbol": "KO", "side": "buy", "quantity": "1", "order_type": "limit",
                                                 "limit_price": "1.00", "time_in_force": "gtc"})
    result = assistant.ask("cancel all my tesla orders", session_id="cancel-all-tesla")
    staged = [(p.server, p.arguments["order_id"]) for p in result.pending_approvals]
    assert staged == [(TS, book["id"])]
    assistant.decide("cancel-all-tesla", {p.call_id: False for p in result.pending_approvals})
    connections.call(VE, "cancel_order", {"order_id": other["id"]})
