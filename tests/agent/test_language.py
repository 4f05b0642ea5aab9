"""The offline intent parser on a table of realistic chat phrasings, follow-ups and clarifications.

Pure: no brokers, no model. Each row gives the message and the intent fields that matter; for an
ORDER every order field not named in the row must keep its default, so a stray limit price,
timing or broker fails the row.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from agent.language import (
    BrokerRef,
    FollowUp,
    Intent,
    IntentKind,
    conversation_intent,
    merge_follow_up,
    parse_request,
    read_request,
)
from brokers.errors import UnknownSymbol
from brokers.symbols import get_directory

TS, VE = "tradesphere", "velocity"
BROKERS = (BrokerRef(TS, "TradeSphere"), BrokerRef(VE, "VelocityBrokers"))
BOTH = (TS, VE)
D = Decimal

ORDER_FIELDS = ("quantity", "portion", "notional", "order_type", "limit_price", "time_in_force", "brokers",
                "broker_choice", "follow_up", "order_ref", "question", "other_broker", "stop_price", "trail_percent",
                "trail_price", "take_profit_price", "stop_loss_price")
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Intent) if f.name != "kind"}


def buy(symbol: str, **fields) -> dict:
    return {"kind": IntentKind.ORDER, "side": "buy", "symbol_text": symbol, **fields}


def sell(symbol: str, **fields) -> dict:
    return {"kind": IntentKind.ORDER, "side": "sell", "symbol_text": symbol, **fields}


def kind(k: IntentKind, **fields) -> dict:
    return {"kind": k, **fields}


def asks(*words: str) -> dict:
    """A CLARIFY whose question contains every one of `words` (case-insensitive)."""
    return {"kind": IntentKind.CLARIFY, "asks": words}


def same_stock(got: str | None, want: str | None) -> bool:
    """The parser names a company it knows by its ticker ("Apple" -> AAPL); an unknown one stays as typed."""
    if got == want or got is None or want is None:
        return got == want
    try:
        return get_directory().resolve(want).symbol == got
    except UnknownSymbol:
        return False


def check(intent: Intent, expected: dict) -> None:
    expected = dict(expected)
    words = expected.pop("asks", ())
    for name, want in expected.items():
        if name == "symbol_text":
            assert same_stock(intent.symbol_text, want), (name, intent)
            continue
        assert getattr(intent, name) == want, (name, intent)
    if intent.kind is IntentKind.ORDER:
        for name in ORDER_FIELDS:
            if name not in expected:
                assert getattr(intent, name) == DEFAULTS[name], (name, intent)
    for word in words:
        assert intent.question and word.lower() in intent.question.lower(), (word, intent.question)


ORDERS = [
    # plain share counts, brokers by id, name, split name, short name and typo
    ("Buy 100 Apple shares through TradeSphere when the market opens", buy("Apple", quantity=D(100), time_in_force="opg", brokers=(TS,))),
    ("buy 10 AAPL on velocity", buy("AAPL", quantity=D(10), brokers=(VE,))),
    ("Purchase 25 shares of Microsoft via VelocityBrokers", buy("Microsoft", quantity=D(25), brokers=(VE,))),
    ("buy 5 nvda through tradesphere", buy("nvda", quantity=D(5), brokers=(TS,))),
    ("pick up 40 shares of Ford on trade sphere", buy("Ford", quantity=D(40), brokers=(TS,))),
    ("can you buy 7 JPM on velocity brokers", buy("JPM", quantity=D(7), brokers=(VE,))),
    ("buy 30 shares of Bank of America through tradesphre", buy("Bank of America", quantity=D(30), brokers=(TS,))),
    ("yo grab me 3 shares of nvda on velocty thx", buy("nvda", quantity=D(3), brokers=(VE,))),
    ("buy 10 aapl thru trade-sphere pls", buy("aapl", quantity=D(10), brokers=(TS,))),
    ("BUY 10 AAPL ON VELOCITY PLEASE", buy("AAPL", quantity=D(10), brokers=(VE,))),
    ("buy 10 AAPL in my velocity account", buy("AAPL", quantity=D(10), brokers=(VE,))),
    ("Buy 20 shares of Apple", buy("Apple", quantity=D(20))),
    ("buy 1,000 shares of Ford on tradesphere", buy("Ford", quantity=D(1000), brokers=(TS,))),
    ("Buy 1.5 shares of Apple on TradeSphere", buy("Apple", quantity=D("1.5"), brokers=(TS,))),
    ("sell 0.25 shares of AAPL", sell("AAPL", quantity=D("0.25"))),
    # tickers and company names as typed
    ("buy 3 BRK.B on tradesphere", buy("BRK.B", quantity=D(3), brokers=(TS,))),
    ("get me 12 shares of $AMD on velocity", buy("AMD", quantity=D(12), brokers=(VE,))),
    ("buy 10 coca cola on tradesphere", buy("coca cola", quantity=D(10), brokers=(TS,))),
    ("buy 10 JP Morgan on velocity", buy("JP Morgan", quantity=D(10), brokers=(VE,))),
    ("buy 2 Berkshire Hathaway", buy("Berkshire Hathaway", quantity=D(2))),
    ("buy 10 shares of Best Buy", buy("Best Buy", quantity=D(10))),
    ("buy 5 Capital One", buy("Capital One", quantity=D(5))),
    ("please buy 10 shares of Johnson & Johnson", buy("Johnson & Johnson", quantity=D(10))),
    ("buy 10 AT&T", buy("AT&T", quantity=D(10))),
    ("sell 10 shares of apple's stock", sell("apple", quantity=D(10))),
    ("sell 10 IT", sell("IT", quantity=D(10))),
    ("I'd like to buy 8 Netflix on TradeSphere", buy("Netflix", quantity=D(8), brokers=(TS,))),
    ("go ahead and buy 10 apple stock pls", buy("apple", quantity=D(10))),
    ("buy 10 AAPL again", buy("AAPL", quantity=D(10))),
    # verbs
    ("go long 10 AAPL", buy("AAPL", quantity=D(10))),
    ("acquire 10 shares of MSFT", buy("MSFT", quantity=D(10))),
    ("unload 5 tesla on tradesphere", sell("tesla", quantity=D(5), brokers=(TS,))),
    ("trim 5 AAPL", sell("AAPL", quantity=D(5))),
    # word numbers
    ("Please buy fifty shares of Tesla on TradeSphere", buy("Tesla", quantity=D(50), brokers=(TS,))),
    ("buy a hundred shares of amazon on velocity", buy("amazon", quantity=D(100), brokers=(VE,))),
    ("buy twenty five Google on TradeSphere", buy("Google", quantity=D(25), brokers=(TS,))),
    ("buy twenty-five Google", buy("Google", quantity=D(25))),
    ("buy a dozen shares of KO", buy("KO", quantity=D(12))),
    ("buy one hundred and fifty shares of KO", buy("KO", quantity=D(150))),
    ("buy a couple of shares of MSFT", buy("MSFT", quantity=D(2))),
    ("buy two thousand shares of F", buy("F", quantity=D(2000))),
    ("buy a share of NVDA", buy("NVDA", quantity=D(1))),
    # dollar amounts
    ("Buy $500 of Tesla on Velocity", buy("Tesla", notional=D(500), brokers=(VE,))),
    ("Buy $1,000 worth of AAPL through TradeSphere", buy("AAPL", notional=D(1000), brokers=(TS,))),
    ("buy 250 dollars of nvidia on tradesphere", buy("nvidia", notional=D(250), brokers=(TS,))),
    ("buy $2k of MSFT on TradeSphere", buy("MSFT", notional=D(2000), brokers=(TS,))),
    ("buy $1.5k of MSFT", buy("MSFT", notional=D(1500))),
    ("buy 500 bucks of TSLA", buy("TSLA", notional=D(500))),
    ("buy 300 usd of AMD", buy("AMD", notional=D(300))),
    ("buy five hundred dollars worth of tesla", buy("tesla", notional=D(500))),
    ("buy 2 grand of TSLA", buy("TSLA", notional=D(2000))),
    ("buy 10 shares of AAPL for $500", buy("AAPL", quantity=D(10))),  # the share count wins
    # limit prices
    ("Buy 10 NVDA on Velocity limit $180", buy("NVDA", quantity=D(10), order_type="limit", limit_price=D(180), brokers=(VE,))),
    ("buy 20 AAPL at 180 or better on tradesphere", buy("AAPL", quantity=D(20), order_type="limit", limit_price=D(180), brokers=(TS,))),
    ("buy 5 MSFT on velocity, limit price 400.50", buy("MSFT", quantity=D(5), order_type="limit", limit_price=D("400.50"), brokers=(VE,))),
    ("buy 10 AAPL at $180 limit", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D(180))),
    ("buy 10 AAPL if it drops to 150", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D(150))),
    ("buy 10 AAPL @ 175.25", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D("175.25"))),
    ("buy 10 AAPL for no more than 180 per share", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D(180))),
    ("sell 10 TSLA if it rises to 300", sell("TSLA", quantity=D(10), order_type="limit", limit_price=D(300))),
    ("sell 10 MSFT on velocity limit 500", sell("MSFT", quantity=D(10), order_type="limit", limit_price=D(500), brokers=(VE,))),
    # time in force
    ("Buy 10 AMD on TradeSphere good till cancelled limit 150",
     buy("AMD", quantity=D(10), order_type="limit", limit_price=D(150), time_in_force="gtc", brokers=(TS,))),
    ("buy 10 AAPL on tradesphere gtc limit 200", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D(200), time_in_force="gtc", brokers=(TS,))),
    ("buy 10 AAPL until cancelled at 170", buy("AAPL", quantity=D(10), order_type="limit", limit_price=D(170), time_in_force="gtc")),
    ("buy 10 AAPL on tradesphere at the close", buy("AAPL", quantity=D(10), time_in_force="cls", brokers=(TS,))),
    ("sell 3 apple before the close", sell("apple", quantity=D(3), time_in_force="cls")),
    ("buy 10 AAPL at market close", buy("AAPL", quantity=D(10), time_in_force="cls")),
    ("buy 15 KO on velocity at market open", buy("KO", quantity=D(15), time_in_force="opg", brokers=(VE,))),
    ("buy 6 TSLA on velocity first thing tomorrow", buy("TSLA", quantity=D(6), time_in_force="opg", brokers=(VE,))),
    ("sell 5 AMD tomorrow at the open", sell("AMD", quantity=D(5), time_in_force="opg")),
    ("buy 10 AAPL as soon as the market opens", buy("AAPL", quantity=D(10), time_in_force="opg")),
    ("buy 10 AAPL tomorrow", buy("AAPL", quantity=D(10), time_in_force="opg")),
    ("buy 10 AAPL today, market order", buy("AAPL", quantity=D(10))),
    # portions
    ("sell all my NVDA on tradesphere", sell("NVDA", portion=D(1), brokers=(TS,))),
    ("sell half my Apple on TradeSphere", sell("Apple", portion=D("0.5"), brokers=(TS,))),
    ("sell a quarter of my apple on tradesphere", sell("apple", portion=D("0.25"), brokers=(TS,))),
    ("sell a third of my tesla", sell("tesla", portion=D(1) / D(3))),
    ("sell 25% of my MSFT", sell("MSFT", portion=D("0.25"))),
    ("sell my entire AAPL position", sell("AAPL", portion=D(1))),
    ("close my TSLA position", sell("TSLA", portion=D(1))),
    ("get rid of my tesla on velocity", sell("tesla", portion=D(1), brokers=(VE,))),
    # broker choice
    ("Buy 50 MSFT through the cheapest broker", buy("MSFT", quantity=D(50), broker_choice="cheapest")),
    ("Buy 100 AAPL through the fastest broker", buy("AAPL", quantity=D(100), broker_choice="fastest")),
    ("buy 10 KO with the lowest fees", buy("KO", quantity=D(10), broker_choice="cheapest")),
    ("buy 5 AMZN on whichever broker is fastest", buy("AMZN", quantity=D(5), broker_choice="fastest")),
    ("buy 200 F through the cheaper one", buy("F", quantity=D(200), broker_choice="cheapest")),
    ("buy 10 AAPL on both brokers", buy("AAPL", quantity=D(10), brokers=BOTH, broker_choice="all")),
    ("buy 10 AAPL on each broker", buy("AAPL", quantity=D(10), brokers=BOTH, broker_choice="all")),
    ("buy 10 AAPL on tradesphere and velocity", buy("AAPL", quantity=D(10), brokers=BOTH)),
]

QUESTIONS = [
    ("is the market open?", kind(IntentKind.MARKET)),
    ("Show me portfolios from both brokers", kind(IntentKind.PORTFOLIO, brokers=BOTH, broker_choice="all")),
    ("what do I hold on velocity", kind(IntentKind.PORTFOLIO, brokers=(VE,))),
    ("positions", kind(IntentKind.PORTFOLIO, brokers=())),
    ("show me my portfolio on trade sphere", kind(IntentKind.PORTFOLIO, brokers=(TS,))),
    ("what's my P&L", kind(IntentKind.PORTFOLIO)),
    ("how many AAPL shares do I have on tradesphere", kind(IntentKind.PORTFOLIO, symbol_text="AAPL", brokers=(TS,))),
    ("how much cash do I have on Velocity?", kind(IntentKind.ACCOUNT, brokers=(VE,))),
    ("buying power", kind(IntentKind.ACCOUNT)),
    ("account balance", kind(IntentKind.ACCOUNT)),
    ("what's in my velocity account", kind(IntentKind.ACCOUNT, brokers=(VE,))),
    ("how much buying power do I have on tradesphere", kind(IntentKind.ACCOUNT, brokers=(TS,))),
    ("what's my total portfolio value?", kind(IntentKind.TOTAL_VALUE)),
    ("how much is my account worth", kind(IntentKind.TOTAL_VALUE)),
    ("how much money do I have in total", kind(IntentKind.TOTAL_VALUE)),
    ("what is Apple trading at?", kind(IntentKind.QUOTE, symbol_text="Apple")),
    ("price of MSFT", kind(IntentKind.QUOTE, symbol_text="MSFT")),
    ("quote TSLA", kind(IntentKind.QUOTE, symbol_text="TSLA")),
    ("whats apple at rn", kind(IntentKind.QUOTE, symbol_text="apple")),
    ("how much is a share of Tesla", kind(IntentKind.QUOTE, symbol_text="Tesla")),
    ("get me a quote on amzn", kind(IntentKind.QUOTE, symbol_text="amzn")),
    ("$TSLA", kind(IntentKind.QUOTE, symbol_text="TSLA")),
    ("NVDA?", kind(IntentKind.QUOTE, symbol_text="NVDA")),
    ("show my open orders", kind(IntentKind.ORDERS, symbol_text=None)),
    ("order history", kind(IntentKind.ORDERS, symbol_text=None)),
    ("what orders are queued", kind(IntentKind.ORDERS, symbol_text=None)),
    ("show my tesla orders on velocity", kind(IntentKind.ORDERS, symbol_text="tesla", brokers=(VE,))),
    ("did my AAPL order fill?", kind(IntentKind.ORDERS, symbol_text="AAPL")),
    ("compare the brokers", kind(IntentKind.COMPARE_BROKERS)),
    ("which broker is fastest?", kind(IntentKind.COMPARE_BROKERS)),
    ("what are the fees", kind(IntentKind.COMPARE_BROKERS)),
    ("which broker has the lowest fees?", kind(IntentKind.COMPARE_BROKERS)),
    ("how long does velocity take to fill", kind(IntentKind.COMPARE_BROKERS, brokers=(VE,))),
    ("tell me about velocity", kind(IntentKind.COMPARE_BROKERS, brokers=(VE,))),
    ("help", kind(IntentKind.HELP)),
    ("what can you do?", kind(IntentKind.HELP)),
    ("hi", kind(IntentKind.HELP)),
]

COSTS = [
    ("which broker is cheaper for 200 shares of AMZN?", kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="AMZN", quantity=D(200))),
    ("which broker is cheaper to buy 200 AMZN?", kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="AMZN", quantity=D(200))),
    ("how much would it cost to buy 10 TSLA", kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="TSLA", quantity=D(10))),
    ("what would 100 shares of apple cost on velocity",
     kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="apple", quantity=D(100), brokers=(VE,))),
    ("would it be cheaper to sell 50 MSFT on tradesphere or velocity?",
     kind(IntentKind.COST_COMPARISON, side="sell", symbol_text="MSFT", quantity=D(50), brokers=BOTH)),
    ("estimate $1,000 of NVDA", kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="NVDA", notional=D(1000))),
    ("what if I buy 10 AAPL", kind(IntentKind.COST_COMPARISON, side="buy", symbol_text="AAPL", quantity=D(10))),
]

CANCELS = [
    ("cancel my Tesla order", kind(IntentKind.CANCEL, symbol_text="Tesla", order_ref=None)),
    ("cancel all my orders", kind(IntentKind.CANCEL, symbol_text=None, order_ref="all")),
    ("cancel all my orders on velocity", kind(IntentKind.CANCEL, order_ref="all", brokers=(VE,))),
    ("cancel order 12", kind(IntentKind.CANCEL, symbol_text=None, order_ref="12")),
    ("pls cancel order 3f2a9c1d-77e4 on tradesphere", kind(IntentKind.CANCEL, order_ref="3f2a9c1d-77e4", brokers=(TS,))),
    ("cancel #42", kind(IntentKind.CANCEL, order_ref="42")),
    ("cancel my limit order for AAPL", kind(IntentKind.CANCEL, symbol_text="AAPL", order_ref=None)),
    ("cancel everything", kind(IntentKind.CANCEL, order_ref="all")),
    ("cancel all my tesla orders", kind(IntentKind.CANCEL, symbol_text="tesla", order_ref="all")),
]

CLARIFICATIONS = [
    ("buy some", asks("which stock", "how many")),
    ("buy apple", asks("how many", "apple")),
    ("buy 10", asks("which stock", "10")),
    ("buy 10 shares please", asks("which stock")),
    ("sell", asks("which stock", "how many")),
    ("dump my tesla", sell("TSLA", portion=D(1))),  # "dump", "unload", "ditch" with no size: the whole position
    ("asdf qwerty", asks("didn't understand", "help")),
    ("", asks("what would you like")),
    ("buy and sell 10 AAPL", asks("buy or", "sell")),
    ("buy AAPL MSFT", asks("one stock", "AAPL", "MSFT")),
    ("buy 0 AAPL", asks("0", "quantity", "how many")),
    ("buy -5 AAPL", asks("-5", "quantity")),
    ("buy $0 of AAPL", asks("dollar amount", "0")),
    ("buy 10 AAPL limit", asks("limit price")),
    ("buy 10 AAPL at 150 limit 160", asks("more than one limit price", "150", "160")),
    ("buy $500 of AAPL for $600", asks("more than one dollar amount", "500", "600")),
    ("buy 10 AAPL at the open gtc", asks("when", "open", "good till cancelled")),
    ("buy half my apple", asks("how many", "apple", "buy")),
    ("sell 150% of my tesla", asks("100%")),
    ("should I buy Apple?", asks("advice")),
    ("buy 10 of whatever you think is best", asks("advice")),
    ("don't buy apple", asks("won't place anything")),
    ("short 10 TSLA", asks("short selling", "sell")),
    ("10 AAPL on velocity?", asks("buy or sell", "10 AAPL")),
    ("buy 10 AAPL on robinhood", asks("robinhood", "TradeSphere", "VelocityBrokers")),
    ("buy 10 AAPL on tradesphere or velocity", asks("which broker", "TradeSphere or VelocityBrokers")),
    ("buy 10 AAPL on the other broker", asks("other broker", "TradeSphere")),
    ("what's the price", asks("which stock", "quote")),
    ("how much would it cost to buy apple", asks("how many", "apple")),
]

FOLLOW_UPS = [
    ("make it 20", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "quantity": D(20)}),
    ("actually 50 shares", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "quantity": D(50)}),
    ("change that to 30", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "quantity": D(30)}),
    ("no, make it twenty five", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "quantity": D(25)}),
    ("make it $1,000 instead", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "notional": D(1000)}),
    ("make it a limit at 180", {"kind": IntentKind.ORDER, "follow_up": FollowUp.RESIZE, "order_type": "limit", "limit_price": D(180)}),
    ("do the same on TradeSphere", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REPEAT_ON, "brokers": (TS,)}),
    ("same on velocty", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REPEAT_ON, "brokers": (VE,)}),
    ("also on the other broker", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REPEAT_ON, "other_broker": True, "brokers": ()}),
    ("and sell it tomorrow at the open", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REVERSE, "side": "sell", "time_in_force": "opg"}),
    ("sell it at the close", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REVERSE, "side": "sell", "time_in_force": "cls"}),
    ("now sell them", {"kind": IntentKind.ORDER, "follow_up": FollowUp.REVERSE, "side": "sell", "symbol_text": None}),
    ("make it 0", asks("0", "more than zero")),
]

# Stops, trailing stops and brackets. A protective stop (on shares held) with no size covers the whole position and
# stays working until cancelled unless a time was said; a buy stop enters on a breakout as a day order.
WHOLE = {"portion": D(1), "time_in_force": "gtc"}
STOPS = [
    ("sell my Tesla if it drops below 300", sell("TSLA", order_type="stop", stop_price=D(300), **WHOLE)),
    ("stop loss on my apple at 200", sell("AAPL", order_type="stop", stop_price=D(200), **WHOLE)),
    ("PUT A STOP LOSS ON MY APPLE AT 200", sell("AAPL", order_type="stop", stop_price=D(200), **WHOLE)),
    ("stop on UBER @ 88, all 20", sell("UBER", quantity=D(20), order_type="stop", stop_price=D(88), time_in_force="gtc")),
    ("Place a stop-loss at $52 on my 20 Delta shares on Velocity.",
     sell("DAL", quantity=D(20), order_type="stop", stop_price=D(52), time_in_force="gtc", brokers=(VE,))),
    ("stp 135 on shop", sell("SHOP", order_type="stop", stop_price=D(135), **WHOLE)),
    ("sell 20 TSLA stop 300 limit 295",
     sell("TSLA", quantity=D(20), order_type="stop_limit", stop_price=D(300), limit_price=D(295), time_in_force="gtc")),
    ("if bofa falls to 48 sell all of it but not below 47",
     sell("BAC", order_type="stop_limit", stop_price=D(48), limit_price=D(47), **WHOLE)),
    ("trailing stop 5% HIMS", sell("HIMS", order_type="trailing_stop", trail_percent=D(5), **WHOLE)),
    ("put a trailing stop of like five percent on my micron", sell("MU", order_type="trailing_stop", trail_percent=D(5), **WHOLE)),
    ("trl stop 5% on my jpm", sell("JPM", order_type="trailing_stop", trail_percent=D(5), **WHOLE)),
    ("trail my nvda by $5", sell("NVDA", order_type="trailing_stop", trail_price=D(5), **WHOLE)),
    ("trailing stop $2 on all 10 shares of AMD today only",
     sell("AMD", quantity=D(10), order_type="trailing_stop", trail_price=D(2))),
    ("buy 10 TSLA if it breaks above 300", buy("TSLA", quantity=D(10), order_type="stop", stop_price=D(300))),
    ("buy 10 AAPL with take profit at 250 and stop loss at 210",
     buy("AAPL", quantity=D(10), take_profit_price=D(250), stop_loss_price=D(210))),
    ("buy 5 NVDA tp 150 sl 120 lmt 130",
     buy("NVDA", quantity=D(5), order_type="limit", limit_price=D(130), take_profit_price=D(150), stop_loss_price=D(120))),
    ("take profit at 250 on my nvda", sell("NVDA", portion=D(1), order_type="limit", limit_price=D(250))),
    ("buy 10 AAPL with a stop loss at 210", asks("take-profit")),
    ("buy 10 AAPL take profit 250", asks("stop-loss price")),
    ("put a trailing stop on my fedex", asks("trail")),
    ("set a stop loss on my apple", asks("what price", "stop")),
    ("short 30 GME on velocity and put a 5% trailing stop on it", asks("short selling")),
    ("if best buy drops under 68 get me out", sell("BBY", order_type="stop", stop_price=D(68), **WHOLE)),
    ("trail a stop $25 behind my meta", sell("META", order_type="trailing_stop", trail_price=D(25), **WHOLE)),
    ("If Meta goes below 650, please sell my shares, but not for less than 640. This is only for today.",
     sell("META", portion=D(1), order_type="stop_limit", stop_price=D(650), limit_price=D(640))),
    ("on velocity: 20 arista limit 135, take profit 160, stop 125",
     buy("ANET", quantity=D(20), order_type="limit", limit_price=D(135), take_profit_price=D(160),
         stop_loss_price=D(125), brokers=(VE,))),
]
# Changing an order that is still working (the planner finds it; in a chat, "make it 20" changes the last one).
REPLACES = [
    ("change my Chipotle limit to 52", kind(IntentKind.REPLACE, symbol_text="CMG", limit_price=D(52))),
    ("um change my qualcomm limit to like eighty five", kind(IntentKind.REPLACE, symbol_text="QCOM", limit_price=D(85))),
    ("move my stop on tesla up to 310", kind(IntentKind.REPLACE, symbol_text="TSLA", stop_price=D(310))),
    ("modify my open Nike order to 30 shares", kind(IntentKind.REPLACE, symbol_text="NKE", quantity=D(30))),
    ("bump my dell limit up to 100", kind(IntentKind.REPLACE, symbol_text="DELL", limit_price=D(100))),
    ("change the limit on that order to $49.50", kind(IntentKind.REPLACE, order_ref=None, limit_price=D("49.5"))),
    ("change my AMD order", asks("what should i change")),
    ("make that starbucks order 35 shares instead of 20", kind(IntentKind.REPLACE, symbol_text="SBUX", quantity=D(35))),
]
# Not orders at all: options are refused like short sales.
REFUSALS = [
    ("Please buy two call options on Tesla for next month.", asks("options are not supported")),
    ("buy 2 apple calls expiring friday", asks("options are not supported")),
    ("buy 3 SPY puts", asks("options are not supported")),
]

TABLE = ORDERS + QUESTIONS + COSTS + CANCELS + CLARIFICATIONS + FOLLOW_UPS + STOPS + REPLACES + REFUSALS


@pytest.mark.parametrize(("message", "expected"), TABLE, ids=[m or "<empty>" for m, _ in TABLE])
def test_phrasing(message, expected):
    """Each message parses to the intent a trader means, or to a question naming what is missing."""
    check(parse_request(message, BROKERS), expected)


def test_the_table_is_big_and_covers_every_kind_and_timing():
    assert len(TABLE) >= 120
    kinds = {e["kind"] for _, e in TABLE}
    assert kinds == set(IntentKind)
    assert {e.get("time_in_force", "day") for _, e in TABLE} == {"day", "gtc", "opg", "cls"}


@pytest.mark.parametrize("message", [m for m, _ in TABLE] + ["sell a third of my apple", "buy $1.5k of MSFT @ 99.5"])
def test_no_float_anywhere(message):
    """Amounts are Decimal (or None), never float, in every field of every intent."""
    intent = parse_request(message, BROKERS)
    for field in dataclasses.fields(intent):
        value = getattr(intent, field.name)
        assert not isinstance(value, float), (field.name, value)
        if field.name in ("quantity", "portion", "notional", "limit_price"):
            assert value is None or isinstance(value, Decimal), (field.name, value)


def test_parsing_is_deterministic():
    for message, _ in TABLE:
        assert parse_request(message, BROKERS) == parse_request(message, BROKERS)


CONVERSATIONS = [
    (["Buy 10 AMD on Velocity", "make it 20"], buy("AMD", quantity=D(20), brokers=(VE,))),
    (["Buy $500 of TSLA on velocity", "make it 20"], buy("TSLA", quantity=D(20), brokers=(VE,))),
    (["buy 10 AMD on velocity", "make it $1,000 instead"], buy("AMD", notional=D(1000), brokers=(VE,))),
    (["Buy 10 AMD on Velocity limit 100", "make it gtc"],
     buy("AMD", quantity=D(10), order_type="limit", limit_price=D(100), time_in_force="gtc", brokers=(VE,))),
    (["Buy 10 AMD on Velocity", "do the same on TradeSphere"], buy("AMD", quantity=D(10), brokers=(TS,))),
    (["Buy 10 AMD through the cheapest broker", "same on velocity"], buy("AMD", quantity=D(10), brokers=(VE,))),
    (["Buy 10 AMD on Velocity", "also on the other broker"], buy("AMD", quantity=D(10), brokers=(TS,))),
    (["Buy 10 AMD on Velocity", "same thing on both brokers"], buy("AMD", quantity=D(10), brokers=BOTH, broker_choice="all")),
    (["Buy 10 AMD on Velocity", "sell the same on tradesphere"], sell("AMD", quantity=D(10), brokers=(TS,))),
    # a sell that names no broker goes where the shares are: the planner looks at the positions (brokers left empty)
    (["Buy 10 AMD on Velocity", "and sell it tomorrow at the open"], sell("AMD", quantity=D(10), time_in_force="opg")),
    (["Buy 10 AMD on Velocity limit 100", "now sell them at the close"], sell("AMD", quantity=D(10), time_in_force="cls")),
    (["Buy 10 AMD on Velocity", "sell half of them"], sell("AMD", portion=D("0.5"))),
    (["sell 20 NVDA on tradesphere", "buy them back if it drops to 100"],
     buy("NVDA", quantity=D(20), order_type="limit", limit_price=D(100), brokers=(TS,))),
    (["buy 10 AMD on the fastest broker", "sell it at the close"], sell("AMD", quantity=D(10), time_in_force="cls")),
    # what cannot be resolved becomes a question
    (["make it 20"], asks("which order")),
    (["show my positions", "make it 20"], asks("which order")),
    (["Buy 10 AMD", "also on the other broker"], asks("which broker", "TradeSphere", "VelocityBrokers")),
    (["Buy $500 of TSLA on velocity", "now sell them"], asks("how many", "TSLA")),
    (["sell half my apple on tradesphere", "buy them back"], asks("how many", "apple")),
]


def converse(messages: list[str], brokers=BROKERS) -> Intent:
    """The last message's intent with follow-ups merged into the latest order, as the offline model does."""
    return conversation_intent(messages, brokers)


