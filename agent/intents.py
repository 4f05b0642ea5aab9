"""The offline model's reading of one chat message: what the person wants, as a structured intent.

Pure and deterministic: no network, no broker access. Company names stay as typed (`symbol_text`);
the brokers' symbol directory resolves them, so a guess never becomes a ticker here. A request
that is unclear or ambiguous becomes a CLARIFY intent carrying the question to ask back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from rapidfuzz import fuzz


class IntentKind(StrEnum):
    ORDER = "order"
    CANCEL = "cancel"
    PORTFOLIO = "portfolio"
    ACCOUNT = "account"
    TOTAL_VALUE = "total_value"
    QUOTE = "quote"
    ORDERS = "orders"
    COMPARE_BROKERS = "compare_brokers"
    COST_COMPARISON = "cost_comparison"
    HELP = "help"
    CLARIFY = "clarify"


class FollowUp(StrEnum):
    NONE = "none"
    RESIZE = "resize"
    REPEAT_ON = "repeat_on"
    REVERSE = "reverse"


@dataclass(frozen=True)
class BrokerRef:
    id: str
    """Broker id, e.g. "tradesphere"."""
    name: str
    """Display name from the broker's profile, e.g. "TradeSphere"."""


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    side: str | None = None
    """"buy" or "sell"."""
    symbol_text: str | None = None
    """The company or ticker as typed ("Apple", "AAPL", "Berkshire Hathaway")."""
    quantity: Decimal | None = None
    """Shares."""
    portion: Decimal | None = None
    """Fraction of the held position: all 1, half 0.5, a quarter 0.25, a third 1/3."""
    notional: Decimal | None = None
    """Dollars instead of shares."""
    order_type: str = "market"
    limit_price: Decimal | None = None
    time_in_force: str = "day"
    brokers: tuple[str, ...] = ()
    """Broker ids named explicitly."""
    broker_choice: str | None = None
    """"cheapest", "fastest" or "all"."""
    follow_up: FollowUp = FollowUp.NONE
    order_ref: str | None = None
    """For CANCEL: an order id, or "all"."""
    question: str | None = None
    """For CLARIFY: what to ask back."""
    other_broker: bool = False
    """For REPEAT_ON: "the other broker"."""


# ------------------------------------------------------------------------------------ vocabulary

