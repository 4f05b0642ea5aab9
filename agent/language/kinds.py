"""The decision of what one clause asks for: an order, a cancel, a question, a follow-up, or a question back.

`RECOGNIZERS` lists the kinds of request in the order they are tried; the first that claims the
clause decides. Each recognizer sees the clause's slots (what `slots.read_slots` found) and returns
an `Intent`, or None to let the next one try. The parser never guesses a trade: anything missing,
contradictory or out of range becomes a CLARIFY whose question names what is missing.

Choices made on ambiguous wording:
- a share count and a dollar amount together ("10 AAPL for $500"): the share count wins;
- "close", "exit", "liquidate", "flatten" with no size sells the whole position; "sell", "dump",
  "trim" with no size asks how many;
- "tomorrow" with no other timing is an at-the-open (opg) order;
- a bare number ("20") is not a resize: only "make it 20", "actually 20", "20 instead";
- a dollar amount put "in" or "into" a company with no verb ("1.5k in Microsoft") is a buy;
- a stop ("sell if it drops below 300") is read as a stop, never as a limit at that price.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from agent.language.companies import BROKERAGES, CompanyDirectory
from agent.language.english import is_dictionary_word
from agent.language.intent import BrokerRef, FollowUp, Intent, IntentKind
from agent.language.slots import Slots, Text, remainder, unknown_broker
from agent.language.vocabulary import (
    ADVICE,
    AMEND,
    BUY,
    CANCEL,
    CAPABILITY,
    COST_QUESTION,
    CRYPTO,
    FILLER,
    HELP,
    INFO_KINDS,
    LEAD,
    LIMIT_WORD,
    MARKET_HOURS,
    NEGATION,
    OPTIONS,
    ORDER_ID,
    ORDER_PART,
    PRONOUNS,
    QUANTITY,
    QUESTION_START,
    REPEAT,
    REPEAT_FILLER,
    REPLACE_VERB,
    RESIZE_FILLER,
    SELL,
    SHORT,
    THERE,
    UNSUPPORTED_CONDITIONS,
    split_words,
)

_IMPLIED_BUY = re.compile(
    r"\b(?:in|into)\s+(?:the\s+|some\s+)?(?:[a-z]+\s+){0,2}QZC[A-Z]\b|\$\s*\d[\d,.]*\s*(?:k\b)?\s*(?:worth\s+)?of\s+QZC[A-Z]\b"
    r"|^\s*(?:go\s+with|go\s+for|i'?ll\s+take|give\s+me|make\s+it|need|want|wanna)\b(?!\s+(?:to\s+)?(?:sell|know|see|check))"
    r"|\b(?:i|we)(?:'d|\s+would|\s+will|'ll)?\s+(?:really\s+|actually\s+|just\s+|also\s+)?(?:want|need|like|wanna|take"
    r"|wish\s+to\s+have)\b(?<!\bi\slike)(?<!\bwe\slike)"
    r"(?!\s+(?:to\s+)?(?:sell|know|see|check|ask|understand|look))", re.I)
# A dollar amount right before a company ("$5k NVDA", "2 grand XOM", "$1k each MNST") or a stock in a share count
_DOLLARS_OF = re.compile(r"(?:^|[,:;]\s*)\$\s*\d[\d,.]*\s*(?:k\b)?\s*(?:each\s*:?\s*)?(?:worth\s+)?(?:of\s+)?qzc[a-z]\b"
                         r"|^\s*\d[\d,.]*\s*(?:k|grand|dollars?|bucks)\s+(?:each\s+)?(?:worth\s+)?(?:of\s+)?qzc[a-z]\b", re.I)
# An order with no verb in trader shorthand ("50 AMD mkt", "$5k NVDA"): the side a broker assumes is a buy
_ORDER_WORDS = re.compile(r"\b(?:mkt|market|lmt|limit|gtc|day|moo|moc|opg|ioc|send\s+it)\b|@", re.I)
_THAT_BROKER = re.compile(r"\b(?:that|this|the\s+same|same)\s+(?:broker|brokerage|platform|account|venue|place)\b|\bthat\s+one\b"
                          rf"|{THERE.pattern}", re.I)
_OF_THAT_CASH = re.compile(r"\b(?:of|from)\s+(?:that|it|this|the\s+cash|my\s+cash|what\s+i\s+have)\b", re.I)
EVERYTHING = re.compile(
    r"\b(?:everything(?!\s+(?:(?:that\s+)?(?:i|we)\s+(?:have|own|hold|got)\s+)?(?:of|in)\s+(?:it|that|this|them|those|qzc[a-z])\b)|all\s+(?:of\s+)?(?:my|the|our)\s+(?:positions|stocks|shares|holdings|investments)|all\s+positions"
    r"|every\s+(?:position|stock|holding)|all\s+(?:that\s+|what\s+)?(?:i|we)\s+(?:own|hold|have)|(?:my|the)\s+(?:whole|entire)"
    r"\s+(?:portfolio|book|account)|all\s+out|flatten\s*$)", re.I)
_SAME_SIZE = re.compile(r"\b(?:the\s+)?same\s+(?:dollar\s+|share\s+)?(?:number|amount|quantity|count|size|figure)\b", re.I)
_THOSE_SHARES = re.compile(r"\b(?:the|my)\s+(?:qzc[a-z]\s+)?(?:shares|stocks?|position)\s+(?:that\s+)?(?:i|we)\s+"
                           r"(?:bought|have|own|hold|got)\b", re.I)
_ORDINAL = re.compile(r"\b(?:the\s+)?(?P<n>first|second|third|last|former|latter|1st|2nd|3rd)(?:\s+(?:one|stock|company|of\s+them))?$"
                      r"|^(?:the\s+)?(?P<m>first|second|third|last|former|latter|1st|2nd|3rd)\s+one\b")
_DESCRIBED = re.compile(r"(?:^|\bof\s+)(?:the\s+)?(?!(?:this|that|which|same|right|new|next|only|big|good|cheap\w*|fast\w*"
                        r"|quick\w*|expensive|discount|like|love|want)\s)(?P<w>[a-z][\w&'.-]{2,})\s+one$")
_ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "former": "first", "latter": "last"}
_ORDER_NOUN = re.compile(r"\b(?:orders?|trades?|limits?|stops?|bids?|offers?|buys?|sells?|purchases?|open|pending|working"
                         r"|queued|outstanding|waiting)\b", re.I)
_FEES = re.compile(r"\b(?:commissions?|comms?|fees?|charges?)\b", re.I)
# a verbless "100 Ford on Velocity" is a buy, but not inside a question about what it costs
_ASKS_COST = re.compile(r"\b(?:commissions?|comms?|fees?|costs?|charges?|how\s+much|price\s+of|estimate\w*)\b", re.I)
# "sell my pepsi", "sell my shares": the position the person holds, all of it
_MY_STOCK = re.compile(r"\bsell(?:ing)?\s+(?:off\s+)?(?:my|our)\s+(?:qzc[a-z](?:\s+(?:shares|stock|position))?|shares|stock|position)\b"
                       r"(?!\s+(?:of|in)\b)", re.I)
_LIKE_THE_LAST = re.compile(r"\b(?:too|also|as\s+well)\b|\bsame\s+(?:venue|broker|brokerage|place|account|platform)\b", re.I)
_MORE = re.compile(r"\b(?:more|another|extra|additional|again)\b", re.I)
_SAME_ORDER = re.compile(r"\b(?:do|place|make|repeat)\s+(?:the\s+)?same(?:\s+(?:thing|order|trade))?\b|\bsame\s+(?:again|thing|order|trade)\b"
                         r"|\brepeat\s+(?:that|it|the\s+(?:last\s+)?order)\b|\b(?:the\s+)?same\s+(?:for|with)\s+qzc[a-z]\b"
                         r"|^\s*(?:(?:now|and|ok|okay|also)\s+)?do\s+qzc[a-z]\b(?:\s+(?:too|also|as\s+well|now|next))?\s*[.!]?\s*$"
                         r"|^\s*(?:(?:now|and|ok|okay|also)\s+)?qzc[a-z]\s+(?:too|as\s+well)\s*[.!]?\s*$", re.I)
_DOUBLE = re.compile(r"\bdouble\s+(?:it|that|this|down|up|my\s+(?:position|stake|order)|(?:the\s+|my\s+)?qzc[a-z])\b", re.I)


def clarify(question: str) -> Intent:
    return Intent(kind=IntentKind.CLARIFY, question=question)


def names(brokers: Sequence[BrokerRef]) -> str:
    listed = [b.name for b in brokers]
    return " and ".join(listed) if len(listed) < 3 else ", ".join(listed[:-1]) + f" and {listed[-1]}"


def shown(value: Decimal) -> str:
    return format(value, "f") if value == value.to_integral_value() or abs(value) >= 1 else str(value)


@dataclass
class Clause:
    """One clause being decided: its words, its slots, the brokers, and how it was typed."""

    message: str
    slots: Slots
    brokers: Sequence[BrokerRef]
    directory: CompanyDirectory
    shouting: bool

    @property
    def lead(self) -> str:
        return LEAD.sub("", self.slots.cls)

    @property
    def asking(self) -> bool:
        return bool(QUESTION_START.match(self.lead))

    @property
    def has_size(self) -> bool:
        return bool(self.slots.quantities or self.slots.notionals)


@dataclass(frozen=True)
class Stock:
    """The stock a clause names: its ticker or typed name, and how it was found."""

    symbol: str | None = None
    company: str | None = None
    typed: str | None = None
    """What was typed, when it was a typo of `company`."""
    pronoun: bool = False
    ordinal: str | None = None
    """'the first one', 'the second', 'the last one': which of the stocks just discussed."""
    several: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    """Close calls between companies for a misspelt name: ask which."""

    @property
    def shown(self) -> str | None:
        """How a question back names it: 'Apple Inc. (AAPL)', or the name as typed."""
        return f"{self.company} ({self.symbol})" if self.company and self.symbol else self.symbol


_CHAT = frozenset(["changed", "mind", "bet", "lit", "fam", "bruh", "aight", "ight", "k", "kk", "sweet", "nice", "perfect", "awesome", "cool", "wow", "huh", "lemme", "gimme", "gonna", "wanna", "gotta", "tbh", "ngl", "lol", "idk", "imo", "btw", "fyi", "kinda", "sorta", "yall", "ya", "yo", "dude", "bro", "hey", "hi", "hello", "i", "i'm", "im", "i'd", "i'll", "i've", "me", "my", "mine", "we", "you", "your", "yours", "he", "she", "they", "it's", "its", "that's", "thats", "this", "those", "these", "there", "here", "like", "would", "could", "should", "will", "shall", "can", "may", "might", "must", "do", "does", "did", "done", "doing", "go", "going", "went", "get", "got", "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "having", "think", "thought", "know", "guess", "hope", "maybe", "perhaps", "really", "very", "just", "fine", "good", "great", "ok", "okay", "alright", "sure", "yes", "yeah", "yep", "nope", "hmm", "um", "uh", "oh", "ah", "well", "so", "anyway", "also", "too", "then", "than", "please", "pls", "plz", "thanks", "thank", "thx", "ty", "kindly", "sir", "madam", "buddy", "mate", "dear", "friend", "lol", "haha", "ha", "of", "for", "to", "in", "on", "at", "with", "from", "by", "about", "into", "onto", "over", "under", "up", "down", "out", "off", "again", "more", "most", "some", "any", "all", "and", "or", "but", "if", "because", "since", "while", "when", "what", "which", "who", "how", "why", "where"])


def stock(clause: Clause, filler: frozenset[str]) -> Stock:
    """The stock of a clause: a company found in it, else what is left of its words, with typos resolved."""
    found = list(dict.fromkeys(m.company for m in clause.slots.companies))
    if len(found) > 1:
        return Stock(several=tuple(c.symbol for c in found))
    if found:
        classes = clause.directory.classes_of(clause.slots.companies[0], clause.shouting)
        if classes:  # "100 shares of Fox": Class A (FOXA) or Class B (FOX)?
            return Stock(candidates=tuple(f"{c.name} ({c.symbol})" for c in classes))
        typo = next((m.typed for m in clause.slots.companies if m.fuzzy), None)  # "I read 'qualcom' as QUALCOMM"
        return Stock(found[0].symbol, found[0].name, typed=typo)
    left = remainder(clause.slots.rest, filler, clause.shouting)
    if left is None:
        return Stock()
    tokens = left.split()
    # with the companies the directory knows found by the scan, inner filler is chat, not part of a name
    words = [t for t in tokens if t.strip("?!,;:\"().").lower() not in filler | _CHAT]
    if not words:
        return Stock()  # only chat ("alright,"): the stock was not named
    caps = not clause.shouting and any(t.isupper() and len(t) > 1 for t in words)
    said = " ".join(t.strip("?!,;:\"().").lower() for t in tokens)
    ordinal = _ORDINAL.search(said)
    if ordinal and not caps:
        word = ordinal["n"] or ordinal["m"]
        return Stock(pronoun=True, ordinal=_ORDINALS.get(word, word))
    described = _DESCRIBED.search(said)
    if described and not caps and not clause.directory.is_name(described["w"]):
        word = described["w"]  # "the other one"; "the vanguard one": the one of those just discussed it describes
        return Stock(pronoun=True, ordinal="other" if word == "other" else f"named:{word}")
    if re.fullmatch(r"(?:(?:of|all\s+of)\s+)?(?:them\s+)?both(?:\s+of\s+them)?", said) or (
            not caps and re.search(r"\bboth\s+of\s+(?:them|those|these)\b|\b(?:them|those|these)\s+both\b", said)):
        return Stock(pronoun=True, ordinal="both")  # "sell half of both": the two stocks just discussed
    if re.fullmatch(r"(?:(?:i\s+)?(?:like|love|want)\s+)?(?:(?:this|that|the)\s+)?one", " ".join(words).lower().strip("?!,;:\"(). ")):
        return Stock(pronoun=True)  # "I like this one"
    if all(t.strip("?!,;:\"().").lower() in PRONOUNS for t in words) and not caps:
        return Stock(pronoun=True)
    if any(t.strip("?!,;:\"().").lower() in PRONOUNS for t in words) and len(words) > 1 and not caps and not any(
            clause.directory.closest(t.strip("?!,;:\"().")) [0] for t in words if len(t) >= 5):
        return Stock(pronoun=True)  # "that's fine, I'd like 3 of them"
    left = " ".join(t.strip("?!,;:\"()") for t in words)
    tokens = left.split()
    if clause.directory.is_name(left) or re.fullmatch(r"[A-Z]{1,5}(?:\.[A-Z])?", left):
        return Stock(left)
    # English words are what the person meant ("starting over", "the same number"), never a misspelt Dover or Uber
    best, close = (None, []) if all(is_dictionary_word(t.lower()) for t in tokens) else clause.directory.closest(left)
    if len(tokens) > 5 and best is None:
        close = []
    if best is None and not close and len(tokens) > 1:
        # a typo inside other words ("pls get me 5 netflx shares asap"): one clear word only
        # ...and only among plain words: "Zorblax Quantum Corp" is a name we do not know, not a typo of Quanta
        hits = [(t, clause.directory.closest(t)[0]) for t in tokens
                if len(t) >= 5 and t.lower() not in filler and not is_dictionary_word(t.lower())]
        clear = {c.symbol: (t, c) for t, c in hits if c is not None}
        if len(clear) == 1:
            typo, company = next(iter(clear.values()))
            others = [t for t in tokens if t != typo]
            if all(t.lower() in filler | _CHAT or (t.islower() and not clause.shouting) for t in others):
                best = company
    if best is not None:
        return Stock(best.symbol, best.name, typed=left)
    if close:
        return Stock(candidates=tuple(f"{c.name} ({c.symbol})" for c in close))
    if len(tokens) > 3:
        return Stock()  # a sentence, not a company name: ask which stock rather than look up a phrase
    return Stock(left)


def _size_problem(slots: Slots, what: str, side: str) -> str | None:
    """Why the stated size, price or timing cannot be used as it is, as a question back; None when it is fine."""
    one_at_a_time = f"which stock and how many shares should I {side}?"
    if slots.quantities and slots.notionals and not slots.notional_is_total:
        return (f"Do you mean {shown(slots.quantities[0])} shares or ${shown(slots.notionals[0])} worth of {what}? "
                "Tell me one of the two.")
    if len(set(slots.quantities)) > 1:
        return f"I saw more than one share count ({' and '.join(map(shown, slots.quantities))}): {one_at_a_time}"
    for label, values in (("limit price", slots.limit_prices), ("dollar amount", slots.notionals),
                          ("stop price", slots.stop_prices)):
        if len(set(values)) > 1:
            return f"I saw more than one {label} ({' and '.join(map(shown, values))}). Which one do you mean for {what}?"
    for label, value in (("quantity", next(iter(slots.quantities), None)), ("dollar amount", slots.notional),
                         ("limit price", slots.limit_price), ("portion", slots.portion)):
        if value is not None and value <= 0:
            return (f"The {label} has to be more than zero, and {shown(value)} is not. "
                    f"How many shares of {what} do you want to {side}?")
    if slots.portion is not None and slots.portion > 1:
        return f"You can sell at most all of your {what} (100%). How much of it do you want to sell?"
    stop = _stop_problem(slots, what, side)
    if stop:
        return stop
    if slots.limit_without_price:
        if what.startswith("the ") or side == "trade":  # a change to a working order: "the F order"
            return f"What limit price do you want for {what}?"
        return f"What limit price do you want for the {what} {side} order?"
    if slots.tif_conflict:
        return f"When should the {what} order run: at the open, at the close, today only, or good till cancelled?"
    return None


def _stop_problem(slots: Slots, what: str, side: str) -> str | None:
    """Why a stop, trailing stop or bracket as said cannot be placed as it is; None when it can (or none was said)."""
    if len(set(slots.take_profit_prices)) > 1:
        listed = " and ".join(map(shown, slots.take_profit_prices))
        return f"I saw more than one take-profit price ({listed}). Which one do you mean for {what}?"
    if slots.trailing:
        if slots.trail_percent is None and slots.trail_price is None:
            return f"By how much should the trailing stop on {what} trail: a percent (say 'trail 5%') or dollars ('trail $2')?"
        if slots.trail_percent is not None and slots.trail_price is not None:
            return f"Should the trailing stop on {what} trail by {shown(slots.trail_percent)}% or by ${shown(slots.trail_price)}?"
        return None
    if side == "buy" and slots.take_profit_prices and not slots.stop_prices:
        return (f"A bracket on {what} needs a stop-loss price as well as the take-profit at "
                f"{shown(slots.take_profit_prices[0])}. What stop-loss price do you want?")
    if side == "buy" and slots.stop_loss and slots.stop_prices and not slots.take_profit_prices:
        return (f"A stop-loss at {shown(slots.stop_prices[0])} on a new buy of {what} needs a take-profit price too (a "
                "bracket), or buy first and set the stop once you hold the shares. What take-profit price do you want?")
    if side == "sell" and slots.take_profit_prices and slots.stop_prices:
        return (f"On {what} you already hold I can place one exit at a time: the stop at {shown(slots.stop_prices[0])} or a "
                f"limit sell at {shown(slots.take_profit_prices[0])}. Which one do you want first?")
    if slots.stop_words and not slots.stop_prices:
        return f"At what price should the stop on {what} trigger?"
    return None


def order_fields(slots: Slots) -> dict:
    """The order an intent carries: size, type and its prices, timing and routing."""
    quantity = next(iter(slots.quantities), None)
    notional = slots.notional if quantity is None else None  # a share count wins over a dollar amount
    portion = slots.portion if quantity is None and notional is None else None
    stop = slots.stop_prices[0] if slots.stop_prices else None
    take_profit = slots.take_profit_prices[0] if slots.take_profit_prices else None
    prices: dict = {"limit_price": slots.limit_price}
    if slots.trail_percent is not None or slots.trail_price is not None:
        prices |= {"order_type": "trailing_stop", "trail_percent": slots.trail_percent, "trail_price": slots.trail_price,
                   "limit_price": None}
    elif take_profit is not None and stop is not None:  # a bracket: the entry with both exits
        prices |= {"order_type": "limit" if slots.limit_price is not None else "market",
                   "take_profit_price": take_profit, "stop_loss_price": stop}
    elif stop is not None:
        prices |= {"order_type": "stop_limit" if slots.limit_price is not None else "stop", "stop_price": stop}
    elif take_profit is not None:  # "take profit at 250" on shares held: a limit sell there
        prices |= {"order_type": "limit", "limit_price": take_profit}
    else:
        prices["order_type"] = "limit" if slots.limit_price is not None else "market"
    protective = prices["order_type"] in ("stop", "stop_limit", "trailing_stop") and not slots.buy
    if (protective or (take_profit is not None and stop is None and not slots.buy)) and quantity is None and (
            notional is None and portion is None):
        portion = Decimal(1)  # "a stop loss on my Apple at 200" protects the whole position
    return {"quantity": quantity, "notional": notional, "portion": portion, **prices,
            # a protective stop stays working until cancelled unless a time was said
            "time_in_force": slots.tif or ("gtc" if protective else "day"), "tif_stated": slots.tif is not None,
            "brokers": slots.brokers, "broker_choice": slots.broker_choice}


def _broker_problem(clause: Clause, kind: IntentKind) -> str | None:
    slots, brokers = clause.slots, clause.brokers
    unknown = unknown_broker(slots.rest, kind)
    if unknown and (not clause.directory.is_name(unknown) or clause.directory.symbol_of(unknown) in BROKERAGES):
        return f"I don't know a broker called {unknown!r}. Your brokers are {names(brokers)}: which one should I use?"
    if kind is not IntentKind.ORDER or len(slots.brokers) < 2:
        return None
    which = f"Which broker should I use: {' or '.join(b.name for b in brokers if b.id in slots.brokers)}?"
    # "the cheaper of A and B" among more brokers: the planner can only choose among all of them
    if slots.broker_choice in ("cheapest", "fastest") and len(slots.brokers) < len(brokers):
        return which
    if slots.broker_choice is None and re.search(r"\bor\b", slots.cls):
        return which
    if slots.broker_choice is None and not re.search(r"\b(?:and|both|each|plus|also|too)\b|&", clause.message, re.I):
        return which  # "on velocity ... tradesphere" with no "and": one of them was meant, ask which
    return None


def _broker_ref(clause: Clause) -> str | None:
    if clause.slots.brokers or clause.slots.broker_choice or clause.slots.other_broker:
        return None
    if clause.slots.same_broker_as:
        return f"as:{clause.slots.same_broker_as}"
    if _OF_THAT_CASH.search(clause.slots.cls) and clause.slots.notionals:
        return "cash"
    return "answer" if _THAT_BROKER.search(clause.slots.cls) else None


def _side(clause: Clause) -> str | None:
    slots = clause.slots
    if slots.hypothetical and not (slots.buy or slots.sell):
        return None
    if slots.buy and slots.sell:
        return "both"
    if slots.buy or slots.sell:
        return "buy" if slots.buy else "sell"
    if slots.companies and slots.take_profit_prices and slots.stop_prices and (slots.quantities or slots.notionals):
        return "buy"  # "20 arista limit 135, take profit 160, stop 125": a bracket's entry
    named = slots.companies or re.search(r"\b(?:it|them|those|these|that|this)\b", slots.cls)
    if named and (slots.stop_loss or slots.trailing or slots.stop_prices or slots.take_profit_prices) and not (
            clause.asking and not _IMPLIED_BUY.search(slots.cls)):
        return "sell"  # "stop loss on my apple at 200", "trailing stop 5% HIMS": an exit for shares held
    if (slots.notionals or slots.quantities) and slots.companies and _IMPLIED_BUY.search(slots.cls):
        return "buy"  # "1.5k in Microsoft", "put two grand in Visa", "go with that broker for 15 Pfizer"
    asks_cost = _ASKS_COST.search(slots.cls) and re.search(r"\?|\b(?:how|what|which|estimate\w*|quote)\b", clause.message, re.I)
    if slots.companies and not clause.asking and not asks_cost and (_DOLLARS_OF.search(slots.cls) or (
            (slots.quantities or slots.notionals) and (_ORDER_WORDS.search(clause.message) or slots.limit_prices or slots.tif))):
        return "buy"  # "$5k NVDA mkt", "2 grand XOM", "50 AMD mkt velo"
    return None


def _order(clause: Clause) -> Intent | None:
    side = _side(clause)
    if _DOUBLE.search(clause.slots.cls) and not clause.has_size and not clause.asking and side in (None, "buy"):
        found = stock(clause, FILLER[IntentKind.ORDER])
        return Intent(kind=IntentKind.ORDER, side="buy", symbol_text=found.symbol, company=found.company,
                      refers=None if found.symbol else found.ordinal or "pronoun", size_ref="same", broker_ref="there",
                      brokers=clause.slots.brokers)
    if side is None and clause.slots.quantities and _MORE.search(clause.slots.cls) and not clause.slots.companies \
            and not clause.asking and not clause.slots.notionals:
        return Intent(kind=IntentKind.ORDER, refers="missing", **order_fields(clause.slots))  # "5 more": as the last order
    if side is None and _SAME_SIZE.search(clause.slots.cls) and clause.slots.companies and not clause.asking:
        found = stock(clause, FILLER[IntentKind.ORDER])  # "also the same quantity of Morgan Stanley": as the last order
        return Intent(kind=IntentKind.ORDER, symbol_text=found.symbol, company=found.company, size_ref="same",
                      broker_ref=_broker_ref(clause), **order_fields(clause.slots))
    said = clause.slots.buy or clause.slots.sell
    if side is None or (clause.asking and said):  # "what happens if I buy 10 AAPL?" is a question
        return None
    if clause.asking and not _IMPLIED_BUY.search(clause.slots.cls):
        return None
    slots = clause.slots
    if side == "both":
        return clarify("You asked to both buy and sell in one breath: do you want to buy or to sell, and what?")
    same_size = bool(_SAME_SIZE.search(slots.cls)) and not (slots.quantities or slots.notionals)
    # "the same number of shares of that one": the size words are no part of the stock's name
    found = stock(clause, FILLER[IntentKind.ORDER] | (REPEAT_FILLER if same_size else frozenset()))
    what = found.shown or "the stock"
    problem = _size_problem(slots, what, side) or _broker_problem(clause, IntentKind.ORDER)
    if problem:
        return clarify(problem)
    if found.several:
        return clarify(f"Which one stock do you mean: {' or '.join(found.several)}? Say how many of each, for example "
                       f"'buy 10 {found.several[0]} and 5 {found.several[1]}'.")
    if found.candidates:
        return clarify(f"Which company do you mean: {', '.join(found.candidates)}?")
    order = order_fields(slots)
    if side == "sell" and not slots.companies and not slots.quantities and not slots.notionals and (
            EVERYTHING.search(slots.cls)):
        return Intent(kind=IntentKind.ORDER, side="sell", refers="everything", portion=Decimal(1),
                      brokers=slots.brokers, broker_choice=slots.broker_choice, time_in_force=slots.tif or "day")
    if found.pronoun or found.symbol is None:
        refers = found.ordinal or ("pronoun" if found.pronoun else "missing")
        follow = FollowUp.REVERSE if found.pronoun and not found.ordinal and not _MORE.search(slots.cls) else FollowUp.NONE
        return Intent(kind=IntentKind.ORDER, side=side, follow_up=follow, other_broker=slots.other_broker,
                      refers=refers, broker_ref=_broker_ref(clause), size_ref="same" if same_size else None, **order)
    if slots.other_broker:
        return Intent(kind=IntentKind.ORDER, side=side, symbol_text=found.symbol, company=found.company,
                      understood_from=found.typed, follow_up=FollowUp.REPEAT_ON, other_broker=True,
                      **order | {"brokers": ()})
    if order["portion"] is not None and side == "buy":
        return clarify(f"How many shares of {what} do you want to buy, or what dollar amount? "
                       "'All' or 'half' only applies to selling what you hold.")
    if _SAME_SIZE.search(slots.cls) and order["quantity"] is None and order["notional"] is None:
        return Intent(kind=IntentKind.ORDER, side=side, symbol_text=found.symbol, company=found.company,
                      understood_from=found.typed, size_ref="same", broker_ref=_broker_ref(clause), **order)
    if order["quantity"] is None and order["notional"] is None and order["portion"] is None:
        if side == "sell" and (slots.closing or _THOSE_SHARES.search(slots.cls) or _MY_STOCK.search(slots.cls)):
            order["portion"] = Decimal(1)  # "close my Tesla position" means all of it
        elif side == "sell" and (order["order_type"] in ("stop", "stop_limit", "trailing_stop") or slots.take_profit_prices):
            order["portion"] = Decimal(1)  # "a stop loss on my Apple at 200" protects the whole position
        elif side == "sell":
            return clarify(f"How many shares of {what} do you want to sell? You can also say 'all' or 'half'.")
        else:
            return clarify(f"How many shares of {what} do you want to buy, or what dollar amount?")
    return Intent(kind=IntentKind.ORDER, side=side, symbol_text=found.symbol, company=found.company,
                  understood_from=found.typed, broker_ref=_broker_ref(clause), **order)


def _cancel(clause: Clause) -> Intent | None:
    slots = clause.slots
    if not CANCEL.search(slots.cls):
        return None
    problem = _broker_problem(clause, IntentKind.CANCEL)
    if problem:
        return clarify(problem)
    text = Text(slots.with_amounts)
    ids = text.take(ORDER_ID)
    everything = re.search(r"\b(?:all|every|everything|each)\b", slots.cls)
    both = not slots.companies and re.search(r"\bboth\b(?:\s+(?:of\s+)?(?:my|the|those|these)?\s*(?:\w+\s+)?orders?)?", slots.cls)
    # "cancel both of our open orders": the two working orders (the planner checks there are two)
    ref = (ids[0]["ref"] or ids[0]["bare"]) if ids else "all" if everything else "both" if both else None
    everything = everything or both
    symbol, left = None, None
    if not ids:
        found = list(dict.fromkeys(m.company.symbol for m in slots.companies))
        if found:
            symbol = found[0] if len(found) == 1 else None
        else:
            for pattern in (BUY, SELL, LIMIT_WORD, QUANTITY):
                text.take(pattern)
            left = remainder(text.s, FILLER[IntentKind.CANCEL], clause.shouting)
            symbol = _known_stock(clause, left)
    side = "buy" if re.search(r"\bbuy\b", slots.cls) else "sell" if re.search(r"\bsell\b", slots.cls) else None
    verb = CANCEL.search(slots.cls)
    after = slots.cls[verb.start():] if verb else slots.cls  # "that we cancel some subscriptions": "that" is no order
    pronoun = not ids and not symbol and not everything and re.search(r"\b(?:it|that|this|them|those|one)\b", after)
    if left and not (ids or symbol or slots.companies or everything or pronoun or _ORDER_NOUN.search(slots.cls)):
        return None  # "we cancel some of the streaming subscriptions": a story, not an order to cancel
    return Intent(kind=IntentKind.CANCEL, side=side, symbol_text=symbol, order_ref=ref, brokers=slots.brokers,
                  broker_choice="all" if slots.broker_choice == "all" else None,
                  refers="pronoun" if pronoun else None)


def cancels(clause: Clause) -> bool:
    """Whether the clause asks to cancel an order (not "we cancel some of the streaming subscriptions")."""
    return _cancel(clause) is not None


def _known_stock(clause: Clause, left: str | None) -> str | None:
    """A stock named in the leftover words of a cancel, only when it is one ("the home depo order"), never chat."""
    if not left:
        return None
    if re.fullmatch(r"\$?[A-Z]{1,5}(?:\.[A-Z])?", left) and not clause.shouting:
        return left.lstrip("$")
    exact = clause.directory.symbol_of(left)
    if exact:
        return exact
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z&'.-]+", left) if w.lower() not in FILLER[IntentKind.CANCEL]]
    for phrase in (" ".join(words), *words):
        if len(phrase) < 4 or all(is_dictionary_word(w.lower()) for w in phrase.split()):
            continue  # "I'm starting over" is no misspelt Dover
        best, _close = clause.directory.closest(phrase)
        if best is not None:
            return best.symbol
    return None


def _cost(clause: Clause) -> Intent:
    slots = clause.slots
    side = "sell" if slots.sell and not slots.buy else "buy"
    found = stock(clause, FILLER[IntentKind.COST_COMPARISON])
    problem = (_size_problem(slots, found.shown or "the stock", side)
               or _broker_problem(clause, IntentKind.COST_COMPARISON))
    if problem:
        return clarify(problem)
    order = order_fields(slots)
    if found.symbol is None and order["quantity"] is not None and (_FEES.search(slots.cls) or re.search(
            r"\b(?:cheap\w*|expensive|costs?)\b", slots.cls)):
        # "comm on 500 sh velo vs ts?": a commission depends on the share count, not the stock
        return Intent(kind=IntentKind.COST_COMPARISON, side=side, quantity=order["quantity"], brokers=slots.brokers)
    if found.symbol is None:
        return clarify("Which stock should I price, and how many shares? "
                       "For example: 'which broker is cheaper for 200 AMZN?'")
    if order["quantity"] is None and order["notional"] is None:
        return clarify(f"How many shares of {found.shown} (or what dollar amount) should I price on each broker?")
    return Intent(kind=IntentKind.COST_COMPARISON, side=side, symbol_text=found.symbol, company=found.company,
                  understood_from=found.typed, **order)


def _cost_question(clause: Clause) -> Intent | None:
    """'which broker is cheaper to buy 200 AMZN?': an estimate on every broker, no order."""
    if not COST_QUESTION.search(clause.slots.cls):
        return None
    if not (clause.has_size or clause.slots.companies):
        return None
    return _cost(clause)


def _info(kind: IntentKind, clause: Clause) -> Intent:
    problem = _broker_problem(clause, kind)
    if problem:
        return clarify(problem)
    found = stock(clause, FILLER[kind]) if kind in FILLER else Stock()
    if kind in (IntentKind.ORDERS, IntentKind.PORTFOLIO) and not clause.slots.companies:
        found = Stock()  # "any orders which are still waiting to be filled?": no stock was named
    symbol = found.symbol
    if found.several and kind is IntentKind.QUOTE:
        symbol = found.several[0]
    if kind is IntentKind.QUOTE and (symbol is None or len(symbol.split()) > 5):
        if found.pronoun:
            return Intent(kind=kind, refers="pronoun")
        if found.candidates:
            return clarify(f"Which company do you mean: {', '.join(found.candidates)}?")
        return clarify("Which stock do you want a quote for? For example: 'what is Apple trading at?'")
    choice = "all" if clause.slots.broker_choice == "all" else clause.slots.broker_choice
    return Intent(kind=kind, symbol_text=symbol, company=found.company, understood_from=found.typed,
                  brokers=clause.slots.brokers, broker_choice=choice)


def _which_broker(clause: Clause) -> Intent | None:
    """'which broker fills faster?', 'which one charges less in fees?': the answer is a broker."""
    slots = clause.slots
    if slots.broker_choice not in ("fastest", "cheapest") or slots.companies or clause.has_size:
        return None
    if not (clause.asking or re.search(r"\b(?:which|what|who)\b|\?", clause.message, re.I)):
        return None
    return Intent(kind=IntentKind.COMPARE_BROKERS, broker_choice=slots.broker_choice, brokers=slots.brokers)


_CAN_I = re.compile(r"^(?:can|could|may|do|does|is|are|will|would)\b|\?\s*$|\b(?:can|could)\s+(?:i|we|you)\b", re.I)


def _market_hours(clause: Clause) -> Intent | None:
    """'is the market open?', 'what time does the market close today': the market clock from a broker."""
    if not MARKET_HOURS.search(clause.message) or clause.has_size or clause.slots.companies:
        return None
    return Intent(kind=IntentKind.MARKET, brokers=clause.slots.brokers)


def _capability(clause: Clause) -> Intent | None:
    """'can I buy fractional shares on Velocity?', 'what order types can I use?': what the brokers allow, no order
    (a share count or a dollar amount makes it an order: "buy $50 of fractional Apple")."""
    if not CAPABILITY.search(clause.message) or clause.has_size or clause.slots.companies:
        return None
    if not (clause.asking or _CAN_I.search(clause.message)):
        return None
    return Intent(kind=IntentKind.COMPARE_BROKERS, brokers=clause.slots.brokers)


def _question(clause: Clause) -> Intent | None:
    kind = next((k for k, pattern in INFO_KINDS if pattern.search(clause.slots.cls)), None)
    return _info(kind, clause) if kind else None


def _asked_cost(clause: Clause) -> Intent | None:
    """'what happens if I buy 10 AAPL?': an estimate, not an order."""
    return _cost(clause) if clause.asking and (clause.slots.buy or clause.slots.sell) and clause.has_size else None


def _about_a_broker(clause: Clause) -> Intent | None:
    """'tell me about Velocity'."""
    return _info(IntentKind.COMPARE_BROKERS, clause) if clause.asking and clause.slots.brokers else None


def _short(clause: Clause) -> Intent | None:
    if SHORT.search(clause.lead):
        return clarify("Short selling is not supported: you can sell shares you hold. "
                       "Which stock and how many shares do you want to sell?")
    securities = [m for m in clause.slots.companies if not CRYPTO.fullmatch(m.typed)]  # "IBIT", not "bitcoin"
    if CRYPTO.search(clause.message) and not securities and (clause.slots.buy or clause.slots.sell or clause.has_size):
        return clarify("Cryptocurrencies are not supported: these brokers trade stocks and ETFs only, so I placed nothing. "
                       "A bitcoin or ether ETF trades like a stock: say, for example, 'buy $200 of IBIT' if you want one.")
    # "buy 100 F AON limit 12": AON beside another stock is all-or-none ("buy 10 AON" alone is Aon plc)
    all_or_none = bool(re.search(r"(?<!\$)\bAON\b", clause.message)) and any(
        m.company.symbol != "AON" for m in clause.slots.companies)
    for condition, pattern in UNSUPPORTED_CONDITIONS:
        said = pattern.search(clause.message) or (all_or_none and condition.startswith("all-or-none"))
        if said and (clause.slots.buy or clause.slots.sell or clause.has_size or clause.asking
                     or re.search(r"\b(?:trade|trading|order|orders)\b", clause.message, re.I)):
            return clarify(f"{condition[0].upper()}{condition[1:]} {'is' if condition.endswith('trading') else 'are'} not "
                           "offered here, so I placed nothing: orders work in regular market hours (9:30 to 16:00 New "
                           "York time) as day, good-till-cancelled, at-the-open or at-the-close orders. Say the order "
                           "again without it if a regular order is what you want.")
    if OPTIONS.search(clause.message) and (clause.slots.buy or clause.slots.sell or clause.has_size):
        return clarify("Options are not supported: these brokers trade stocks and ETFs only, so I placed nothing. "
                       "Do you want shares instead, for example 'buy 10 AAPL'?")
    return None


def _resize(clause: Clause) -> Intent | None:
    """'make it 20', 'actually 50 shares', 'change that to $1,000', 'make it a limit at 180': change the last order."""
    slots = clause.slots
    if not AMEND.search(slots.cls) or slots.buy or slots.sell or slots.companies:
        return None
    if re.search(r"\d\s+more\b", slots.with_amounts) and not re.search(r"\b(?:make|change|set|update)\b", slots.cls):
        return None  # "ok 5 more of those": a new order for 5, not the last one changed
    if remainder(slots.rest, RESIZE_FILLER, clause.shouting):
        return None
    if not (slots.quantities or slots.notionals or slots.limit_prices or slots.tif or slots.brokers
            or slots.broker_choice or slots.limit_without_price):
        return None
    problem = _size_problem(slots, "it", "trade")
    if problem:
        return clarify(problem)
    fields = order_fields(slots)
    quantity = fields["quantity"]
    if (quantity is not None and quantity != quantity.to_integral_value() and not re.search(r"\bshares?\b", slots.cls)
            and re.search(r"\b(?:bump|raise|lower|move|drop|up|down|price|limit|bid)\b", slots.cls)):
        # "bump that to 5.25": a price with cents is the limit moved, not 5.25 shares
        fields |= {"quantity": None, "limit_price": quantity, "order_type": "limit"}
    return Intent(kind=IntentKind.ORDER, follow_up=FollowUp.RESIZE, **fields)


def replacement(slots: Slots) -> dict:
    """What a change to a working order sets: only what was said."""
    fields = {"quantity": next(iter(slots.quantities), None), "limit_price": slots.limit_price,
              "stop_price": slots.stop_prices[0] if slots.stop_prices else None, "trail_percent": slots.trail_percent,
              "trail_price": slots.trail_price}
    if slots.tif is not None:
        fields |= {"time_in_force": slots.tif, "tif_stated": True}
    return {k: v for k, v in fields.items() if v is not None}


_PRICE_STEP = re.compile(
    r"\b(?:(?P<down>down|lower|drop|decrease|reduce|cut)|up|higher|raise|increase|bump)\b[^.?!;]*?(?<![\w.$])(?:by\s+)?"
    r"(?:(?:a|one)\s+(?:dollar|buck)\b|\$\s*(?P<d>\d+(?:\.\d+)?)(?![\d.])|(?P<n>\d+(?:\.\d+)?)\s*(?P<u>dollars?|bucks?|cents?)\b)"
    r"(?!\s*(?:a|per)\s+share)", re.I)


def _replace(clause: Clause) -> Intent | None:
    """'change my Chipotle limit to 52', 'move the stop on my Tesla up to 310', 'modify the Nike order to 30 shares'."""
    slots = clause.slots
    symbols = list(dict.fromkeys(m.company.symbol for m in slots.companies))
    # "make that starbucks order 35 shares": "make" changes an order only when the order is named
    verb = REPLACE_VERB.search(slots.cls) or (symbols and re.search(r"\bmake\b", slots.cls))
    if not verb or not ORDER_PART.search(slots.cls) or slots.buy or slots.sell or clause.asking:
        return None
    step = _PRICE_STEP.search(clause.message)
    if step and re.search(r"(?:\b(?:to|at)|@)\s*\$?\s*\d", clause.message, re.I):
        step = None  # "move my limit up to 21": to a price, not by an amount
    if not symbols and not step and not re.search(
            r"\b(?:orders?|limit|lmt|stop|stp|trail\w*|bid|offer|price|px)\b.*\b(?:to|at|@)\b", slots.cls):
        return None  # "make it 20" and its kind: the last order of this chat, a follow-up
    steps = {}
    if step:
        # "move my Nike limit up a dollar", "raise the limit by $2", "lower the limit by 50 cents": from where it is now
        said = Decimal(step["d"] or step["n"] or 1)
        amount = said / (100 if (step["u"] or "").lower().startswith("c") else 1)
        slots = replace(slots, limit_without_price=False, limit_prices=(), stop_prices=(), notionals=(), stop_words=False,
                        quantities=tuple(q for q in slots.quantities if q != said))
        steps = {
            "price_step": -amount if step["down"] else amount,
            "step_of": "stop_price" if re.search(r"\b(?:stop|stp)\b", slots.cls) and not re.search(r"\blimit\b", slots.cls)
            else "limit_price"}
    if (not step and not slots.limit_prices and not slots.stop_prices and len(slots.notionals) == 1
            and re.search(r"\b(?:limit|lmt|price|bid|offer)\b", slots.cls)):
        slots = replace(slots, limit_prices=slots.notionals, notionals=(), limit_without_price=False)  # "limit make 6 dollar"
    changes = replacement(slots) | steps
    if (changes.get("quantity") is not None and not re.search(r"\bshares?\b", slots.cls) and not any(
            changes.get(k) is not None for k in ("limit_price", "stop_price", "trail_percent", "trail_price"))
            and re.search(r"\b(?:bid|offer|limit|lmt|price|px|stop|stp)\b", slots.cls)):
        # "move the AAPL bid up to 105": a number said of a price is that price, not a share count
        price = "stop_price" if re.search(r"\b(?:stop|stp)\b", slots.cls) and not re.search(r"\b(?:limit|lmt|bid|offer)\b", slots.cls) \
            else "limit_price"
        changes |= {price: changes["quantity"], "quantity": None}
    if len(symbols) > 1:
        return clarify(f"Which order should I change: the {' or the '.join(symbols)} one?")
    what = f"the {symbols[0]} order" if symbols else "the order"
    if not changes:
        return clarify(f"What should I change on {what}: the number of shares, the limit or stop price, or the timing?")
    problem = _size_problem(slots, what, "trade")
    if problem:
        return clarify(problem)
    return Intent(kind=IntentKind.REPLACE, symbol_text=symbols[0] if symbols else None, brokers=slots.brokers,
                  refers=None if symbols else "pronoun", **changes)


def _repeat(clause: Clause) -> Intent | None:
    """'do the same on TradeSphere', 'also on the other broker', 'sell the same on velocity', 'same again'."""
    slots = clause.slots
    named = slots.brokers or slots.other_broker
    cls = re.sub(r"\b(?:the\s+)?same\s+(?:broker|brokerage|account|one|platform|(?:dollar\s+|share\s+)?(?:number|amount|quantity))\b",
                 " ", slots.cls)
    same_size = _SAME_SIZE.search(slots.cls) and named and not slots.companies and not clause.has_size
    if not same_size and not _SAME_ORDER.search(cls) and not (
            REPEAT.search(cls) and (named or re.search(r"\b(?:same|again|repeat)\b", cls))):
        return None  # without a broker only "same", "again" or "repeat" say it; "the same quantity on the other broker"
    symbols = list(dict.fromkeys(m.company for m in slots.companies))
    if len(symbols) == 1 and slots.other_broker and not slots.buy and not slots.sell and not clause.has_size:
        # "same again on the other broker tesla": the last order (for this stock) where it did not go
        return Intent(kind=IntentKind.ORDER, symbol_text=symbols[0].symbol, company=symbols[0].name,
                      follow_up=FollowUp.REPEAT_ON, other_broker=True)
    if (len(symbols) == 1 and _SAME_ORDER.search(cls) and not slots.buy and not slots.sell and not clause.has_size
            and not clause.message.rstrip().endswith("?")):
        # "do the same again but for Rivian": the last order's side, size and broker, for another stock
        return Intent(kind=IntentKind.ORDER, symbol_text=symbols[0].symbol, company=symbols[0].name, size_ref="same",
                      broker_ref=None if slots.brokers else "there", brokers=slots.brokers, tif_stated=slots.tif is not None,
                      time_in_force=slots.tif or "day")
    if (slots.quantities and not slots.companies and not (slots.buy or slots.sell)
            and re.match(r"^\s*(?:the\s+)?same\s+(?:thing\s+|order\s+|trade\s+)?(?:but|except|only|with)\b", cls)):
        return Intent(kind=IntentKind.ORDER, follow_up=FollowUp.REPEAT_ON, **order_fields(slots))  # "same but 50"
    if slots.companies or remainder(slots.rest, REPEAT_FILLER, clause.shouting) or (slots.buy and slots.sell):
        return None
    if slots.quantities and not slots.brokers and not slots.other_broker:
        return None  # "buy the same amount of X": an order, not a repeat
    side = "buy" if slots.buy else "sell" if slots.sell else None
    # "grab the same number of those on velocity": those is the stock last discussed (the dialogue knows which)
    pronoun = "pronoun" if same_size and re.search(r"\b(?:those|them|these|that\s+one|this\s+one)\b", slots.cls) else None
    return Intent(kind=IntentKind.ORDER, side=side, follow_up=FollowUp.REPEAT_ON, other_broker=slots.other_broker,
                  refers=pronoun, **order_fields(slots))


def which_side(symbol: str, quantity: Decimal | None, notional: Decimal | None) -> Intent:
    """'Do you want to buy or sell 12 ABT?': a size and a stock said without a side."""
    amount = shown(quantity) if quantity is not None else f"${shown(notional)} of"
    return clarify(f"Do you want to buy or sell {amount} {symbol}?")


_TERSE_WORDS = frozenset(split_words("of please pls plz thanks thx for me on my break ok okay so hey hi quick real just "
                                      "also and too now asap today shares share stock"))


def _terse(slots: Slots) -> bool:
    """Only a size, one company, a broker and courtesy were said: no 'I have', no 'of my', no question."""
    words = re.findall(r"[^\W\d_][\w'&.-]*|\?", re.sub(r"\bqzc[a-z]\b", " ", slots.rest, flags=re.I))
    return (all(w.lower() in _TERSE_WORDS for w in words) and not re.search(r"\bmy\s+(?:\d[\d.]*\s+)?(?:shares?\s+(?:of\s+)?)?qzc", slots.cls)
            and not re.search(r"\bof\s+my\b", slots.cls))


_ALONE = re.compile(r"[\s?!.,]*(?:(?:and|also|ok|okay|now|then|so|what|how|about|of|with|the|for|same|one|too|pls|please)"
                    r"[\s?!.,]*)*", re.I)


def _unclear(clause: Clause) -> Intent:
    """No verb, no question word: a bare ticker is a quote, a size and a stock ask which side, the rest asks again."""
    slots, message = clause.slots, clause.message
    found = stock(clause, FILLER[IntentKind.QUOTE])
    bare_ticker = re.fullmatch(r"\$?[A-Za-z]{1,5}(?:\.[A-Za-z])?", message.strip("?!. "))
    if found.symbol and not clause.has_size and bare_ticker and (message.lstrip().startswith("$") or found.symbol.isupper()):
        return Intent(kind=IntentKind.QUOTE, symbol_text=found.symbol)  # "$TSLA", "NVDA?"
    if clause.has_size and found.symbol and _LIKE_THE_LAST.search(message):
        # "do 15 META too, same venue": the side of the last order (the dialogue supplies it, or asks)
        fields = order_fields(slots)
        return Intent(kind=IntentKind.ORDER, symbol_text=found.symbol, company=found.company, understood_from=found.typed,
                      broker_ref="there" if _THAT_BROKER.search(slots.cls) and not slots.brokers else None,
                      **{k: v for k, v in fields.items() if k not in ("brokers",)}, brokers=slots.brokers)
    if clause.has_size and found.symbol and _terse(slots) and len(slots.companies) == 1 and not found.candidates:
        # "12 abbott labs on velocity": no verb, nothing else said; a buy unless the stock is held (the planner looks)
        return Intent(kind=IntentKind.ORDER, symbol_text=found.symbol, company=found.company, understood_from=found.typed,
                      side_unsaid=True, **order_fields(slots))
    if clause.has_size and found.symbol:
        return which_side(found.symbol, next(iter(slots.quantities), None), next(iter(slots.notionals), None))
    if found.symbol and slots.companies:
        # "and google?", "what about Nike?": after a quote, the same question about another stock (the dialogue knows)
        alone = len(slots.companies) == 1 and _ALONE.fullmatch(re.sub(r"\bqzc[a-z]\b", " ", slots.rest, flags=re.I))
        return Intent(kind=IntentKind.CLARIFY, symbol_text=found.symbol, company=found.company,
                      refers="alone" if alone else None,
                      question=f"What would you like to do with {found.company or found.symbol}: a quote, "
                               "or buy or sell how many shares?")
    return clarify(f"Sorry, I didn't understand {message!r}. I can buy or sell stocks, show quotes, portfolios, "
                   "cash and orders, cancel orders, or compare the brokers. Say 'help' for examples.")


# The kinds of request, in the order they are tried on a clause; the first that answers decides.
RECOGNIZERS: tuple[tuple[str, Callable[[Clause], Intent | None]], ...] = (
    ("short selling", _short),
    ("cancel", _cancel),
    ("change a working order", _replace),
    ("change the last order", _resize),
    ("repeat the last order", _repeat),
    ("cost question", _cost_question),
    ("which broker", _which_broker),
    ("what a broker allows", _capability),
    ("order", _order),
    ("market hours", _market_hours),
    ("question", _question),
    ("what would it cost", _asked_cost),
    ("about a broker", _about_a_broker),
    ("unclear", _unclear),
)

# Whole-message answers that come before any slot is read.
EARLY: tuple[tuple[re.Pattern[str], Intent], ...] = (
    (HELP, Intent(kind=IntentKind.HELP)),
    (NEGATION, clarify("Understood: I won't place anything. What would you like to do instead?")),
    (ADVICE, clarify("I don't give investment advice, so that decision is yours. I can show you a quote, your "
                     "positions, or place an order you choose, for example 'buy 10 AAPL'. What would you like?")),
)


def decide(clause: Clause) -> Intent:
    """The intent of one clause: the first recognizer in `RECOGNIZERS` that claims it."""
    for _name, recognizer in RECOGNIZERS:
        intent = recognizer(clause)
        if intent is not None:
            return intent
    raise AssertionError("the last recognizer always answers")