@pytest.mark.parametrize(("messages", "expected"), CONVERSATIONS, ids=[" / ".join(m) for m, _ in CONVERSATIONS])
def test_follow_ups_merge_with_the_previous_order(messages, expected):
    check(converse(messages), expected)


def test_merge_passes_a_plain_intent_through():
    intent = parse_request("buy 10 AAPL", BROKERS)
    assert merge_follow_up(parse_request("buy 5 MSFT", BROKERS), intent, BROKERS) == intent


def test_merge_with_a_non_order_previous_asks_which_order():
    follow = parse_request("make it 20", BROKERS)
    for previous in (None, Intent(kind=IntentKind.HELP), parse_request("show my positions", BROKERS)):
        merged = merge_follow_up(previous, follow, BROKERS)
        assert merged.kind is IntentKind.CLARIFY and "which order" in merged.question.lower()


def test_a_third_broker_is_data_not_code():
    """Nothing is hard-coded: a new broker is matched by id, name, short name and typo, and joins 'both/all'."""
    brokers = (*BROKERS, BrokerRef("nimbus", "Nimbus Markets"))
    check(parse_request("buy 10 AAPL on nimbus markets", brokers), buy("AAPL", quantity=D(10), brokers=("nimbus",)))
    check(parse_request("buy 10 AAPL thru Nimbus", brokers), buy("AAPL", quantity=D(10), brokers=("nimbus",)))
    check(parse_request("buy 10 AAPL via nimbuss", brokers), buy("AAPL", quantity=D(10), brokers=("nimbus",)))
    check(parse_request("buy 10 AAPL on all brokers", brokers),
          buy("AAPL", quantity=D(10), brokers=(TS, VE, "nimbus"), broker_choice="all"))
    check(converse(["Buy 10 AMD on Velocity", "also on the other broker"], brokers), buy("AMD", quantity=D(10), brokers=(TS, "nimbus")))
    check(parse_request("buy 10 AAPL on the cheaper of tradesphere and nimbus", brokers), asks("TradeSphere or Nimbus Markets"))
    # with only the two seed brokers, "nimbus" is not a broker
    check(parse_request("buy 10 AAPL on nimbus", BROKERS), asks("nimbus", "TradeSphere"))