_UNITS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_TENS = {w: 10 * i for i, w in enumerate(["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_SPECIAL = {"dozen": 12, "couple": 2}
NUM = r"\d[\d,]*(?:\.\d+)?|\.\d+"

BUY_VERBS = r"buy|purchase|acquire|grab|pick up|get me|get|long|invest|add"
SELL_VERBS = r"sell|dump|unload|exit|close out|close|get rid of|trim|liquidate"
_POLITE = r"(?:please|pls|plz|kindly|ok(?:ay)?|hey|hi|so|now|then|and|also|yes|go ahead and|can you|could you|would you|will you|i want to|i wanna|i'd like to|i would like to|i need to|let's|lets|let me|i'll|id like to)"

_TIF = [
    ("opg", r"(?:when|once|as soon as) (?:the )?market opens|(?:tomorrow )?(?:at|on) (?:the )?(?:market )?open(?:ing)?(?: bell)?|at market open|first thing(?: tomorrow)?(?: morning)?|tomorrow morning|at the opening bell|\bopg\b|market open"),
    ("cls", r"(?:at|on|before) (?:the )?(?:market )?clos(?:e|ing)(?: bell)?|at market close|end of (?:the )?day|\bmoc\b|\bcls\b"),
    ("gtc", r"good[ -]?(?:till|til|'til|until|to)[ -]?cancel+ed|until cancel+ed|\bgtc\b"),
    ("day", r"\bday order\b|\bfor the day\b|\btoday only\b"),
]
_CHOICE = [
    ("cheapest", r"(?:the |whichever (?:broker )?(?:is )?|whatever broker is )?(?:cheapest|cheaper|lowest[- ](?:fees?|cost|commission)|least expensive|cheapest fees?)(?: (?:broker|one|option))?"),
    ("fastest", r"(?:the |whichever (?:broker )?(?:is )?|whatever broker is )?(?:fastest|quickest|quicker|faster|fastest execution)(?: (?:broker|one|execution|option))?"),
    ("all", r"(?:both|all|each|every) (?:of )?(?:the |my )?brokers?|both of them|each one"),
]
_FILLER = set(
    ["a", "an", "the", "of", "my", "some", "worth", "shares", "share", "stock", "stocks", "stake", "equity", "position", "positions", "order", "orders", "for", "me", "please", "pls", "plz", "with", "through", "via", "on", "at", "in", "to", "using", "from", "by", "broker", "brokers", "account", "market", "today", "now", "right", "away", "immediately", "and", "then", "also", "just", "more", "quick", "quickly", "asap", "it's", "its", "is", "are", "that", "this", "want", "like", "would", "i", "i'd", "id", "me", "us", "our", "go", "ahead", "can", "could", "you", "will", "kindly", "ok", "okay", "hey", "hi", "units", "unit", "x", "of"]
)
_TICKER_WORD = re.compile(r"^\$?[A-Za-z]{1,5}(?:[.\-/][A-Za-z])?$")


def _camel_words(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _broker_variants(broker: BrokerRef) -> list[str]:
    names = {broker.id.lower(), broker.name.lower(), _camel_words(broker.name).lower()}
    for name in list(names):
        stripped = re.sub(r"\s*brokers?$|\s*markets?$|\s*securities$", "", name).strip()
        if len(stripped) >= 4:
            names.add(stripped)
        names.add(name.replace(" ", ""))
    return sorted(names, key=len, reverse=True)


def _words_to_numbers(text: str) -> str:
    """'a hundred and fifty' -> '150', 'twenty-five' -> '25', 'a dozen' -> '12' (other words untouched)."""
    tokens = re.split(r"(\s+|-)", text)
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if not run:
            return
        words = [w for w in run if w.strip() and w != "-"]
        while words and words[-1] in ("and", "a", "of"):
            words.pop()
        value, current, seen = 0, 0, False
        for word in words:
            low = word.lower()
            if low in ("a", "an", "and", "of"):
                continue
            if low in _UNITS:
                current += _UNITS[low]
            elif low in _TENS:
                current += _TENS[low]
            elif low in _SPECIAL:
                current = (current or 1) * _SPECIAL[low]
            elif low == "hundred":
                current = (current or 1) * 100
            elif low in _SCALES:
                value += (current or 1) * _SCALES[low]
                current = 0
            seen = True
        if seen:
            out.append(str(value + current))
            trailing = run[len(run) - len(run):]  # keep spacing simple
            del trailing
            out.append(" ")
        else:
            out.extend(run)
        run.clear()

    number_words = set(_UNITS) | set(_TENS) | set(_SCALES) | set(_SPECIAL)
    for index, token in enumerate(tokens):
        low = token.lower()
        if low in number_words or (run and (not token.strip() or token == "-" or low in ("and",))) or low in ("a", "an") and index + 2 < len(tokens) and tokens[index + 2].lower() in ("hundred", "thousand", "dozen", "couple", "million") or low == "of" and run and run[-1].strip().lower() in ("couple", "dozen") or (low == "of" and len(run) >= 2 and run[-2].lower() == "couple"):
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        return None


def _clarify(question: str, **fields) -> Intent:
    return Intent(kind=IntentKind.CLARIFY, question=question, **fields)


# ------------------------------------------------------------------------------------ extraction


class _Text:
    """The message being consumed: each recognised phrase is cut out, what remains names the stock."""

    def __init__(self, text: str):
        self.original = text
        self.text = " " + text + " "

    def take(self, pattern: str, flags: int = re.I) -> re.Match | None:
        match = re.search(pattern, self.text, flags)
        if match:
            self.text = self.text[: match.start()] + " " + self.text[match.end():]
        return match

    def has(self, pattern: str) -> bool:
        return re.search(pattern, self.text, re.I) is not None


def _find_brokers(text: _Text, brokers: Sequence[BrokerRef]) -> tuple[tuple[str, ...], str | None]:
    choice = None
    for name, pattern in _CHOICE:
        if text.take(rf"(?:\b(?:through|on|via|with|using|at|from|in|to)\s+)?\b(?:{pattern})\b"):
            choice = name
            break
    found: list[str] = []
    for broker in brokers:
        for variant in _broker_variants(broker):
            if text.take(rf"(?:\b(?:through|on|via|with|using|at|from|in|to)\s+)?(?:the\s+)?\b{re.escape(variant)}\b(?:\s+brokers?)?"):
                found.append(broker.id)
                break
    # small typos after a routing word: "through tradesphre", "on velocty"
    for match in re.finditer(r"\b(?:through|on|via|with|using|at)\s+([a-z]{5,}(?:\s+[a-z]+)?)", text.text, re.I):
        words = match.group(1)
        for broker in brokers:
            if broker.id in found:
                continue
            first = words.split()[0].lower()
            if any(fuzz.ratio(first, v.replace(" ", "")) >= 80 or fuzz.ratio(words.lower(), v) >= 85 for v in _broker_variants(broker)):
                found.append(broker.id)
                text.text = text.text.replace(match.group(0), " ", 1)
                break
    if choice == "all":
        found = [b.id for b in brokers]
    return tuple(found), choice


def _find_tif(text: _Text) -> str:
    for tif, pattern in _TIF:
        if text.take(rf"(?:\b(?:and|then)\s+)?(?:{pattern})"):
            text.take(r"\btomorrow\b")
            return tif
    return "day"


def _find_limit(text: _Text) -> tuple[Decimal | None, str | None]:
    """A limit price, or (None, bad text) when one was given but is not a positive number."""
    patterns = [
        rf"\blimit(?:\s+price)?(?:\s+(?:of|at|@|is))?\s*\$?\s*(-?(?:{NUM}))",
        rf"(?:\bat|@)\s*\$?\s*(-?(?:{NUM}))\s*(?:dollars\s*)?(?:or better|or less|or lower|or cheaper|or higher|or more|limit|a share|per share|each)?",
        rf"\bif (?:it|the price) (?:drops|falls|goes down|dips|gets|rises|goes up|hits|reaches) (?:to|below|under|above|over)?\s*\$?\s*(-?(?:{NUM}))",
    ]
    for pattern in patterns:
        match = text.take(pattern)
        if match:
            value = _number(match.group(1))
            if value is None or value <= 0:
                return None, match.group(1)
            text.take(r"\blimit\b(?:\s+order)?")
            return value, None
    return None, None


def _find_notional(text: _Text) -> Decimal | None:
    for pattern in (rf"\$\s?({NUM})\s*(k)?\b(?:\s+worth)?", rf"\b({NUM})\s*(k)?\s*(?:dollars|usd|bucks)\b(?:\s+worth)?"):
        match = text.take(pattern)
        if match:
            value = _number(match.group(1))
            if value is not None and match.group(2):
                value *= 1000
            return value
    return None


def _find_portion(text: _Text) -> Decimal | None:
    for pattern, value in (
        (r"\b(?:all(?: of)?|everything|entire|whole)\b(?:\s+(?:my|the|of my))?(?:\s+position(?:\s+in)?)?", Decimal(1)),
        (r"\b(?:a\s+)?half(?:\s+of)?(?:\s+(?:my|the))?(?:\s+position(?:\s+in)?)?", Decimal("0.5")),
        (r"\b(?:a|one)\s+quarter(?:\s+of)?(?:\s+(?:my|the))?(?:\s+position(?:\s+in)?)?", Decimal("0.25")),
        (r"\b(?:a|one)\s+third(?:\s+of)?(?:\s+(?:my|the))?(?:\s+position(?:\s+in)?)?", Decimal(1) / Decimal(3)),
    ):
        if text.take(pattern):
            return value
    return None


def _find_quantity(text: _Text) -> tuple[Decimal | None, str | None]:
    match = text.take(rf"(?<![\w.$])(-\s?)?({NUM})\s*(k)?(?![\w.])(?:\s*(?:shares?|units?|stocks?|x)\b)?")
    if not match:
        return None, None
    raw = (match.group(1) or "").replace(" ", "") + match.group(2) + (match.group(3) or "")
    value = _number(match.group(2))
    if value is not None and match.group(3):
        value *= 1000
    if value is None or match.group(1) or value <= 0:
        return None, raw
    return value, None


def _symbol_text(text: _Text) -> str | None:
    """What is left once every recognised phrase is cut out: the company or ticker."""
    tokens = [t.strip(".'-/") for t in re.findall(r"\$?[A-Za-z][A-Za-z&'.\-/]*|&", text.text)]
    keep = [bool(t) and t.lower() not in _FILLER for t in tokens]
    # "Bank of America", "Johnson & Johnson": a joining word between two name words is part of the name
    for i in range(1, len(tokens) - 1):
        if tokens[i].lower() in ("of", "and", "&") and keep[i - 1] and keep[i + 1]:
            keep[i] = True
    words = [t for t, k in zip(tokens, keep, strict=True) if k]
    return " ".join(words) or None


def _order_intent(body: str, side: str, brokers: Sequence[BrokerRef], kind: IntentKind = IntentKind.ORDER) -> Intent:
    text = _Text(_words_to_numbers(body))
    found, choice = _find_brokers(text, brokers)
    tif = _find_tif(text)
    limit, bad_limit = _find_limit(text)
    notional = _find_notional(text)
    portion = _find_portion(text) if notional is None else None
    quantity, bad_quantity = _find_quantity(text)
    if limit is None and text.take(r"\blimit(?:\s+order)?\b"):
        return _clarify("What limit price? For example: 'limit $180'.", side=side, brokers=found)
    symbol = _symbol_text(text)
    fields = {"side": side, "symbol_text": symbol, "brokers": found, "broker_choice": choice, "time_in_force": tif}
    if bad_limit is not None:
        return _clarify(f"The limit price must be a positive number; got {bad_limit}. What limit price do you want?", **fields)
    if bad_quantity is not None:
        return _clarify(f"The quantity must be a positive number of shares; got {bad_quantity}. How many shares?", **fields)
    if symbol is None:
        if quantity is None and notional is None and portion is None:
            return _clarify(f"Which stock do you want to {side}, and how many shares (or what dollar amount)? "
                            f"For example: '{side} 10 shares of Apple'.", **fields)
        return _clarify(f"Which stock do you want to {side}? For example: '{side} 10 shares of Apple'.", **fields)
    if quantity is None and notional is None and portion is None:
        what = "buy" if side == "buy" else "sell"
        return _clarify(f"How many shares of {symbol} do you want to {what}, or what dollar amount?", **fields)
    if portion is not None and side == "buy":
        return _clarify(f"How many shares of {symbol} do you want to buy, or what dollar amount?", **fields)
    if quantity is not None and notional is not None:
        notional = None  # "10 shares for $500": the share count is what the person will see filled
    return Intent(
        kind=kind, side=side, symbol_text=symbol, quantity=quantity, portion=portion, notional=notional,
        order_type="limit" if limit is not None else "market", limit_price=limit, time_in_force=tif,
        brokers=found, broker_choice=choice,
    )


# ------------------------------------------------------------------------------------ the parser


def parse_request(text: str, brokers: Sequence[BrokerRef]) -> Intent:
    """One chat message -> the intent it expresses (or a question back)."""
    raw = re.sub(r"\s+", " ", (text or "").replace("’", "'")).strip()
    low = raw.lower().rstrip(".!")
    if not low:
        return _clarify("What would you like to do? " + _EXAMPLES)
    body = re.sub(rf"^(?:{_POLITE}\b[\s,]*)+", "", low).strip()
    original_body = raw[len(raw) - len(body):] if body and raw.lower().endswith(body) else raw

    follow = _follow_up(original_body, body, brokers)
    if follow is not None:
        return follow
    if re.match(r"^(?:help|\?|what can (?:you|i) do|what do you do|how does (?:this|it) work|commands|examples?)\b", body):
        return Intent(kind=IntentKind.HELP)
    if re.search(r"\bcancel\b", body):
        return _cancel_intent(original_body, brokers)
    if re.match(r"^(?:should|shall|would it be|is it (?:a )?(?:good|smart|wise)|do you (?:think|recommend)|what should)\b", body):
        return _clarify("I don't give investment advice. Tell me what to trade, for example: 'buy 10 shares of Apple on TradeSphere'.")
    buy = re.match(rf"^(?:{BUY_VERBS})\b", body)
    sell = re.match(rf"^(?:{SELL_VERBS})\b", body)
    if buy or sell:
        other = SELL_VERBS if buy else BUY_VERBS
        if re.search(rf"\b(?:and|then)\s+(?:{other})\b", body) and not re.search(r"\b(?:it|them)\b", body):
            return _clarify("Do you want to buy or sell? Please ask for one order at a time.")
        verb = (buy or sell).group(0)
        if re.match(r"^(?:short)\b", body):
            return _clarify("Short selling is not supported; you can sell shares you hold.")
        return _order_intent(original_body[len(verb):], "buy" if buy else "sell", brokers)
    return _question_intent(original_body, body, brokers)


_EXAMPLES = "For example: 'Buy 10 shares of Apple through TradeSphere' or 'Show me portfolios from both brokers'."


def _follow_up(original: str, low: str, brokers: Sequence[BrokerRef]) -> Intent | None:
    resize = re.match(r"^(?:no[, ]+|actually[, ]+|wait[, ]+)*(?:make (?:it|that)|change (?:it|that)(?: to)?|instead|actually|rather|let's do|lets do|do)\s+(.*)$", low)
    if resize and not re.match(r"^(?:do the same|do it|do that)", low):
        rest = _Text(_words_to_numbers(resize.group(1)))
        notional = _find_notional(rest)
        quantity, bad = _find_quantity(rest)
        if bad is not None:
            return _clarify(f"The quantity must be a positive number of shares; got {bad}.")
        if quantity is not None or notional is not None:
            return Intent(kind=IntentKind.ORDER, quantity=quantity, notional=notional, follow_up=FollowUp.RESIZE)
    if re.search(r"\b(?:do the same|same thing|same order|the same|same)\b.*\b(?:on|at|with|through|via|for)\b|\b(?:also|again|too)\b.*\b(?:on|at|through|via)\b.*\b(?:too|as well|also)?\b|\brepeat (?:it|that|the order)", low) and not re.match(rf"^(?:{BUY_VERBS}|{SELL_VERBS})\b", low):
        text = _Text(low)
        other = bool(text.take(r"\b(?:the )?other (?:broker|one)\b"))
        found, choice = _find_brokers(text, brokers)
        if found or other:
            return Intent(kind=IntentKind.ORDER, brokers=found, follow_up=FollowUp.REPEAT_ON, other_broker=other)
    reverse = re.match(rf"^(?:and\s+|then\s+|now\s+)*({BUY_VERBS}|{SELL_VERBS})\s+(?:it|them|those|these|that|the shares|those shares)\b(.*)$", low)
    if reverse:
        side = "sell" if re.match(rf"^(?:{SELL_VERBS})$", reverse.group(1)) else "buy"
        rest = _Text(_words_to_numbers(reverse.group(2)))
        found, choice = _find_brokers(rest, brokers)
        tif = _find_tif(rest)
        limit, _bad = _find_limit(rest)
        quantity, _ = _find_quantity(rest)
        return Intent(kind=IntentKind.ORDER, side=side, quantity=quantity, time_in_force=tif, brokers=found,
                      order_type="limit" if limit else "market", limit_price=limit, follow_up=FollowUp.REVERSE)
    return None


def merge_follow_up(previous: Intent, current: Intent, brokers: Sequence[BrokerRef]) -> Intent:
    """A follow-up made concrete against the previous order in the conversation."""
    if previous is None or previous.kind is not IntentKind.ORDER or current.follow_up is FollowUp.NONE:
        if current.follow_up is FollowUp.NONE:
            return current
        return _clarify("Which order do you mean? Please say the whole order, e.g. 'buy 20 AMD on Velocity'.")
    if current.follow_up is FollowUp.RESIZE:
        return replace(previous, quantity=current.quantity, notional=current.notional, portion=None, follow_up=FollowUp.NONE)
    if current.follow_up is FollowUp.REPEAT_ON:
        targets = current.brokers
        if current.other_broker:
            targets = tuple(b.id for b in brokers if b.id not in previous.brokers and b.id not in targets) + targets
        if not targets:
            return _clarify("Which broker should I repeat it on?")
        return replace(previous, brokers=targets, broker_choice=None, follow_up=FollowUp.NONE)
    side = current.side or ("sell" if previous.side == "buy" else "buy")
    quantity = current.quantity or previous.quantity
    return replace(
        previous, side=side, quantity=quantity, notional=None if quantity else previous.notional, portion=None,
        order_type=current.order_type, limit_price=current.limit_price, time_in_force=current.time_in_force,
        brokers=current.brokers or previous.brokers, follow_up=FollowUp.NONE,
    )


def _cancel_intent(original: str, brokers: Sequence[BrokerRef]) -> Intent:
    text = _Text(original)
    found, choice = _find_brokers(text, brokers)
    ref = None
    match = text.take(r"\b(?:order\s+(?:id\s+)?)?#?([0-9a-f]{12,32}|agent-[0-9a-f]+|[A-Za-z0-9][A-Za-z0-9._:\-]*-\d+)\b")
    if match and any(ch.isdigit() for ch in match.group(1)):
        ref = match.group(1)
    elif text.take(r"\b(?:all|every|everything)\b"):
        ref = "all"
    text.take(r"\bcancel\b")
    text.take(r"\b(?:open|queued|pending|working|outstanding|limit)\b")
    symbol = _symbol_text(text)
    return Intent(kind=IntentKind.CANCEL, symbol_text=symbol, order_ref=ref, brokers=found, broker_choice=choice)


def _question_intent(original: str, low: str, brokers: Sequence[BrokerRef]) -> Intent:
    text = _Text(_words_to_numbers(original))
    found, choice = _find_brokers(text, brokers)
    common = {"brokers": found, "broker_choice": choice}
    cost = re.search(r"\b(?:which|what) broker\b.*\b(?:cheap|cheaper|cheapest|less|lower|lowest|fees?|cost)\b|\bhow much (?:would|will|does|do|did) it cost\b|\bwhat would it cost\b|\bcost (?:of|to) (?:buy|sell)", low)
    if cost and re.search(r"\d|\b(?:shares?|of)\b", text.text):
        side = "sell" if re.search(rf"\b(?:{SELL_VERBS})\b", low) else "buy"
        body = re.sub(r"(?i)\b(?:which|what) broker\b|\bhow much (?:would|will|does|do|did) it cost\b|\bwhat would it cost\b|\bis\b|\bcheap\w*\b|\bless\b|\blower\w*\b|\bfees?\b|\bcosts?\b|\bbuy(?:ing)?\b|\bsell(?:ing)?\b|\bto\b|\bfor\b|\?", " ", text.text)
        intent = _order_intent(body, side, [], kind=IntentKind.COST_COMPARISON)
        if intent.kind is IntentKind.CLARIFY:
            return _clarify("Which stock and how many shares? For example: 'Which broker is cheaper for 200 shares of AMZN?'")
        return intent
    if re.search(r"\bcompare\b.*\bbrokers?\b|\b(?:which|what) broker(?: is)? (?:the )?(?:fast|quick|cheap|best|better)\w*|\bbroker (?:fees|comparison|profiles?)\b|\bwhat are (?:the|their) fees\b|\bfee schedules?\b|\babout the brokers\b", low) or (choice in ("fastest", "cheapest") and re.search(r"\bwhich\b|\bwho\b", low)):
        return Intent(kind=IntentKind.COMPARE_BROKERS, **common)
    if re.search(r"\btotal\b.*\b(?:value|worth|equity|balance)\b|\bnet worth\b|\bhow much (?:is|are) (?:my|all my) (?:account|portfolio|holdings|positions)s?(?: \w+)? worth\b|\bwhat(?:'s| is) my portfolio worth\b", low):
        return Intent(kind=IntentKind.TOTAL_VALUE, **common)
    if re.search(r"\b(?:cash|buying power|balance|account)\b", low) and not re.search(r"\bportfolio|positions|holdings\b", low):
        return Intent(kind=IntentKind.ACCOUNT, **common)
    if re.search(r"\border(?:s| history| status| book|s? list)\b|\bmy orders?\b|\bblotter\b|\bqueued\b|\bpending\b", low):
        text.take(r"\b(?:show|list|see|view|display|what are|what's|whats|get)\b")
        text.take(r"\b(?:open|queued|pending|working|active|outstanding|recent|all|order history|history|orders?|status|book)\b")
        return Intent(kind=IntentKind.ORDERS, symbol_text=_orders_symbol(text), **common)
    if re.search(r"\bportfolios?\b|\bpositions?\b|\bholdings?\b|\bwhat do i (?:own|hold|have)\b|\bmy (?:stocks|shares|investments)\b", low):
        return Intent(kind=IntentKind.PORTFOLIO, **common)
    quote = re.search(r"\btrading at\b|\bprice\b|\bquote\b|\bhow much (?:is|are|does|do)\b|\bworth\b|\bgoing for\b|\bwhat(?:'s| is) .+ at\b|\bcost(?:s)?\b", low)
    if quote:
        text.take(r"(?i)\b(?:what(?:'s| is)?|whats|how much (?:is|are|does|do)|get( me)?|give me|show( me)?|tell me|check|current|latest|last|share|stock|the|price|prices|of|for|quote|trading at|trading|going for|worth|one share|a share|cost|costs|right now|now|today|at)\b")
        symbol = _symbol_text(_Text(re.sub(r"(?i)\b(?:what(?:'s| is)?|whats|how|much|is|are|does|do|get|give|show|tell|check|current|latest|last|share|stock|price|prices|quote|trading|going|worth|one|cost|costs|right|now|today|at|me)\b", " ", text.text)))
        if symbol:
            return Intent(kind=IntentKind.QUOTE, symbol_text=symbol, **common)
        return _clarify("Which stock? For example: 'What is Apple trading at?'")
    return _clarify("I didn't understand that. " + _EXAMPLES)


def _orders_symbol(text: _Text) -> str | None:
    symbol = _symbol_text(_Text(re.sub(r"(?i)\b(?:show|list|see|view|display|what|are|whats|my|me|get|all|open|history|status)\b", " ", text.text)))
    if symbol and _TICKER_WORD.match(symbol) is None and len(symbol.split()) > 3:
        return None
    return symbol
