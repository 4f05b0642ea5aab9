"""Slot readers: the brokers, timing, companies, portions, prices, dollar amounts and share counts in a message.

Each kind of phrase is taken out of the text in turn (`Text.take`), so later readers never see what
an earlier one understood: a broker name is never read as a company, "a third" never as the number 3.
Companies are found by scanning the whole message against the directory (`companies.scan`) and
stand in the text as placeholders from then on; what is left at the end (`Slots.rest`) is noise,
or, when no company was found, the name as typed for the broker to resolve or refuse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz, process

from agent.language.companies import CompanyDirectory, Mention
from agent.language.english import is_english
from agent.language.intent import BrokerRef, IntentKind
from agent.language.normalize import KEY_WORDS
from agent.language.numbers import to_decimal
from agent.language.vocabulary import (
    ALL_BROKERS,
    BRACKET_WORDS,
    BROKER_TAIL,
    BUY,
    CHOICES,
    CLOSING,
    DENIED_VERB,
    DENOMINATOR,
    FRACTION,
    GENERIC_SUFFIXES,
    HYPOTHETICAL,
    LIMIT_WORD,
    LIMITS,
    MARKET_WORDS,
    NOT_A_BROKER,
    NOTIONALS,
    ONE_SHARE,
    OTHER_BROKER,
    PERCENT,
    PORTION_WORDS,
    PREP,
    QUANTITY,
    SELL,
    SMALL,
    STOP_AT,
    STOP_LIMIT_PAIR,
    STOP_LOSS_WORDS,
    STOP_WORDS,
    TAKE_PROFIT,
    TIF,
    TOMORROW,
    TRAIL_PERCENT,
    TRAIL_PRICE,
    TRAIL_WORD,
    TRIGGER,
    TRIGGER_DOWN,
    TRIGGER_UP,
)

_BRACKET = re.compile(r"\b(?:bracket(?:ed)?|oto(?:co)?)\b", re.I)
PLACEHOLDER = "QZC"
"""Where a company stood in the text once it was found: QZCA for the first, QZCB for the second..."""


class Text:
    """The message being taken apart: each `take` removes what it matched and returns the matches."""

    def __init__(self, text: str) -> None:
        self.s = text

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = list(pattern.finditer(self.s))
        self.cut([m.span() for m in found])
        return found

    def cut(self, spans: list[tuple[int, int]]) -> None:
        for start, end in sorted(spans, reverse=True):
            self.s = f"{self.s[:start]} {self.s[end:]}"


@dataclass
class Slots:
    """Everything found in one message, before deciding what kind of request it is."""

    brokers: tuple[str, ...] = ()
    broker_choice: str | None = None
    other_broker: bool = False
    tif: str | None = None
    tif_conflict: bool = False
    portion: Decimal | None = None
    limit_prices: tuple[Decimal, ...] = ()
    limit_without_price: bool = False
    notionals: tuple[Decimal, ...] = ()
    quantities: tuple[Decimal, ...] = ()
    buy: bool = False
    sell: bool = False
    closing: bool = False
    stop_prices: tuple[Decimal, ...] = ()
    """Prices that must trade first in the direction of a stop ("sell if it drops below 300")."""
    notional_is_total: bool = False
    """Every dollar amount was said as "for $X", the price of a share count ("10 shares of AAPL for $500")."""
    hypothetical: bool = False
    """A verb in a wish or a plan ("I should just buy the stock"), taken out: not an order."""
    stop_words: bool = False
    """'stop', 'stop loss', 'trailing stop' was said."""
    stop_loss: bool = False
    """A protective stop was meant ("stop loss", "trailing stop", "a stop on my shares"), not a buy stop."""
    trailing: bool = False
    """'trailing stop' was said; `trail_percent` or `trail_price` says by how much."""
    trail_percent: Decimal | None = None
    trail_price: Decimal | None = None
    same_broker_as: str | None = None
    """'on the same broker as the Caterpillar': the ticker whose order's broker this one goes to."""
    bracket_entry: bool = False
    """A bracket was set up with no side said: a bracket order opens a position, it buys."""
    bare_percent: Decimal | None = None
    """A percent said alone, not "of" anything ("8 percent"): a part of the shares, or how far a trailing stop trails."""
    stop_counts: tuple[Decimal, ...] = ()
    """Share counts said inside a stop phrase ("a stop on my 20 Delta shares at 52")."""
    take_profit_prices: tuple[Decimal, ...] = ()
    """'take profit at 250': the exit above the market of a bracket, or a limit sell on shares held."""
    companies: tuple[Mention, ...] = ()
    """Companies named in the message, in the order they stand."""
    cls: str = ""
    """Lowercase text without broker names or timing phrases: what keywords are matched against."""
    with_amounts: str = ""
    """The text after brokers and timing were taken out, numbers still in (order ids live here)."""
    rest: str = ""
    """What is left once every slot is out: the symbol plus filler words."""

    @property
    def limit_price(self) -> Decimal | None:
        return self.limit_prices[0] if self.limit_prices else None

    @property
    def notional(self) -> Decimal | None:
        return self.notionals[0] if self.notionals else None