def test_brokers_with_other_names_are_matched_the_same_way():
    brokers = (BrokerRef("acme", "AcmeBroker"), BrokerRef("zen_trade", "ZenTrade"))
    check(parse_request("sell 5 KO through acme", brokers), sell("KO", quantity=D(5), brokers=("acme",)))
    check(parse_request("sell 5 KO on zen trade", brokers), sell("KO", quantity=D(5), brokers=("zen_trade",)))
    check(parse_request("sell 5 KO on both brokers", brokers), sell("KO", quantity=D(5), brokers=("acme", "zen_trade"), broker_choice="all"))
    check(parse_request("sell 5 KO on tradesphere", brokers), asks("tradesphere", "AcmeBroker"))


SEVERAL = [
    ("buy 10 apple and sell 5 tesla", [buy("AAPL", quantity=D(10)), sell("TSLA", quantity=D(5))]),
    ("buy 10 AAPL and 5 MSFT", [buy("AAPL", quantity=D(10)), buy("MSFT", quantity=D(5))]),
    ("buy 20 Visa and 15 Mastercard", [buy("V", quantity=D(20)), buy("MA", quantity=D(15))]),
    ("buy 6 Oracle at TradeSphere plus 6 at Velocity", [buy("ORCL", quantity=D(6), brokers=(TS,)),
                                                        buy("ORCL", quantity=D(6), brokers=(VE,))]),
    ("buy 3 each of Broadcom and Qualcomm on the quickest broker",
     [buy("AVGO", quantity=D(3), broker_choice="fastest"), buy("QCOM", quantity=D(3), broker_choice="fastest")]),
    ("buy 8 Pepsi at Velocity, wait, no, TradeSphere", [buy("PEP", quantity=D(8), brokers=(TS,))]),
    ("sell 20 Intel, no, 15", [sell("INTC", quantity=D(15))]),
    ("buy 30 JPMorgan, nothing above 250", [buy("JPM", quantity=D(30), order_type="limit", limit_price=D(250))]),
    ("buy 100 BAC limit 20 and leave it working till I cancel",
     [buy("BAC", quantity=D(100), order_type="limit", limit_price=D(20), time_in_force="gtc")]),
    ("how is Nvidia doing? buy 5 if it's under 200", [buy("NVDA", quantity=D(5), order_type="limit", limit_price=D(200))]),
    ("is Velocity faster? then buy 10 Ford there", [buy("F", quantity=D(10), brokers=(VE,))]),
    ("buy 10 Visa and Mastercard", [asks("how many", "mastercard")]),
]


@pytest.mark.parametrize(("message", "expected"), SEVERAL, ids=[m for m, _ in SEVERAL])
def test_one_message_several_orders_or_a_correction(message, expected):
    """Several orders in one message come out as several intents; a self-correction as one, the last word winning."""
    from agent.language import read_request

    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        check(intent, want)


def resolve_alone(intent: Intent) -> Intent:
    from agent.language import DialogueState
    from agent.language.dialogue import resolve

    return resolve(intent, DialogueState(), BROKERS)


@pytest.mark.parametrize(("message", "orders"), [
    ("20 AEP, 30 ETR, 40 PPL, all buys mkt on TS", [("AEP", D(20), (TS,)), ("ETR", D(30), (TS,)), ("PPL", D(40), (TS,))]),
    ("vel for all: 10 QQQ, 10 IWM, 5 GLD. buys, mkt", [("QQQ", D(10), (VE,)), ("IWM", D(10), (VE,)), ("GLD", D(5), (VE,))]),
    ("100 sofi and 100 hood. sofi on velo, hood on the cheap one", [("SOFI", D(100), (VE,)), ("HOOD", D(100), ())]),
    ("buy 10 AAPL and 5 MSFT, msft on velocity", [("AAPL", D(10), ()), ("MSFT", D(5), (VE,))]),
    ("$500 each spy qqq iwm", [("SPY", None, ()), ("QQQ", None, ()), ("IWM", None, ())]),
    ("buy 5 tesla and 10 rivian, wait no, make the rivian 20", [("TSLA", D(5), ()), ("RIVN", D(20), ())]),
    ("Please buy fifty shares of Comcast on TradeSphere and the same again on Velocity.",
     [("CMCSA", D(50), (TS,)), ("CMCSA", D(50), (VE,))]),
])
def test_lists_of_buys_take_the_side_and_brokers_said_for_them(message, orders):
    intents = read_request(message, BROKERS)
    assert [(i.kind, i.side) for i in intents] == [(IntentKind.ORDER, "buy")] * len(orders), intents
    assert [(i.symbol_text, i.quantity, i.brokers) for i in intents] == orders