def broker_aliases(broker: BrokerRef) -> set[str]:
    """Every way a person may write this broker's name, as lowercase space-separated words."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", broker.name.strip()).lower().split()
    aliases = {" ".join(re.split(r"[\s_-]+", broker.id.lower())), " ".join(words)}
    if len(words) > 1 and words[-1] in GENERIC_SUFFIXES:
        aliases.add(" ".join(words[:-1]))  # "Velocity" for VelocityBrokers, "Nimbus" for Nimbus Markets
    if len(words) > 1:
        aliases.add("".join(w[0] for w in words))  # "VB" for VelocityBrokers, "TS" for TradeSphere
    return aliases


def _take_brokers(text: Text, brokers: Sequence[BrokerRef], slots: Slots) -> None:
    aliases = sorted({a for b in brokers for a in broker_aliases(b)}, key=lambda a: -len(a.replace(" ", "")))
    by_key = {a.replace(" ", ""): b.id for b in brokers for a in broker_aliases(b)}
    found: list[tuple[int, str]] = []
    if text.take(ALL_BROKERS):  # first, while "both on Velocity" still says where "both" points
        slots.broker_choice = "all"
        found += [(-1, b.id) for b in brokers]
    if aliases:
        # longest alias first, so "velocity brokers" wins over "velocity"; "trade sphere" also matches "tradesphere"
        alternatives = "|".join(r"[\s-]*".join(map(re.escape, a.split())) for a in aliases)
        exact = re.compile(rf"(?:\b{PREP}\s+)?(?:\bthe\s+)?\b(?P<alias>{alternatives}){BROKER_TAIL}\b", re.I)
        for m in text.take(exact):
            if not re.search(r"\bnot\s*$", text.s[: m.start()], re.I):  # "on TradeSphere, not Velocity"
                found.append((m.start(), by_key[re.sub(r"[\s-]", "", m["alias"].lower())]))
        found += _take_fuzzy_brokers(text, by_key)
    slots.other_broker = bool(text.take(OTHER_BROKER))
    slots.brokers = tuple(dict.fromkeys(broker_id for _, broker_id in sorted(found, key=lambda f: f[0])))


def _take_fuzzy_brokers(text: Text, by_key: dict[str, str]) -> list[tuple[int, str]]:
    """Broker names with a small typo ("tradesphre"), only right after a preposition so other words never match."""
    candidate = re.compile(
        rf"\b{PREP}\s+(?:the\s+)?(?P<w1>[A-Za-z][A-Za-z-]{{3,}})(?:\s+(?P<w2>[A-Za-z][A-Za-z-]{{2,}}))?", re.I)
    found, spans = [], []
    for m in candidate.finditer(text.s):
        best = None  # (alias key, score, end of the words used); two words only when they score at least as well
        for group, words in (("w1", m["w1"]), ("w2", m["w1"] + (m["w2"] or ""))):
            hit = process.extractOne(words.lower().replace("-", ""), list(by_key), scorer=fuzz.ratio, score_cutoff=85)
            if hit and (best is None or hit[1] >= best[1]) and (group == "w1" or m["w2"]):
                best = (hit[0], hit[1], m.end(group))
        if best:
            tail = re.match(BROKER_TAIL, text.s[best[2]:], re.I)
            spans.append((m.start(), best[2] + (tail.end() if tail else 0)))
            found.append((m.start(), by_key[best[0]]))
    text.cut(spans)
    return found


_SAME_BROKER_AS = re.compile(
    r"(?:\b(?:on|at|with|through|via|using|in)\s+)?\b(?:the\s+)?same\s+(?:broker|brokerage|account|place|platform|one)\s+"
    r"(?:as|that|where)\s+(?:(?:i|we)\s+(?:used|bought|got|put|have|hold|placed)\s+(?:for\s+|in\s+)?)?(?:the\s+|my\s+|our\s+)?", re.I)
_AFTER_NAME = re.compile(r"(?:\s*(?:orders?|trade|buy|purchase|shares|stock|one|position)\b)?", re.I)


def _take_same_broker_as(text: Text, slots: Slots, directory: CompanyDirectory, shouting: bool) -> None:
    """'on the same broker as the Caterpillar': where that stock's order went (the dialogue knows), and the company
    named there is no stock of this order."""
    m = _SAME_BROKER_AS.search(text.s)
    if not m:
        return
    named = [c for c in directory.scan(text.s[m.end():], shouting) if c.start <= 1]
    if not named:
        return
    end = m.end() + named[0].end
    end += _AFTER_NAME.match(text.s[end:]).end()
    slots.same_broker_as = named[0].company.symbol
    text.cut([(m.start(), end)])


def _take_tif(text: Text, slots: Slots) -> None:
    stated = {tif for tif, pattern in TIF if text.take(pattern)}
    if text.take(TOMORROW) and not stated:
        stated = {"opg"}  # "sell it tomorrow": the first chance tomorrow is the open
    if len(stated) > 1:
        stated.discard("day")  # "at the close today": today is when, the close is how
    slots.tif_conflict = len(stated) > 1
    slots.tif = next(iter(stated)) if len(stated) == 1 else None


def _take_portion(text: Text, slots: Slots) -> None:
    for portion, pattern in PORTION_WORDS:
        if text.take(pattern):
            slots.portion = slots.portion or portion
    for m in text.take(FRACTION):
        word = m[1].lower()
        numerator = 1 if word in ("a", "one", "1") else int(word) if word.isdigit() else SMALL[word]
        slots.portion = Decimal(numerator) / Decimal(DENOMINATOR[m[2].lower().rstrip("s")])


def _take_triggers(text: Text, slots: Slots, selling: bool = False) -> None:
    """'if it drops to 150' on a buy is a limit at 150; 'sell if it drops below 300' is a stop at 300. `selling`: the
    message around this clause sells ("If Meta goes below 650, please sell my shares")."""
    limits, stops = [], []
    for m in text.take(TRIGGER):
        wording = f"{m['sv'] or ''} {m['verb'] or ''} {m['dir'] or ''}"
        down, up = bool(TRIGGER_DOWN.search(wording)), bool(TRIGGER_UP.search(wording))
        price = to_decimal(m["p"])
        if price in slots.stop_prices:
            continue  # "if Carnival drops to 18 I want out. Stop at 18, limit 17.50": the trigger is the stop said
        if (slots.sell or selling) and not slots.buy:
            (limits if up and not down else stops if down else limits).append(price)
        else:
            (stops if up and not down else limits).append(price)
    slots.limit_prices += tuple(limits)
    slots.stop_prices += tuple(stops)


def _take_stops(text: Text, slots: Slots) -> None:
    """Trailing amounts, take-profit prices and stop prices, before any other number is read."""
    slots.stop_loss = bool(STOP_LOSS_WORDS.search(text.s))
    if BUY.search(text.s):
        for pattern in BRACKET_WORDS:
            for m in text.take(pattern):
                slots.take_profit_prices += (to_decimal(m["tp"]),)
                slots.stop_prices += (to_decimal(m["sl"]),)
    for m in text.take(STOP_LIMIT_PAIR):
        slots.stop_prices += (to_decimal(m["s"]),)
        slots.limit_prices += (to_decimal(m["l"]),)
    counts = []  # "a stop loss on my 20 apple shares at 200": the 20 is the size
    for pattern in TRAIL_PERCENT:
        for m in text.take(pattern):
            slots.trail_percent = slots.trail_percent or to_decimal(m["n"])
            counts.append(m.groupdict().get("q"))
    for pattern in TRAIL_PRICE:
        for m in text.take(pattern):
            slots.trail_price = slots.trail_price or to_decimal(m["p"] or m.groupdict().get("d"))
            counts.append(m.groupdict().get("q"))
    slots.trailing = bool(text.take(TRAIL_WORD)) or slots.trail_percent is not None or slots.trail_price is not None
    slots.take_profit_prices += tuple(to_decimal(m["p"]) for pattern in TAKE_PROFIT for m in text.take(pattern))
    for pattern in STOP_AT:
        for m in text.take(pattern):
            slots.stop_prices += (to_decimal(m["p"]),)
            counts.append(m.groupdict().get("q"))
    slots.stop_counts = tuple(to_decimal(q) for q in counts if q)


def _take_amounts(text: Text, slots: Slots, selling: bool = False) -> None:
    percents = text.take(PERCENT)
    if slots.trailing and slots.trail_percent is None and slots.trail_price is None and len(percents) == 1 and not re.search(
            r"\bof\s*$", percents[0].group()):
        # "a trailing stop on my AMD, 8 percent": the one percent said is how far it trails, not a part of the shares
        slots.trail_percent, percents = to_decimal(percents[0]["n"]), []
    if len(percents) == 1 and not re.search(r"\bof\s*$", percents[0].group()):
        slots.bare_percent = to_decimal(percents[0]["n"])
    for m in percents:
        slots.portion = to_decimal(m["n"]) / 100
    slots.stop_words = bool(text.take(STOP_WORDS)) or bool(slots.stop_prices) or slots.trailing
    _take_triggers(text, slots, selling)
    slots.limit_prices += tuple(to_decimal(m["p"]) for pattern in LIMITS for m in text.take(pattern))
    slots.limit_without_price = bool(text.take(LIMIT_WORD)) and not slots.limit_prices
    found = [m for pattern in NOTIONALS for m in text.take(pattern)]
    slots.notionals = tuple(
        to_decimal(m["n"], m["k"] or ("grand" if (m.groupdict().get("u") or "").lower() == "grand" else None))
        for m in found)
    slots.notional_is_total = bool(found) and all(m.group().lower().lstrip().startswith("for") for m in found)
    if (slots.trailing and slots.trail_percent is None and slots.trail_price is None and len(slots.notionals) == 1
            and not slots.notional_is_total):
        slots.trail_price, slots.notionals = slots.notionals[0], ()  # "trailing stop on Delta with 3 dollar": the trail
    quantities = [to_decimal(m["n"], m["k"]) for m in text.take(QUANTITY)]
    slots.quantities = (*slots.stop_counts, *quantities, *[Decimal(1)] * len(text.take(ONE_SHARE)))


def _take_companies(text: Text, slots: Slots, directory: CompanyDirectory, shouting: bool) -> None:
    mentions = directory.scan(text.s, shouting)
    mentions = sorted(mentions + directory.scan_typos(text.s, mentions, _is_word), key=lambda m: m.start)
    for index, mention in sorted(enumerate(mentions), key=lambda im: -im[1].start):
        text.s = f"{text.s[:mention.start]} {placeholder(index)} {text.s[mention.end:]}"
    slots.companies = tuple(mentions)


def _is_word(word: str) -> bool:
    """A word the parser reads or an English word: never taken for a misspelt company."""
    return word in KEY_WORDS or is_english(word)


def placeholder(index: int) -> str:
    return PLACEHOLDER + chr(ord("A") + index % 26)


def read_slots(text: str, brokers: Sequence[BrokerRef], directory: CompanyDirectory, shouting: bool = False,
               selling: bool = False) -> Slots:
    slots = Slots()
    work = Text(text)
    _take_brokers(work, brokers, slots)
    _take_same_broker_as(work, slots, directory, shouting)
    _take_tif(work, slots)
    _take_companies(work, slots, directory, shouting)
    slots.cls = re.sub(r"\s+", " ", work.s).strip().lower()
    for choice, pattern in CHOICES:
        if work.take(pattern):
            slots.broker_choice = choice
    work.take(MARKET_WORDS)
    _take_portion(work, slots)  # before the word numbers, so "a third" and "one quarter" stay fractions
    slots.with_amounts = work.s
    work.take(DENIED_VERB)
    slots.hypothetical = bool(work.take(HYPOTHETICAL))
    _take_stops(work, slots)  # before the verbs: "take profit at 250" on a buy is an exit, not a sell
    slots.buy, slots.sell = bool(BUY.search(work.s)), bool(SELL.search(work.s))
    if (not (slots.buy or slots.sell) and slots.take_profit_prices and slots.stop_prices and _BRACKET.search(work.s)
            and not re.search(r"\b(?:my|our)\b", work.s, re.I)):
        slots.buy = slots.bracket_entry = True  # "a bracket order for 10 KO, take profit at $85 and stop loss at $60"
    slots.closing = bool(CLOSING.search(work.s))
    work.take(BUY)  # before the amounts: "get" is a buy verb only when a number follows it
    work.take(SELL)
    _take_amounts(work, slots, selling)
    if ((slots.stop_loss or slots.stop_words) and not slots.trailing and not slots.stop_prices and len(slots.limit_prices) == 1
            and not re.search(r"\b(?:limit|lmt)\b", text, re.I)):
        # "a stop loss to sell 60 shares of Target at $50": the one price said is where the stop triggers
        slots.stop_prices, slots.limit_prices = slots.limit_prices, ()
    slots.rest = work.s
    return slots


def remainder(rest: str, filler: frozenset[str], shouting: bool) -> str | None:
    """What remains once filler words are trimmed from both edges; inner words stay ("Bank of America")."""
    tokens = [t for t in rest.split() if not t.startswith(PLACEHOLDER)]

    def is_filler(token: str) -> bool:
        bare = token.strip("?!,;:\"()[]").rstrip(".")
        if not shouting and re.fullmatch(r"\$?[A-Z]{2,5}(?:\.[A-Z])?", bare):
            return False  # a ticker typed in capitals ("IT", "NOW", "ON") is never filler
        return not bare or bare.lower() in filler

    while tokens and is_filler(tokens[0]):
        tokens.pop(0)
    trimmed_tail = False
    while tokens and is_filler(tokens[-1]):
        tokens.pop()
        trimmed_tail = True
    if any(t.endswith(",") for t in tokens[:-1]):
        return ", ".join(t.strip(",") for t in tokens)  # a list of names: the caller asks for one at a time
    cleaned = [re.sub(r"^\$(?=[A-Za-z])", "", t.strip("?!,;:\"()[]").rstrip(".")) for t in tokens]
    if cleaned and trimmed_tail:
        cleaned[-1] = re.sub(r"['’]s$", "", cleaned[-1])  # "Apple's stock" -> "Apple"
    return " ".join(t for t in cleaned if t) or None


def unknown_broker(rest: str, kind: IntentKind) -> str | None:
    """A broker-looking phrase that matched none of the brokers ("on robinhood", "etrade broker")."""
    # in "quote on AMZN" or "fees on 10 AAPL", "on" introduces the stock, not a broker
    loose = "" if kind in (IntentKind.QUOTE, IntentKind.COST_COMPARISON) else "|on|at"
    name = r"(?P<name>[A-Za-z][\w&.-]*)"
    patterns = (rf"\b(?:through|thru|via|using{loose})\s+(?:the\s+)?{name}{BROKER_TAIL}\s*[?.!]*\s*$",
                rf"\b{name}\s+(?:brokers?|brokerage)\b")
    for pattern in patterns:
        m = re.search(pattern, rest, re.I)
        name = m["name"].rstrip(".,!?") if m else ""
        if m and name.lower() not in NOT_A_BROKER and not re.fullmatch(r"[A-Z]{1,5}", name) and not name.isdigit():
            return name
    return None