@pytest.mark.parametrize(("message", "expected"), [
    ("put two and a half grand into walmart, wherever the fees are lowest",
     buy("WMT", notional=D(2500), broker_choice="cheapest")),
    ("get me out of AMD completely, both accounts", sell("AMD", portion=D(1), brokers=BOTH, broker_choice="all")),
    ("sell the 20 netflix but not a penny below 118", sell("NFLX", quantity=D(20), order_type="limit", limit_price=D(118))),
    ("sell the rest too", sell(None, portion=D(1), refers="missing")),
    ("actually forget the target order", kind(IntentKind.CANCEL, symbol_text="TGT")),
    ("The order for Lockheed Martin, I want to take it back, please.", kind(IntentKind.CANCEL, symbol_text="LMT")),
    ("anything still open out there?", kind(IntentKind.ORDERS, symbol_text=None)),
    ("Do I have any orders which are still waiting to be filled?", kind(IntentKind.ORDERS, symbol_text=None)),
    ("Please show me what positions I am holding at present.", kind(IntentKind.PORTFOLIO, brokers=())),
])
def test_what_busy_and_formal_writers_type(message, expected):
    [intent] = read_request(message, BROKERS)
    check(intent, expected)


def test_a_story_year_is_no_share_count_and_two_questions_get_two_answers():
    [trail] = read_request("he lost a lot in 2022. So please, put a trailing stop of 5 percent on my Meta shares.", BROKERS)
    assert (trail.order_type, trail.trail_percent, trail.quantity, trail.portion) == ("trailing_stop", D(5), None, D(1))
    kinds = [i.kind for i in read_request("how much cash do i have on each broker? and which one's cheaper", BROKERS)]
    assert kinds == [IntentKind.ACCOUNT, IntentKind.COMPARE_BROKERS]


@pytest.mark.parametrize(("message", "expected"), [
    # questions about the market clock and what the brokers allow are answered, never traded
    ("is the market open right now?", kind(IntentKind.MARKET)),
    ("what time does the market close today", kind(IntentKind.MARKET)),
    ("when does the stock market open tomorrow?", kind(IntentKind.MARKET)),
    ("can I buy fractional shares on velocity?", kind(IntentKind.COMPARE_BROKERS, brokers=(VE,))),
    ("which venue lets me do fractionals?", kind(IntentKind.COMPARE_BROKERS)),
    ("what order types can I use?", kind(IntentKind.COMPARE_BROKERS)),
    ("where is my tesla held?", kind(IntentKind.PORTFOLIO, symbol_text="TSLA")),
    ("which broker has my AMD?", kind(IntentKind.PORTFOLIO, symbol_text="AMD")),
    ("what's the bid ask on nvda", kind(IntentKind.QUOTE, symbol_text="NVDA")),
    ("what's the fee difference for 1000 shares between the two brokers?",
     kind(IntentKind.COST_COMPARISON, symbol_text=None, quantity=D(1000))),
    ("commish on 1,000 sh at VB?", kind(IntentKind.COST_COMPARISON, quantity=D(1000), brokers=(VE,))),
    ("which broker should I use for 10 shares of apple if I want the lowest cost",
     kind(IntentKind.COST_COMPARISON, symbol_text="AAPL", quantity=D(10))),
    ("If I bought 200 shares of Bank of America, what would the fee be at TradeSphere compared with Velocity?",
     kind(IntentKind.COST_COMPARISON, symbol_text="BAC", quantity=D(200))),
    ("how's the market today?", kind(IntentKind.MARKET)),
    ("am i up or down today", kind(IntentKind.PORTFOLIO)),
    ("what's my average cost on tesla", kind(IntentKind.PORTFOLIO, symbol_text="TSLA")),
    ("what have i bought today", kind(IntentKind.ORDERS)),
    ("how much did I spend on fees", kind(IntentKind.ACCOUNT)),
    ("is tradesphere or velocity better for small orders", kind(IntentKind.COMPARE_BROKERS, brokers=BOTH)),
    ("what brokers do you support?", kind(IntentKind.COMPARE_BROKERS)),
    ("what's the 52 week high of nvda", kind(IntentKind.QUOTE, symbol_text="NVDA")),
    ("how much would $1000 of apple get me?", kind(IntentKind.COST_COMPARISON, symbol_text="AAPL", notional=D(1000))),
    ("whats cheaper, ts or vb, for 10 msft", kind(IntentKind.COST_COMPARISON, symbol_text="MSFT", quantity=D(10))),
    # crypto is refused; an ETF that holds it is a stock
    ("I'd like to buy some Bitcoin, maybe $200 worth.", asks("cryptocurrencies are not supported")),
    ("buy 0.1 btc", asks("cryptocurrencies are not supported")),
    ("buy $200 of the bitcoin etf", buy("IBIT", notional=D(200))),
    # stop-limit pairs, limit-on-close, an offer on shares held
    ("sell 5 aapl stop limit 200/199", sell("AAPL", quantity=D(5), order_type="stop_limit", stop_price=D(200),
                                            limit_price=D(199), time_in_force="gtc")),
    ("buy 25 TSM stop-limit 215.00/216.50 GTC", buy("TSM", quantity=D(25), order_type="stop_limit", stop_price=D(215),
                                                     limit_price=D("216.5"), time_in_force="gtc")),
    ("stop limit buy 10 crowdstrike, stop 400 limit 405, velocity",
     buy("CRWD", quantity=D(10), order_type="stop_limit", stop_price=D(400), limit_price=D(405), brokers=(VE,))),
    ("If Carnival drops to 18 I want out. Stop at 18, limit 17.50, good till cancelled please",
     sell("CCL", portion=D(1), order_type="stop_limit", stop_price=D(18), limit_price=D("17.5"), time_in_force="gtc")),
    ("buy 75 KO limit-on-close, 68.40", buy("KO", quantity=D(75), order_type="limit", limit_price=D("68.4"),
                                           time_in_force="cls")),
    ("GTC limit sell 10 NKE @ 120", sell("NKE", quantity=D(10), order_type="limit", limit_price=D(120), time_in_force="gtc")),
    ("offer my 40 DE at 412.25 GTC", sell("DE", quantity=D(40), order_type="limit", limit_price=D("412.25"),
                                         time_in_force="gtc")),
    # other voices: a real word is never "repaired" ("world" stays world), sign-offs are noise, sell verbs
    ("Right, whack 500 dollars into the Vanguard total world fund, cheers", buy("VT", notional=D(500))),
    ("Please do the needful and sell 10 shares of Cognizant.", sell("CTSH", quantity=D(10))),
    ("need 30 CAT filled fast - speed over fees on this one", buy("CAT", quantity=D(30), broker_choice="fastest")),
    ("pare DAL down by a third, mkt", sell("DAL", portion=D(1) / 3)),
    ("out of all MU", sell("MU", portion=D(1))),
    ("trailing stop 8% on my qualcom", sell("QCOM", portion=D(1), order_type="trailing_stop", trail_percent=D(8),
                                            time_in_force="gtc", understood_from="qualcom")),
])
def test_questions_advanced_orders_and_other_voices(message, expected):
    [intent] = read_request(message, BROKERS)
    check(resolve_alone(intent), expected)


@pytest.mark.parametrize(("message", "expected"), [
    ("On VB: 20 CRWD mkt. On TS: 15 PANW lmt 182.40 GTC.",
     [buy("CRWD", quantity=D(20), brokers=(VE,)),
      buy("PANW", quantity=D(15), order_type="limit", limit_price=D("182.4"), time_in_force="gtc", brokers=(TS,))]),
    ("sell all my honeywel and 3m", [sell("HON", portion=D(1), understood_from="honeywel"), sell("MMM", portion=D(1))]),
    ("I'd like to get out of Microsoft completely, at both brokers please. Sell everything I have of it.",
     [sell("MSFT", portion=D(1), brokers=BOTH, broker_choice="all")]),
])
def test_brokers_leading_each_part_typos_in_lists_and_an_order_said_twice(message, expected):
    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        check(intent, want)


@pytest.mark.parametrize(("messages", "expected"), [
    (["buy 15 shares of Netflix on VelocityBrokers", "do 15 META too, same venue"],
     buy("META", quantity=D(15), brokers=(VE,))),
    (["buy 25 shares of Uber on TradeSphere", "do the same on Velocity mate"], buy("UBER", quantity=D(25), brokers=(VE,))),
    (["buy 20 shares of Spotify on TradeSphere", "now the same quantity on the other broker"],
     buy("SPOT", quantity=D(20), brokers=(VE,))),
    (["buy 10 shares of Eli Lilly on TradeSphere", "same on VB"], buy("LLY", quantity=D(10), brokers=(VE,))),
])
def test_follow_ups_in_more_voices(messages, expected):
    check(conversation_intent(messages, BROKERS), expected)


def test_a_price_with_cents_moves_the_limit_and_what_stays_is_no_change():
    [bump] = read_request("bump that to 5.25", BROKERS)
    assert (bump.follow_up, bump.limit_price, bump.quantity) == (FollowUp.RESIZE, D("5.25"), None)
    [more] = read_request("make it 2.5 shares", BROKERS)
    assert (more.quantity, more.limit_price) == (D("2.5"), None)
    [change] = read_request("Could you change that order to 30 shares instead of 20, keeping the same limit?", BROKERS)
    assert (change.kind, change.quantity, change.limit_price) == (IntentKind.REPLACE, D(30), None)


def test_a_real_word_is_never_repaired_into_a_key_word():
    from agent.language.companies import directory
    from agent.language.english import is_english
    from agent.language.normalize import normalize

    assert is_english("world") and is_english("funded") and not is_english("purchace")
    assert normalize("the vanguard total world fund", directory()) == "the vanguard total world fund"
    assert normalize("purchace 10 shares on velosity", directory()) == "purchase 10 shares on velocity"


@pytest.mark.parametrize(("setup", "text", "expected"), [
    (["buy 10 shares of Walmart on TradeSphere"], "That went well, I think. Could you buy 5 more of the one I just bought?",
     buy("WMT", quantity=D(5), brokers=(TS,))),
    (["buy 40 shares of Merck on VelocityBrokers"], "On second thought, please sell half of my earlier purchase.",
     sell("MRK", portion=D("0.5"))),
    (["buy 8 shares of Caterpillar on VelocityBrokers"], "And could you put a stop loss on those at $250, so I don't lose my shirt?",
     sell("CAT", portion=D(1), order_type="stop", stop_price=D(250), time_in_force="gtc")),
    (["buy 10 shares of Apple on TradeSphere"], "now do msft", buy("MSFT", quantity=D(10), brokers=(TS,))),
    (["buy 25 shares of Palantir on TradeSphere"], "same but 50", buy("PLTR", quantity=D(50), brokers=(TS,))),
    (["buy 30 shares of Delta Air Lines on VelocityBrokers with a limit of $5"], "nah cancel", kind(IntentKind.CANCEL)),
    (["buy 20 shares of Starbucks on VelocityBrokers with a limit of $30"],
     "My wife and I talked it over at breakfast. Let's make that Starbucks order 40 shares and raise the price to $35.",
     kind(IntentKind.REPLACE, symbol_text="SBUX", quantity=D(40), limit_price=D(35))),
])
def test_what_people_say_after_an_order(setup, text, expected):
    check(conversation_intent([*setup, text], BROKERS), expected)


@pytest.mark.parametrize(("message", "expected"), [
    ("Buy 20 shares of Coca-Cola on TradeSphere, and I would like it to sell by itself if the price goes up to $90, or if "
     "it goes down to $55.", [buy("KO", quantity=D(20), brokers=(TS,), take_profit_price=D(90), stop_loss_price=D(55))]),
    ("send it: 12 $HOOD on velocity", [buy("HOOD", quantity=D(12), brokers=(VE,))]),
    ("$200 each in hood, sofi and afrm", [buy("HOOD", notional=D(200)), buy("SOFI", notional=D(200)), buy("AFRM", notional=D(200))]),
    ("yolo 20 mstr on VB + 50 mara on VB", [buy("MSTR", quantity=D(20), brokers=(VE,)), buy("MARA", quantity=D(50), brokers=(VE,))]),
    ("3 shares each of $crwd $zs $net, fastest broker", [buy(s, quantity=D(3), broker_choice="fastest") for s in ("CRWD", "ZS", "NET")]),
    ("buy 10 oklo and 10 smr at the open", [buy("OKLO", quantity=D(10), time_in_force="opg"), buy("SMR", quantity=D(10), time_in_force="opg")]),
    ("Please buy 100 shares of Kenvue at $15, and leave the order in place until it fills, however long that takes.",
     [buy("KVUE", quantity=D(100), order_type="limit", limit_price=D(15), time_in_force="gtc")]),
    ("I'd like to invest five hundred dollars in the Vanguard S&P 500 fund. VOO, I believe it is called.", [buy("VOO", notional=D(500))]),
    ("I heard on the radio that Costco had a very good quarter... anyway. I would like to put $1,000 into Costco, with whichever "
     "of your brokers charges the lowest fees.", [buy("COST", notional=D(1000), broker_choice="cheapest")]),
    ("Which of your two brokers is the faster one? A friend at church says speed matters when you buy.",
     [kind(IntentKind.COMPARE_BROKERS, broker_choice="fastest")]),
    ("cancel my snap order bro", [kind(IntentKind.CANCEL, symbol_text="SNAP")]),
])
def test_brackets_in_words_lists_in_slang_and_stories(message, expected):
    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        check(intent, want)


@pytest.mark.parametrize("message", ["Sell 10 AAPL. Actually no.", "Buy 10 AAPL. Wait.", "buy 10 apple. hmm, no.",
                                     "Buy 5 Tesla. On second thought, don't.", "buy 10 apple... nah forget it",
                                     "buy 10 apple on velocity no wait", "buy 20 nvda, let me think about it"])
def test_an_order_taken_back_in_the_same_message_places_nothing(message):
    [intent] = read_request(message, BROKERS)
    assert intent.kind is IntentKind.CLARIFY and "placed nothing" in intent.question


@pytest.mark.parametrize(("message", "expected"), [
    ("buy 8 Pepsi at Velocity, wait, no, TradeSphere", buy("PEP", quantity=D(8), brokers=(TS,))),
    ("sell 20 Intel, no, 15", sell("INTC", quantity=D(15))),
])
def test_a_correction_that_says_what_instead_is_still_one_order(message, expected):
    [intent] = read_request(message, BROKERS)
    check(intent, expected)


@pytest.mark.parametrize(("message", "expected"), [
    ("bid 88 for 75 COP gtc velo", buy("COP", quantity=D(75), order_type="limit", limit_price=D(88), time_in_force="gtc",
                                       brokers=(VE,))),
    ("diversifying out of crypto a bit. $500 into VOO", buy("VOO", notional=D(500))),
    ("what orders I have open now?", kind(IntentKind.ORDERS)),
    ("What's the difference in fees between your two brokers?", kind(IntentKind.COMPARE_BROKERS, brokers=BOTH)),
    ("My dad drove trucks for thirty-one years. Buy 10 Cummins.", buy("CMI", quantity=D(10))),
])
def test_bids_crypto_as_context_durations_and_two_brokers(message, expected):
    [intent] = read_request(message, BROKERS)
    check(resolve_alone(intent), expected)


@pytest.mark.parametrize(("message", "expected"), [
    # number words of the speaker's own language, and please / thanks in it
    ("please sell diez of my starbucks shares, gracias", [sell("SBUX", quantity=D(10))]),
    ("bitte buy zwanzig apple, danke", [buy("AAPL", quantity=D(20))]),
    ("buy 10 shares of apple, once the market opens", [buy("AAPL", quantity=D(10), time_in_force="opg")]),
    # dictation: "a hundred and forty", letters of a ticker, one-word names said in pieces
    ("Can you buy three shares of cloud flare on trade sphere with a limit of a hundred and forty good till cancelled",
     [buy("NET", quantity=D(3), order_type="limit", limit_price=D(140), time_in_force="gtc", brokers=(TS,))]),
    ("buy a thousand dollars of the vanguard S&P 500 fund V O O", [buy("VOO", notional=D(1000))]),
    ("by five shares of air bnb and 5 shares of door dash", [buy("ABNB", quantity=D(5)), buy("DASH", quantity=D(5))]),
    ("sell all state farm", [asks()]),
    # a bare number after a dollar amount is dollars again
    ("um put 200 dollars in S C H D and three hundred in V T I", [buy("SCHD", notional=D(200)), buy("VTI", notional=D(300))]),
    ("put $500 in apple and 20 shares in msft", [buy("AAPL", notional=D(500)), buy("MSFT", quantity=D(20))]),
    # a rebalance: the proceeds buy
    ("Rebalance time: sell all the Intel and use the proceeds for 10 more AMD.",
     [sell("INTC", portion=D(1)), buy("AMD", quantity=D(10))]),
    # "get there" is the price, not a broker; "a quick one -" is a quick message, not the quick broker
    ("I'd like 200 SoFi with a limit of 9.75, day order only. If it doesn't get there today, fine.",
     [buy("SOFI", quantity=D(200), order_type="limit", limit_price=D("9.75"))]),
    ("buy 10 apple on the quick one.", [buy("AAPL", quantity=D(10), broker_choice="fastest")]),
    # English words are never misspelt companies
    ("ok cancel everything that's still open, I'm starting over", [kind(IntentKind.CANCEL, symbol_text=None, order_ref="all")]),
    # a name several share classes have, typed as the name, asks which class; the ticker does not
    ("Buy 100 shares of Fox on TradeSphere.", [asks("FOXA", "FOX")]),
    ("buy 100 FOX", [buy("FOX", quantity=D(100))]),
    ("buy 10 shares of alphabet", [buy("GOOGL", quantity=D(10))]),
])
def test_second_language_dictation_and_rebalancing(message, expected):
    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        if want.get("kind") is IntentKind.CLARIFY and not want["asks"]:
            assert intent.kind is IntentKind.CLARIFY or intent.symbol_text != "ALL", intent
            continue
        check(intent, want)


@pytest.mark.parametrize(("message", "step", "of"), [
    ("Move my Nike limit up a dollar.", D(1), "limit_price"),
    ("raise the limit on my nike order by $2", D(2), "limit_price"),
    ("lower the limit by 50 cents", D("-0.5"), "limit_price"),
    ("move my stop on the nike order down 3 dollars", D(-3), "stop_price"),
])
def test_a_working_order_moved_by_an_amount_keeps_the_amount_not_a_price(message, step, of):
    [intent] = read_request(message, BROKERS)
    assert intent.kind is IntentKind.REPLACE and intent.price_step == step and intent.step_of == of, intent
    assert intent.limit_price is None and intent.stop_price is None and intent.quantity is None


def test_a_move_to_a_price_is_no_step():
    [intent] = read_request("move my limit up to 21", BROKERS)
    assert intent.kind is IntentKind.REPLACE and intent.limit_price == D(21) and intent.price_step is None


@pytest.mark.parametrize(("setup", "text", "expected"), [
    (["buy 20 shares of Nvidia on TradeSphere"], "do the same in Velocity, por favor",
     buy("NVDA", quantity=D(20), brokers=(VE,))),
    (["buy 12 shares of McDonald's on VelocityBrokers"], "also put cinco more of the McDonald's, same place",
     buy("MCD", quantity=D(5), brokers=(VE,))),
    (["buy 18 shares of Deere on VelocityBrokers", "what's the price of Caterpillar?"],
     "Buy the same number of shares of that one, on Velocity too.", buy("CAT", quantity=D(18), brokers=(VE,))),
])
def test_follow_ups_in_a_second_language_and_by_the_same_number(setup, text, expected):
    check(conversation_intent([*setup, text], BROKERS), expected)


@pytest.mark.parametrize(("message", "expected"), [
    ("fee? --broker ts --qty 100 --sym KO", kind(IntentKind.COST_COMPARISON, symbol_text="KO", quantity=D(100), brokers=(TS,))),
    ("Which of the two brokers executes the orders more quickly?", kind(IntentKind.COMPARE_BROKERS)),
    # a word the dictionary knows only through a loose suffix rule ('phiz' + 'er') is still a typo of a company
    ("Could you buy 30 shares of Phizer for me? Don't pay more than $24 a share.",
     buy("PFE", quantity=D(30), order_type="limit", limit_price=D(24))),
])
def test_a_cost_flag_a_speed_question_and_a_typo_near_a_word(message, expected):
    intents = read_request(message, BROKERS)
    assert len(intents) == 1, intents
    check(resolve_alone(intents[0]), expected)


@pytest.mark.parametrize(("message", "expected"), [
    # Spanish and Portuguese trade words mixed into English
    ("compra 5 micro soft on the fast one", [buy("MSFT", quantity=D(5), broker_choice="fastest")]),
    ("vende metade da minha sofi pls 🙏", [sell("SOFI", portion=D("0.5"))]),
    ("vende todo lo de target 🎯", [sell("TGT", portion=D(1))]),
    # a letter's greeting and signature name no broker; 'lmt 38.75 day' is a limit and a day order, not 38.75 days
    ("Hello there, I wish to buy twelve shares of Hershey Foods at the close of trading today. Warm regards, Betty",
     [buy("HSY", quantity=D(12), time_in_force="cls")]),
    ("sell 45 HAL lmt 38.75 day", [sell("HAL", quantity=D(45), order_type="limit", limit_price=D("38.75"))]),
    # a check at the end of an order ('..., correct?') is no broker called 'correct'
    ("Could you buy 8 shares of Chipotle at the open tomorrow on VelocityBrokers? And just so I understand it, that "
     "means it won't fill at all today, correct?", [buy("CMG", quantity=D(8), time_in_force="opg", brokers=(VE,))]),
    # a bracket set up with no side buys, its take profit and stop loss in different clauses
    ("Can you set up a bracket order for 10 shares of Coca-Cola on TradeSphere, with a take profit at $85 and a stop "
     "loss at $60? The entry would just be at market, is that right?",
     [buy("KO", quantity=D(10), brokers=(TS,), take_profit_price=D(85), stop_loss_price=D(60))]),
    # the one percent said beside a trailing stop is how far it trails; 'stopp' is stop
    ("I'd like a trailing stop on my AMD, 8 percent. How does that work exactly, does it move up as the price goes up?",
     [sell("AMD", portion=D(1), order_type="trailing_stop", trail_percent=D(8), time_in_force="gtc")]),
    ("trailing stopp 5% on AMD", [sell("AMD", portion=D(1), order_type="trailing_stop", trail_percent=D(5),
                                      time_in_force="gtc")]),
    ("stop limit on the cat, stop 300 limit 295, just for today",
     [sell("CAT", portion=D(1), order_type="stop_limit", stop_price=D(300), limit_price=D(295))]),
    # one price beside a stop loss is the stop, not a limit
    ("place a stop loss to sell 60 shares of Target at $50 on TradeSphere, good till cancelled",
     [sell("TGT", quantity=D(60), order_type="stop", stop_price=D(50), time_in_force="gtc", brokers=(TS,))]),
    # 'today' in a condition is when; 'keep it open until I cancel it' is how long
    ("Would it be possible to sell my Home Depot shares with a limit of $420? I don't want to let them go below that. "
     "If it doesn't fill today, keep it open until I cancel it.",
     [sell("HD", portion=D(1), order_type="limit", limit_price=D(420), time_in_force="gtc")]),
    # order-ticket lists: a side and timing said once at the head, ServiceNow's NOW on a ticket
    ("MOO buys: 100 AAL, 100 UAL, 50 LUV", [buy("AAL", quantity=D(100), time_in_force="opg"),
                                            buy("UAL", quantity=D(100), time_in_force="opg"),
                                            buy("LUV", quantity=D(50), time_in_force="opg")]),
    ("Buy 10 NOW w/ limit 650 and 30 WDAY at mkt, cheapest broker",
     [buy("NOW", quantity=D(10), order_type="limit", limit_price=D(650), broker_choice="cheapest"),
      buy("WDAY", quantity=D(30), broker_choice="cheapest")]),
    ("drop the HD GTC", [kind(IntentKind.CANCEL, symbol_text="HD")]),
    ("drop my limit to 40", [kind(IntentKind.REPLACE, limit_price=D(40))]),
    # questions: two in one sentence, a cost estimate in shorthand, quotes and an estimate said as instructions
    ("What's my portfolio worth overall right now, and how's my Home Depot doing?",
     [kind(IntentKind.TOTAL_VALUE), kind(IntentKind.PORTFOLIO, symbol_text="HD")]),
    ("where am I at overall? P&L across both", [kind(IntentKind.TOTAL_VALUE)]),
    ("est. all-in on 200 KO at TS incl comm?",
     [kind(IntentKind.COST_COMPARISON, symbol_text="KO", quantity=D(200), brokers=(TS,))]),
    ("quote CRWD and PANW, then estimate 10 CRWD on velocity. don't place anything",
     [kind(IntentKind.QUOTE, symbol_text="CRWD"), kind(IntentKind.QUOTE, symbol_text="PANW"),
      kind(IntentKind.COST_COMPARISON, symbol_text="CRWD", quantity=D(10), brokers=(VE,))]),
])
def test_what_the_fifth_blind_set_taught(message, expected):
    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        check(intent, want)


@pytest.mark.parametrize("message", ["sell 50 NOW", "buy and sell 10 AAPL", "My brother says I should buy Tesla",
                                     "the cat is on the mat"])
def test_what_the_fifth_set_did_not_loosen(message):
    """'NOW' alone is still 'now', a verb with nothing of its own still asks, advice reported is no order."""
    assert all(i.kind is not IntentKind.ORDER or i.symbol_text is None for i in map(resolve_alone, read_request(message, BROKERS)))


@pytest.mark.parametrize(("message", "expected"), [
    # a bracket's 'profit target' is its take-profit, never Target Corporation
    ("Buy 50 XOM limit 100, with OCO exits attached: profit target 125, stop 90.",
     [buy("XOM", quantity=D(50), order_type="limit", limit_price=D(100), take_profit_price=D(125), stop_loss_price=D(90))]),
    ("Cancel/replace the AAPL bid, move it up to 105.", [kind(IntentKind.REPLACE, symbol_text="AAPL", limit_price=D(105))]),
    ("change my velocity cisco order to a 32 limit",
     [kind(IntentKind.REPLACE, symbol_text="CSCO", limit_price=D(32), brokers=(VE,))]),
    ("Half our AT&T has to go, we're paying for the kitchen reno", [sell("T", portion=D("0.5"))]),
    ("what's Netflix doing today? we're selling 5 of ours regardless", [sell("NFLX", quantity=D(5))]),
    ("sell 20 Über limit 150", [sell("UBER", quantity=D(20), order_type="limit", limit_price=D(150))]),
    ("sell all the fizer and by 15 moderna", [sell("PFE", portion=D(1)), buy("MRNA", quantity=D(15))]),
    ("chnage my ford limit to 6 bucks", [kind(IntentKind.REPLACE, symbol_text="F", limit_price=D(6))]),
    ("how mnay home depot shares i got", [kind(IntentKind.PORTFOLIO, symbol_text="HD")]),
    ("My wife wants to buy 100 KeyCorp at a limit of 15, with a take profit at 20 and a stop loss at 12 so she can sleep "
     "at night.", [buy("KEY", quantity=D(100), order_type="limit", limit_price=D(15), take_profit_price=D(20),
                       stop_loss_price=D(12))]),
    ("Close out both positions, Oracle and Adobe.", [sell("ORCL", portion=D(1)), sell("ADBE", portion=D(1))]),
    ("trailing stop 2 dollars on sofi just for today",
     [sell("SOFI", portion=D(1), order_type="trailing_stop", trail_price=D(2))]),
    ("speed matters on this one. 60 PLTR at market", [buy("PLTR", quantity=D(60), broker_choice="fastest")]),
    ("Please cancel both of our open orders.", [kind(IntentKind.CANCEL, order_ref="both")]),
    # a move: the sell, then the same shares bought at the other broker
    ("sell 10 AAPL and buy them back on velocity", [sell("AAPL", quantity=D(10)), buy("AAPL", quantity=D(10), brokers=(VE,))]),
])
def test_what_the_sixth_blind_set_taught(message, expected):
    intents = [resolve_alone(i) for i in read_request(message, BROKERS)]
    assert len(intents) == len(expected), intents
    for intent, want in zip(intents, expected, strict=True):
        check(intent, want)


@pytest.mark.parametrize(("message", "refused"), [
    ("Buy 200 TSLA limit 180, GTC+EXT", "extended-hours"), ("buy 10 aapl in the pre-market", "extended-hours"),
    ("can I trade after hours?", "extended-hours"), ("buy 100 F AON limit 12", "all-or-none"),
    ("sell 50 KO fill or kill", "fill-or-kill"), ("buy 20 MSFT IOC limit 400", "immediate-or-cancel")])
def test_order_conditions_the_brokers_do_not_offer_are_refused(message, refused):
    [intent] = read_request(message, BROKERS)
    assert intent.kind is IntentKind.CLARIFY and refused in intent.question.lower() and "placed nothing" in intent.question


def test_aon_alone_is_aon_plc():
    [intent] = read_request("buy 10 AON", BROKERS)
    assert (intent.kind, intent.symbol_text, intent.quantity) == (IntentKind.ORDER, "AON", D(10))
