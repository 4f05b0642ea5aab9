"""Offline natural-language parser: one chat message in, one structured trading `Intent` out.

The embedded offline model uses this to read what a person typed; the planner then chooses the
tool calls. Pure and deterministic (stdlib plus rapidfuzz for broker-name typos): no network, no
model, no broker imports. Amounts are `Decimal` end to end, never float.

How a message is read: broker names, timing, portions, prices, dollar amounts and share counts are
taken out of the text one kind of phrase at a time, so what remains (minus filler words at its
edges) is the company or ticker exactly as typed. The kind of request is then decided from the
keywords and from which of those slots were found.

The parser never guesses a trade. Anything missing, contradictory or out of range becomes a
CLARIFY intent whose question names what is missing. Choices made on ambiguous wording:
- a share count and a dollar amount together ("10 AAPL for $500"): the share count wins and the
  dollar amount is dropped, because shares are what the person counts and the broker prices them;
- "close", "exit", "liquidate" or "get rid of" with no size sells the whole position (that is
  what the words mean); "sell", "dump", "unload" or "trim" with no size asks how many;
- "tomorrow" with no other timing is an at-the-open (opg) order;
- a bare number ("20") is not read as a resize: only "make it 20", "actually 20", "20 instead";
- "the other broker" outside a follow-up, or "on X or Y" without "cheapest"/"fastest", asks which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from rapidfuzz import fuzz, process


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
    """The broker id used in tool names, e.g. "tradesphere"."""
    name: str
    """The display name from the broker profile, e.g. "VelocityBrokers"."""


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    side: str | None = None
    """"buy" or "sell"."""
    symbol_text: str | None = None
    """The company or ticker as typed ("Apple", "BRK.B"); the broker's symbol directory resolves it."""
    quantity: Decimal | None = None
    """Shares."""
    portion: Decimal | None = None
    """Fraction of the held position (1, 0.5, 1/3, ...); the caller rounds shares down."""
    notional: Decimal | None = None
    """Dollars to spend or raise."""
    order_type: str = "market"
    """"market" or "limit"."""
    limit_price: Decimal | None = None
    time_in_force: str = "day"
    """"day", "gtc", "opg" (at the open) or "cls" (at the close)."""
    brokers: tuple[str, ...] = ()
    """Broker ids named explicitly; "both brokers" names them all."""
    broker_choice: str | None = None
    """"cheapest", "fastest" or "all" ("both brokers")."""
    follow_up: FollowUp = FollowUp.NONE
    order_ref: str | None = None
    """For CANCEL: an order id or client order id, or "all"."""
    question: str | None = None
    """For CLARIFY: the question to ask back, naming what is missing."""
    other_broker: bool = False
    """For an unmerged follow-up: "the other broker", i.e. every broker the previous order did not use."""


# ------------------------------------------------------------------------------------ vocabulary


def _words(text: str) -> list[str]:
    return text.split()


def _kw(*alternatives: str) -> re.Pattern[str]:
    """A case-insensitive pattern matching any of the alternatives as whole words."""
    return re.compile("|".join(rf"\b(?:{a})\b" for a in alternatives), re.I)


_NUM = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
_SCALE = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "million": 1_000_000}
_PREP = r"(?:through|thru|via|on|at|with|using|in|from|to|for|over)"
_BROKER_TAIL = r"(?:\s+(?:brokers?|brokerage|app|platform))?"
_GENERIC_SUFFIXES = {"broker", "brokers", "brokerage", "markets", "trading", "securities"}

_SMALL = dict(zip(_words("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                         "fifteen sixteen seventeen eighteen nineteen"), range(20), strict=True))
_SMALL |= {w: 10 * i for i, w in enumerate(_words("twenty thirty forty fifty sixty seventy eighty ninety"), start=2)}
_NUMWORD = "|".join(sorted([*_SMALL, "hundred", "thousand", "million", "dozen"], key=len, reverse=True))
_WORD_NUMBER = re.compile(
    rf"\b(?:an?\s+(?=(?:hundred|thousand|million|dozen)\b))?(?:{_NUMWORD})(?:(?:\s+and\s+|[\s-]+)(?:{_NUMWORD}))*\b"
    r"|\b(?:a\s+)?(?:couple|pair)(?:\s+of)?\b", re.I)
# "one" is a pronoun after these words ("the cheaper one", "Capital One"), not a count.
_ONE_AS_PRONOUN = set(_words("capital the which that this each every any no some other another same"))

_TIF = [
    ("gtc", _kw(r"good[\s-]*(?:'?til+|until|till)[\s-]*cancel+(?:l?ed)?", "gtc", r"(?:until|till|til)\s+(?:i\s+)?cancel\w*")),
    ("opg", _kw(
        r"(?:(?:tomorrow|tmrw|tmr)\s+)?(?:at|on|by)\s+(?:the\s+)?(?:market\s+)?open(?:ing)?(?:\s+bell)?"
        r"(?:\s+(?:tomorrow|tmrw|tmr))?",
        r"(?:when|once|as\s+soon\s+as)\s+(?:the\s+)?(?:market|exchange)\s+opens?(?:\s+(?:tomorrow|tmrw))?",
        r"first\s+thing(?:\s+(?:tomorrow|tmrw))?(?:\s+(?:morning|in\s+the\s+morning))?", r"market[\s-]on[\s-]open|opg|moo")),
    ("cls", _kw(
        r"(?:at|on|near|before|into|by)\s+(?:the\s+)?(?:market\s+)?clos(?:e|ing)(?:\s+bell)?(?:\s+(?:today|tomorrow))?",
        r"when\s+(?:the\s+)?market\s+closes", r"market[\s-]on[\s-]close|moc|cls")),
    ("day", _kw(r"(?:as\s+a\s+)?day\s+order|good\s+for\s+(?:the\s+)?day|for\s+the\s+day|today")),
]
_TOMORROW = _kw(r"(?:tomorrow|tmrw|tmr)(?:\s+morning)?")
_MARKET_WORDS = _kw(r"(?:as\s+a\s+|at\s+)?(?:the\s+)?market(?:\s+price)?(?:\s+order)?",
                    r"at\s+(?:the\s+)?(?:current|best\s+available)\s+price", "mkt")

_ALL_BROKERS = re.compile(
    rf"(?:\b(?:{_PREP}|across)\s+)?(?:\b(?:both|all|each|every)\s+(?:of\s+)?(?:the\s+|my\s+)?"
    r"(?:brokers?|brokerages?|accounts?)\b|\bboth\b|\beverywhere\b|\bacross\s+(?:the\s+)?brokers\b)", re.I)
_OTHER_BROKER = re.compile(
    rf"(?:\b{_PREP}\s+)?\bthe\s+other\s+(?:brokers?|brokerage|one|account)\b|\bother\s+brokers?\b", re.I)
_CHOICES = [
    ("cheapest", _kw(r"(?:cheap(?:est|er)|low(?:est|er)[\s-](?:fees?|costs?|commissions?)|(?:least|less)\s+expensive)"
                     r"(?:\s+(?:one|broker|brokerage|option))?")),
    ("fastest", _kw(r"(?:fast(?:est|er)|quick(?:est|er)|speediest|lowest\s+latency)"
                    r"(?:\s+(?:one|broker|brokerage|option|execution|fills?))?")),
]

_PORTION_WORDS = [
    (Decimal(1), re.compile(r"\b(?:all|everything|entire|whole)\b(?:\s+of)?", re.I)),
    (Decimal("0.5"), re.compile(r"\b(?:a\s+|one\s+)?half\b(?:\s+of)?", re.I)),
]
_FRACTION = re.compile(r"\b(a|one|two|three)\s+(thirds?|quarters?|fourths?|fifths?)\b(?:\s+of)?", re.I)
_DENOMINATOR = {"third": 3, "quarter": 4, "fourth": 4, "fifth": 5}
_PERCENT = re.compile(rf"(?P<n>-?{_NUM})\s*(?:%|percent\b|pct\b)(?:\s+of)?", re.I)

_PRICE = rf"\$?\s*(?P<p>-?{_NUM})"
_PER_SHARE = r"(?:\s*(?:per|a|/)\s*share|\s*each|\s*/sh)?"
_LIMITS = [re.compile(p, re.I) for p in (
    rf"\b(?:(?:with|as|using)\s+)?(?:a\s+)?(?:limit|lmt)(?:\s+order)?(?:\s+price)?(?:\s+(?:of|at|@|=|is|to))?\s*"
    rf"(?:of\s+)?{_PRICE}",
    rf"(?:\bat\b|@)\s*{_PRICE}{_PER_SHARE}(?:\s+or\s+(?:better|less|lower|below|under|cheaper|more|higher|above))?"
    r"(?:\s+(?:limit|lmt)(?:\s+order)?)?",
    r"\b(?:if|when|once)\s+(?:it|it's|its|the\s+price|the\s+stock|the\s+shares|they|that|price)?\s*"
    r"(?:drops?|falls?|dips?|goes\s+(?:down|up)|gets|comes\s+down|hits|reaches|rises|climbs|trades|is)"
    rf"\s*(?:back\s+)?(?:down\s+to|up\s+to|to|below|under|at|above|over)?\s*{_PRICE}",
    rf"\b(?:for\s+|at\s+|paying\s+)?(?:no|not)\s+(?:more|higher|less|lower)\s+than\s*{_PRICE}{_PER_SHARE}",
    rf"\b(?:max(?:imum)?|min(?:imum)?)\s+(?:price\s+)?(?:of\s+)?{_PRICE}",
    rf"\b(?:for\s+|at\s+|paying\s+)?\$?\s*(?P<p>-?{_NUM})\s*(?:per|a|/)\s*share\b",
)]
_LIMIT_WORD = _kw(r"(?:limit|lmt)(?:\s+order)?")
_WORTH_OF = r"\b(?:\s+worth)?(?:\s+(?:of|in))?"
_NOTIONALS = [re.compile(p, re.I) for p in (
    rf"(?:\bfor\s+)?(?:\b(?:about|around|roughly)\s+)?\$\s*(?P<n>-?{_NUM})\s*(?P<k>k|m|thousand|grand|million)?{_WORTH_OF}",
    rf"(?:\bfor\s+)?(?P<n>-?{_NUM})\s*(?P<k>k|m|thousand|million)?\s*(?P<u>dollars?|usd|bucks|grand){_WORTH_OF}",
    rf"\busd\s*(?P<n>-?{_NUM})\s*(?P<k>k|m)?\b(?:\s+(?:of|in))?",
    rf"(?P<n>-?{_NUM})\s*(?P<k>k)?\s+worth\b(?:\s+(?:of|in))?",
)]
_QUANTITY = re.compile(rf"(?<![\w.$])(?P<n>-?{_NUM})(?P<k>k\b)?(?:\s+(?:shares?|shs?|stocks?|units?)\b)?", re.I)
_ONE_SHARE = re.compile(r"\ba\s+share\b(?!s)", re.I)

_BUY = re.compile(r"(?<!best\s)\b(?:buy|purchase|acquire|grab|pick\s+up|go\s+long(?:\s+on)?|long)\b"
                  r"|\bget\b(?:\s+(?:me|us)\b)?(?=\s+(?:-?\d|\$|some\b|a\s+few\b|a\s+bit\b|shares\b))", re.I)
_SELL = _kw(r"sell|dump|unload|offload|trim|liquidate|exit|close(?:\s+out)?|get\s+rid\s+of|cash\s+out(?:\s+of)?")
_CLOSING = _kw(r"liquidate|exit|close|get\s+rid\s+of|cash\s+out")

_HELP = re.compile(
    r"^(?:help|help me|\?+|hi|hello|hey|hey there|menu|commands|options|examples?|usage|get started|start)[\s?!.]*$"
    r"|\bwhat can (?:you|i) do\b|\bwhat do you do\b|\bhow does (?:this|it) work\b"
    r"|\bhow (?:do|can) i (?:use|buy|sell|trade|place)\b|\bwhat (?:can|do) you (?:support|understand)\b|\bwhat commands\b",
    re.I)
_NEGATION = re.compile(
    r"\b(?:don'?t|do not|dont|never|no need to)\s+(?:\w+\s+){0,2}?(?:buy|sell|cancel|purchase|trade|place)\b"
    r"|^(?:never ?mind|forget (?:it|that|about it)|nvm)[\s.!]*$", re.I)
_ADVICE = _kw(r"should (?:i|we)", r"is (?:it|this|now) (?:a )?(?:good|smart|wise|bad|right)", r"recommend\w*|advice|advise",
              r"suggest\w*|worth (?:buying|it)|good (?:buy|investment|stock)|what (?:stocks? )?should i",
              r"will \S+ go (?:up|down)|predict\w*|you think|your (?:pick|choice|call)|best (?:stocks?|ones?|picks?)",
              "something good")
_SHORT = re.compile(r"^(?:go\s+)?short\b|\bshort[\s-]sell", re.I)
_CANCEL = _kw(r"cancel\w*|revoke|withdraw|scrap", r"kill\s+(?:my|the|that|all|order)", r"pull\s+(?:my|the|that)\s+order",
              r"delete\s+(?:my\s+|the\s+|that\s+|all\s+)?orders?")
_ORDER_ID = re.compile(r"(?:\border\s*(?:#|id|number|no\.?)?\s*:?\s*|#)(?P<ref>[A-Za-z0-9][\w-]*\d[\w-]*|\d+)"
                       r"|\b(?P<bare>(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]{6,}(?:-[A-Za-z0-9]+)*)\b", re.I)
_COST_QUESTION = _kw(
    r"how much (?:would|will|does|do|did|is|to|it)\b.*\b(?:cost|fees?|commissions?|charge|pay)",
    r"how much (?:would|will) (?:it|i|that|they)", r"what (?:would|will|does|do)\b.*\b(?:cost|fees?|commissions?|charge)",
    r"which (?:broker|one|is|would)\b.*\b(?:cheap\w*|fees?|costs?|commissions?|expensive|charges?)",
    r"(?:cheap\w*|expensive)\b.*\bwhich", r"estimate\w*|is it cheaper|cheaper (?:to|on|at|with|through)",
    r"compar\w+\b.*\b(?:costs?|fees?|prices?)", r"cost (?:of|to|for)|what if i|(?:fees?|commissions?)\s+(?:for|on|to)")
_REPEAT = _kw("same|again|repeat|too|as well|also|likewise|copy")
_LEAD = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|um+|uh+|yo|please|pls|plz|kindly|hmm+|well|and|then|also|now|alright|great|cool"
    r"|thanks|thx|actually)\b[\s,!.:-]*)*"
    r"(?:(?:(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+)?|i(?:'d|\s+would)\s+like\s+(?:you\s+)?to\s+"
    r"|i\s+want\s+(?:you\s+)?to\s+|i\s+wanna\s+|i\s+need\s+(?:you\s+)?to\s+|go\s+ahead\s+and\s+|let'?s\s+|let\s+me\s+"
    r"|i'?m\s+(?:looking|going|trying)\s+to\s+|please\s+|pls\s+))*", re.I)
_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|wats|how|which|where|who|when|why|is|are|am|do|does|did|show|list|display|tell|check|view"
    r"|see|give\s+me|gimme|pull\s+up|bring\s+up|lemme\s+see)\b", re.I)
_AMEND = re.compile(
    r"^(?:(?:no|nah|nope|oh|wait|sorry|ok|okay|hmm+|um+|actually|scratch that|on second thought|correction)\b[\s,.!:-]*)*"
    r"(?:(?:please\s+|pls\s+)?(?:make|change|set|update|switch|adjust|bump|increase|decrease|reduce|lower|raise|modify"
    r"|amend)\s+(?:it|that|this|the\s+(?:order|quantity|qty|size|amount|number|shares|trade|limit|price))\b"
    r"|actually\b|instead\b)|^(?:no|nah|nope|wait|sorry|ok|okay|actually|correction)\b[\s,.!:-]+|\binstead[\s.!]*$", re.I)

# Checked in this order on the lowercase text; the first that matches decides the kind of question.
_INFO_KINDS = [
    (IntentKind.TOTAL_VALUE, _kw(
        r"total\b.*\b(?:value|worth|balance|portfolio|holdings|equity)", "net worth",
        r"(?:portfolios?|accounts?|holdings|everything|it all)\b.*\bworth", r"worth\b.*\b(?:in total|altogether|overall|combined)",
        r"(?:combined|overall|aggregate) (?:value|portfolio|balance)",
        r"how much (?:money )?(?:do i have|have i got) (?:in total|altogether|overall)")),
    (IntentKind.ACCOUNT, _kw(r"cash|buying power|balances?|funds|how much money",
                             r"account (?:info|details|summary|status|overview)", r"(?:pay|paid|spent)\b.*\bfees?")),
    (IntentKind.COMPARE_BROKERS, _kw(r"how (?:long|fast|quick(?:ly)?)|latency|speed")),
    (IntentKind.ORDERS, _kw(r"orders?|trades|trade history|fills?|executions?|transactions?|queued|pending",
                            r"what did i (?:buy|sell)", r"did my .* (?:fill|go through|execute)")),
    (IntentKind.PORTFOLIO, _kw(r"portfolios?|positions?|holdings?|what am i holding|my (?:stocks|shares)|how many",
                               r"what (?:do|did) i (?:own|hold|have)|do i (?:own|hold|have)|how am i doing",
                               r"p&l|p/l|pnl|profits?|gains?|losses|unrealized")),
    (IntentKind.COMPARE_BROKERS, _kw(r"compar\w*|brokers?|fees?|commissions?|charges?|slippage|profiles?|difference",
                                     r"fast(?:est|er)?|quick(?:est|er)?|cheap(?:est|er)?|expensive|vs\.?|versus")),
    (IntentKind.QUOTE, _kw(r"quotes?|prices?|trading at|going for|trading|valued at|current(?:ly)? (?:at|price)",
                           r"how much (?:is|are|does|do)", r"what(?:'s| is| are|s)? .+ at")),
    (IntentKind.ACCOUNT, _kw(r"accounts?")),
]

# Words trimmed from the edges of what is left, to find the stock: one set per kind of request.
_COMMON_FILLER = frozenset(_words(
    "a an the of my me us our some shares share stock stocks worth in on at for to from with via through thru using "
    "please pls plz thanks thank you thx ty now right today immediately asap and then also too just position positions "
    "holding holdings stake broker brokers brokerage account is are which whichever whatever go ahead i want wanna would "
    "like i'd id can could will kindly let's lets need quickly as well instead more another additional extra units unit "
    "few several bunch lot lots many any actually ok okay hey so yo back again - & , ? ! . has offers with"))
_PRONOUNS = frozenset(_words("it them those these that this same they"))
_FILLER = {
    IntentKind.ORDER: _COMMON_FILLER,
    IntentKind.COST_COMPARISON: _COMMON_FILLER | _PRONOUNS | frozenset(_words(
        "what what's whats how much would it cost costs be fees fee commission commissions estimate estimated compare "
        "comparing where between or than expensive less charge pay if does do did cheaper total")),
    IntentKind.CANCEL: _COMMON_FILLER | _PRONOUNS | frozenset(_words(
        "cancel cancelled canceled revoke withdraw scrap kill pull delete order orders open pending queued working active "
        "limit market buy sell gtc day all every everything")),
    IntentKind.QUOTE: _COMMON_FILLER | frozenset(_words(
        "what what's whats wats how much is does do show give get gimme check tell see current currently price prices "
        "quote quotes trading traded trade going rn latest last per cost costs valued it's its stand standing")),
}
_FILLER[IntentKind.ORDERS] = _FILLER[IntentKind.QUOTE] | _FILLER[IntentKind.CANCEL] | frozenset(_words(
    "history recent list display view did fill filled go went through execute executed status have"))
_FILLER[IntentKind.PORTFOLIO] = _FILLER[IntentKind.ORDERS] | frozenset(_words(
    "portfolio portfolios hold own held holding am doing many p&l pnl profit profits gains losses"))
_RESIZE_FILLER = _COMMON_FILLER | _PRONOUNS | frozenset(_words(
    "make change set update switch adjust bump increase decrease reduce lower raise modify amend order quantity qty size "
    "amount number trade limit price up down into no nah nope oh wait sorry hmm scratch correction second thought"))
_REPEAT_FILLER = _COMMON_FILLER | _PRONOUNS | frozenset(_words(
    "do place same thing trade order again repeat copy likewise there here"))
_NOT_A_BROKER = _COMMON_FILLER | _PRONOUNS | frozenset(_words(
    "cash market margin limit open close other each every both all"))


# ------------------------------------------------------------------------------------ extraction


class _Text:
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
class _Slots:
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


def _decimal(number: str, scale: str | None = None) -> Decimal:
    value = Decimal(number.replace(",", "")) * _SCALE.get((scale or "").lower(), 1)
    # 1.5k -> 1500, not 1500.0 or 1.5E+3, so the caller's strings stay tidy.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _broker_aliases(broker: BrokerRef) -> set[str]:
    """Every way a person may write this broker's name, as lowercase space-separated words."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", broker.name.strip()).lower().split()
    aliases = {" ".join(re.split(r"[\s_-]+", broker.id.lower())), " ".join(words)}
    if len(words) > 1 and words[-1] in _GENERIC_SUFFIXES:
        aliases.add(" ".join(words[:-1]))  # "Velocity" for VelocityBrokers, "Nimbus" for Nimbus Markets
    return aliases


def _take_brokers(text: _Text, brokers: Sequence[BrokerRef], slots: _Slots) -> None:
    aliases = sorted({a for b in brokers for a in _broker_aliases(b)}, key=lambda a: -len(a.replace(" ", "")))
    by_key = {a.replace(" ", ""): b.id for b in brokers for a in _broker_aliases(b)}
    found: list[tuple[int, str]] = []
    if aliases:
        # longest alias first, so "velocity brokers" wins over "velocity"; "trade sphere" also matches "tradesphere"
        alternatives = "|".join(r"[\s-]*".join(map(re.escape, a.split())) for a in aliases)
        exact = re.compile(rf"(?:\b{_PREP}\s+)?(?:\bthe\s+)?\b(?P<alias>{alternatives}){_BROKER_TAIL}\b", re.I)
        found += [(m.start(), by_key[re.sub(r"[\s-]", "", m["alias"].lower())]) for m in text.take(exact)]
        found += _take_fuzzy_brokers(text, by_key)
    if text.take(_ALL_BROKERS):
        slots.broker_choice = "all"
        found += [(-1, b.id) for b in brokers]
    slots.other_broker = bool(text.take(_OTHER_BROKER))
    slots.brokers = tuple(dict.fromkeys(broker_id for _, broker_id in sorted(found, key=lambda f: f[0])))


def _take_fuzzy_brokers(text: _Text, by_key: dict[str, str]) -> list[tuple[int, str]]:
    """Broker names with a small typo ("tradesphre"), only right after a preposition so other words never match."""
    candidate = re.compile(
        rf"\b{_PREP}\s+(?:the\s+)?(?P<w1>[A-Za-z][A-Za-z-]{{3,}})(?:\s+(?P<w2>[A-Za-z][A-Za-z-]{{2,}}))?", re.I)
    found, spans = [], []
    for m in candidate.finditer(text.s):
        best = None  # (alias key, score, end of the words used); two words only when they score at least as well
        for group, words in (("w1", m["w1"]), ("w2", m["w1"] + (m["w2"] or ""))):
            hit = process.extractOne(words.lower().replace("-", ""), list(by_key), scorer=fuzz.ratio, score_cutoff=85)
            if hit and (best is None or hit[1] >= best[1]) and (group == "w1" or m["w2"]):
                best = (hit[0], hit[1], m.end(group))
        if best:
            tail = re.match(_BROKER_TAIL, text.s[best[2]:], re.I)
            spans.append((m.start(), best[2] + (tail.end() if tail else 0)))
            found.append((m.start(), by_key[best[0]]))
    text.cut(spans)
    return found


def _take_tif(text: _Text, slots: _Slots) -> None:
    stated = {tif for tif, pattern in _TIF if text.take(pattern)}
    if text.take(_TOMORROW) and not stated:
        stated = {"opg"}  # "sell it tomorrow": the first chance tomorrow is the open
    slots.tif_conflict = len(stated) > 1
    slots.tif = next(iter(stated)) if len(stated) == 1 else None


def _words_to_numbers(text: str) -> str:
    """'a hundred and fifty' -> 150, 'twenty-five' -> 25, 'a dozen' -> 12, 'a couple of' -> 2."""

    def value(m: re.Match[str]) -> str:
        words = re.findall(r"[a-z]+", m.group().lower())
        if words[-1] in ("couple", "pair", "of") and not set(words) & set(_SMALL):
            return " 2 "
        before = re.findall(r"[a-z]+", text[: m.start()].lower())
        if words == ["one"] and before and before[-1] in _ONE_AS_PRONOUN:
            return m.group()
        total = current = 0
        for word in words:
            if word in _SMALL:
                current += _SMALL[word]
            elif word in ("hundred", "dozen"):
                current = max(current, 1) * (100 if word == "hundred" else 12)
            elif word in _SCALE:
                total, current = total + max(current, 1) * _SCALE[word], 0
        return f" {total + current} "

    return _WORD_NUMBER.sub(value, text)


def _take_portion(text: _Text, slots: _Slots) -> None:
    for portion, pattern in _PORTION_WORDS:
        if text.take(pattern):
            slots.portion = slots.portion or portion
    for m in text.take(_FRACTION):
        numerator = 1 if m[1].lower() in ("a", "one") else _SMALL[m[1].lower()]
        slots.portion = Decimal(numerator) / Decimal(_DENOMINATOR[m[2].lower().rstrip("s")])


def _take_amounts(text: _Text, slots: _Slots) -> None:
    for m in text.take(_PERCENT):
        slots.portion = _decimal(m["n"]) / 100
    slots.limit_prices = tuple(_decimal(m["p"]) for pattern in _LIMITS for m in text.take(pattern))
    slots.limit_without_price = bool(text.take(_LIMIT_WORD)) and not slots.limit_prices
    slots.notionals = tuple(
        _decimal(m["n"], m["k"] or ("grand" if (m.groupdict().get("u") or "").lower() == "grand" else None))
        for pattern in _NOTIONALS for m in text.take(pattern))
    quantities = [_decimal(m["n"], m["k"]) for m in text.take(_QUANTITY)]
    slots.quantities = (*quantities, *[Decimal(1)] * len(text.take(_ONE_SHARE)))


def _read_slots(text: str, brokers: Sequence[BrokerRef]) -> _Slots:
    slots = _Slots()
    work = _Text(text)
    _take_brokers(work, brokers, slots)
    _take_tif(work, slots)
    slots.cls = re.sub(r"\s+", " ", work.s).strip().lower()
    for choice, pattern in _CHOICES:
        if work.take(pattern):
            slots.broker_choice = choice
    work.take(_MARKET_WORDS)
    _take_portion(work, slots)  # before the word numbers, so "a third" and "one quarter" stay fractions
    work.s = _words_to_numbers(work.s)
    slots.with_amounts = work.s
    slots.buy, slots.sell = bool(_BUY.search(work.s)), bool(_SELL.search(work.s))
    slots.closing = bool(_CLOSING.search(work.s))
    work.take(_BUY)  # before the amounts: "get" is a buy verb only when a number follows it
    work.take(_SELL)
    _take_amounts(work, slots)
    slots.rest = work.s
    return slots


def _symbol(rest: str, filler: frozenset[str], shouting: bool) -> str | None:
    """What remains once filler words are trimmed from both edges; inner words stay ("Bank of America")."""
    tokens = rest.split()

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


def _unknown_broker(rest: str, kind: IntentKind) -> str | None:
    """A broker-looking phrase that matched none of the brokers ("on robinhood", "etrade broker")."""
    # in "quote on AMZN" or "fees on 10 AAPL", "on" introduces the stock, not a broker
    loose = "" if kind in (IntentKind.QUOTE, IntentKind.COST_COMPARISON) else "|on|at"
    name = r"(?P<name>[A-Za-z][\w&.-]*)"
    patterns = (rf"\b(?:through|thru|via|using{loose})\s+(?:the\s+)?{name}{_BROKER_TAIL}\s*[?.!]*\s*$",
                rf"\b{name}\s+(?:brokers?|brokerage)\b")
    for pattern in patterns:
        m = re.search(pattern, rest, re.I)
        if m and m["name"].lower() not in _NOT_A_BROKER and not re.fullmatch(r"[A-Z]{1,5}", m["name"]):
            return m["name"]
    return None


# ------------------------------------------------------------------------------------ intents


def _clarify(question: str) -> Intent:
    return Intent(kind=IntentKind.CLARIFY, question=question)


def _names(brokers: Sequence[BrokerRef]) -> str:
    names = [b.name for b in brokers]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _shown(value: Decimal) -> str:
    return format(value, "f") if value == value.to_integral_value() or abs(value) >= 1 else str(value)


def _size_problem(slots: _Slots, what: str, side: str) -> str | None:
    """Why the stated size, price or timing cannot be used as it is, as a question back; None when it is fine."""
    one_at_a_time = f"I place one order at a time: which stock and how many shares should I {side} first?"
    if len(slots.quantities) > 1:
        return f"I saw more than one share count ({' and '.join(map(_shown, slots.quantities))}). {one_at_a_time}"
    for label, values in (("limit price", slots.limit_prices), ("dollar amount", slots.notionals)):
        if len(set(values)) > 1:
            shown = " and ".join(map(_shown, values))
            return f"I saw more than one {label} ({shown}). Which one do you mean for {what}?"
    for label, value in (("quantity", next(iter(slots.quantities), None)), ("dollar amount", slots.notional),
                         ("limit price", slots.limit_price), ("portion", slots.portion)):
        if value is not None and value <= 0:
            return (f"The {label} has to be more than zero, and {_shown(value)} is not. "
                    f"How many shares of {what} do you want to {side}?")
    if slots.portion is not None and slots.portion > 1:
        return f"You can sell at most all of your {what} (100%). How much of it do you want to sell?"
    if slots.limit_without_price:
        return f"What limit price do you want for the {what} {side} order?"
    if slots.tif_conflict:
        return f"When should the {what} order run: at the open, at the close, today only, or good till cancelled?"
    return None


def _order_fields(slots: _Slots) -> dict:
    quantity = next(iter(slots.quantities), None)
    notional = slots.notional if quantity is None else None  # a share count wins over a dollar amount
    portion = slots.portion if quantity is None and notional is None else None
    return {"quantity": quantity, "notional": notional, "portion": portion,
            "order_type": "limit" if slots.limit_price is not None else "market", "limit_price": slots.limit_price,
            "time_in_force": slots.tif or "day", "brokers": slots.brokers, "broker_choice": slots.broker_choice}


def _broker_problem(slots: _Slots, brokers: Sequence[BrokerRef], kind: IntentKind) -> str | None:
    unknown = _unknown_broker(slots.rest, kind)
    if unknown:
        return f"I don't know a broker called {unknown!r}. Your brokers are {_names(brokers)}: which one should I use?"
    if kind is not IntentKind.ORDER or len(slots.brokers) < 2:
        return None
    which = f"Which broker should I use: {' or '.join(b.name for b in brokers if b.id in slots.brokers)}?"
    # "the cheaper of A and B" among more brokers: the planner can only choose among all of them
    if slots.broker_choice in ("cheapest", "fastest") and len(slots.brokers) < len(brokers):
        return which
    if slots.broker_choice is None and re.search(r"\bor\b", slots.cls):
        return which
    return None


def _order(slots: _Slots, brokers: Sequence[BrokerRef], shouting: bool) -> Intent:
    if slots.buy and slots.sell:
        return _clarify("You asked to both buy and sell. I place one order at a time: "
                        "do you want to buy or to sell, and what?")
    side = "buy" if slots.buy else "sell"
    symbol = _symbol(slots.rest, _FILLER[IntentKind.ORDER], shouting)
    tokens = (symbol or "").split()
    if tokens and all(t.lower() in _PRONOUNS for t in tokens) and not any(t.isupper() and len(t) > 1 for t in tokens):
        return _follow_up(FollowUp.REVERSE, slots, side, brokers)  # "sell it", "now sell them", "buy them back"
    problem = _size_problem(slots, symbol or "the stock", side) or _broker_problem(slots, brokers, IntentKind.ORDER)
    if problem:
        return _clarify(problem)
    if slots.other_broker:
        return _clarify(f"Which broker do you mean by 'the other broker'? Your brokers are {_names(brokers)}.")
    order = _order_fields(slots)
    if symbol is None:
        if order["quantity"] is not None:
            return _clarify(f"Which stock do you want to {side} {_shown(order['quantity'])} shares of?")
        return _clarify(f"Which stock do you want to {side}, and how many shares (or what dollar amount)?")
    tickers = [t for t in tokens if re.fullmatch(r"[A-Z]{1,5}(?:\.[A-Z])?", t)]
    several = not shouting and len(tickers) > 1 and all(t in tickers or t in ("and", "&", "+", "/") for t in tokens)
    if "," in symbol or several or len(tokens) > 5:
        return _clarify(f"Which one stock do you mean? I place one order at a time and could not pick one "
                        f"out of {symbol!r}.")
    if order["portion"] is not None and side == "buy":
        return _clarify(f"How many shares of {symbol} do you want to buy, or what dollar amount? "
                        "'All' or 'half' only applies to selling what you hold.")
    if order["quantity"] is None and order["notional"] is None and order["portion"] is None:
        if side == "sell" and slots.closing:
            order["portion"] = Decimal(1)  # "close my Tesla position" means all of it
        elif side == "sell":
            return _clarify(f"How many shares of {symbol} do you want to sell? You can also say 'all' or 'half'.")
        else:
            return _clarify(f"How many shares of {symbol} do you want to buy, or what dollar amount?")
    return Intent(kind=IntentKind.ORDER, side=side, symbol_text=symbol, **order)


def _follow_up(kind: FollowUp, slots: _Slots, side: str | None, brokers: Sequence[BrokerRef]) -> Intent:
    problem = _size_problem(slots, "it", side or "trade") or _broker_problem(slots, brokers, IntentKind.ORDER)
    if problem:
        return _clarify(problem)
    return Intent(kind=IntentKind.ORDER, side=side, follow_up=kind, other_broker=slots.other_broker,
                  **_order_fields(slots))


def _cancel(slots: _Slots, brokers: Sequence[BrokerRef], shouting: bool) -> Intent:
    problem = _broker_problem(slots, brokers, IntentKind.CANCEL)
    if problem:
        return _clarify(problem)
    text = _Text(slots.with_amounts)
    ids = text.take(_ORDER_ID)
    everything = re.search(r"\b(?:all|every|everything)\b", slots.cls)
    ref = (ids[0]["ref"] or ids[0]["bare"]) if ids else "all" if everything else None
    for pattern in (_BUY, _SELL, _LIMIT_WORD, _QUANTITY):
        text.take(pattern)
    symbol = _symbol(text.s, _FILLER[IntentKind.CANCEL], shouting) if not ids else None
    side = "buy" if re.search(r"\bbuy\b", slots.cls) else "sell" if re.search(r"\bsell\b", slots.cls) else None
    return Intent(kind=IntentKind.CANCEL, side=side, symbol_text=symbol, order_ref=ref, brokers=slots.brokers,
                  broker_choice="all" if slots.broker_choice == "all" else None)


def _cost(slots: _Slots, brokers: Sequence[BrokerRef], shouting: bool) -> Intent:
    side = "sell" if slots.sell and not slots.buy else "buy"
    symbol = _symbol(slots.rest, _FILLER[IntentKind.COST_COMPARISON], shouting)
    problem = (_size_problem(slots, symbol or "the stock", side)
               or _broker_problem(slots, brokers, IntentKind.COST_COMPARISON))
    if problem:
        return _clarify(problem)
    order = _order_fields(slots)
    if symbol is None:
        return _clarify("Which stock should I price, and how many shares? "
                        "For example: 'which broker is cheaper for 200 AMZN?'")
    if order["quantity"] is None and order["notional"] is None:
        return _clarify(f"How many shares of {symbol} (or what dollar amount) should I price on each broker?")
    return Intent(kind=IntentKind.COST_COMPARISON, side=side, symbol_text=symbol, **order)


def _info(kind: IntentKind, slots: _Slots, brokers: Sequence[BrokerRef], shouting: bool) -> Intent:
    problem = _broker_problem(slots, brokers, kind)
    if problem:
        return _clarify(problem)
    symbol = _symbol(slots.rest, _FILLER[kind], shouting) if kind in _FILLER else None
    if kind is IntentKind.QUOTE and (symbol is None or len(symbol.split()) > 5):
        return _clarify("Which stock do you want a quote for? For example: 'what is Apple trading at?'")
    choice = "all" if slots.broker_choice == "all" else None
    return Intent(kind=kind, symbol_text=symbol, brokers=slots.brokers, broker_choice=choice)


def _resize(slots: _Slots, shouting: bool) -> Intent | None:
    """'make it 20', 'actually 50 shares', 'change that to $1,000', 'make it a limit at 180': change the last order."""
    if not _AMEND.search(slots.cls) or slots.buy or slots.sell or _symbol(slots.rest, _RESIZE_FILLER, shouting):
        return None
    if not (slots.quantities or slots.notionals or slots.limit_prices or slots.tif or slots.brokers
            or slots.broker_choice or slots.limit_without_price):
        return None
    problem = _size_problem(slots, "it", "trade")
    if problem:
        return _clarify(problem)
    return Intent(kind=IntentKind.ORDER, follow_up=FollowUp.RESIZE, **_order_fields(slots))


def _repeat(slots: _Slots, shouting: bool) -> Intent | None:
    """'do the same on TradeSphere', 'also on the other broker', 'sell the same on velocity', 'same again'."""
    named = slots.brokers or slots.other_broker
    if not (_REPEAT.search(slots.cls) and (named or re.search(r"\b(?:same|again|repeat)\b", slots.cls))):
        return None  # without a broker only "same", "again" or "repeat" say it
    if _symbol(slots.rest, _REPEAT_FILLER, shouting) or (slots.buy and slots.sell):
        return None
    side = "buy" if slots.buy else "sell" if slots.sell else None
    return Intent(kind=IntentKind.ORDER, side=side, follow_up=FollowUp.REPEAT_ON, other_broker=slots.other_broker,
                  **_order_fields(slots))


def parse_request(text: str, brokers: Sequence[BrokerRef]) -> Intent:
    """Turn one chat message into an `Intent`; anything unclear becomes a CLARIFY with a question."""
    message = re.sub(r"\s+", " ", (text or "").replace("’", "'").replace("‘", "'")).strip()
    if not message:
        return _clarify("What would you like to do? You can trade, get a quote, or see your portfolio and orders.")
    if _HELP.search(message):
        return Intent(kind=IntentKind.HELP)
    if _NEGATION.search(message):
        return _clarify("Understood: I won't place anything. What would you like to do instead?")
    if _ADVICE.search(message):
        return _clarify("I don't give investment advice, so that decision is yours. I can show you a quote, your "
                        "positions, or place an order you choose, for example 'buy 10 AAPL'. What would you like?")
    shouting = message.upper() == message and any(c.isalpha() for c in message)
    slots = _read_slots(message, brokers)
    lead = _LEAD.sub("", slots.cls)
    if _SHORT.search(lead):
        return _clarify("Short selling is not supported: you can sell shares you hold. "
                        "Which stock and how many shares do you want to sell?")
    if _CANCEL.search(slots.cls):
        return _cancel(slots, brokers, shouting)
    follow_up = _resize(slots, shouting) or _repeat(slots, shouting)
    if follow_up:
        return follow_up
    asking = bool(_QUESTION_START.match(lead))
    has_size = bool(slots.quantities or slots.notionals)
    cost_symbol = _symbol(slots.rest, _FILLER[IntentKind.COST_COMPARISON], shouting)
    if _COST_QUESTION.search(slots.cls) and (has_size or cost_symbol):
        return _cost(slots, brokers, shouting)  # "which broker is cheaper to buy 200 AMZN?": an estimate, no order
    if (slots.buy or slots.sell) and not asking:
        return _order(slots, brokers, shouting)
    kind = next((k for k, pattern in _INFO_KINDS if pattern.search(slots.cls)), None)
    if kind:
        return _info(kind, slots, brokers, shouting)
    if asking and (slots.buy or slots.sell) and has_size:
        return _cost(slots, brokers, shouting)  # "what happens if I buy 10 AAPL?"
    if asking and slots.brokers:
        return _info(IntentKind.COMPARE_BROKERS, slots, brokers, shouting)  # "tell me about Velocity"
    return _unclear(message, slots, shouting, has_size)


def _unclear(message: str, slots: _Slots, shouting: bool, has_size: bool) -> Intent:
    """No verb, no question word: a bare ticker is a quote, a size and a stock ask which side, the rest asks again."""
    symbol = _symbol(slots.rest, _FILLER[IntentKind.QUOTE], shouting)
    bare_ticker = re.fullmatch(r"\$?[A-Za-z]{1,5}(?:\.[A-Za-z])?", message.strip("?!. "))
    if symbol and not has_size and bare_ticker and (message.lstrip().startswith("$") or symbol.isupper()):
        return Intent(kind=IntentKind.QUOTE, symbol_text=symbol)  # "$TSLA", "NVDA?"
    if has_size and symbol:
        amount = f"{_shown(slots.quantities[0])}" if slots.quantities else f"${_shown(slots.notionals[0])} of"
        return _clarify(f"Do you want to buy or sell {amount} {symbol}?")
    return _clarify(f"Sorry, I didn't understand {message!r}. I can buy or sell stocks, show quotes, portfolios, "
                    "cash and orders, cancel orders, or compare the brokers. Say 'help' for examples.")


# ------------------------------------------------------------------------------------ follow-ups


def _follow_up_targets(previous: Intent, current: Intent, brokers: Sequence[BrokerRef]) -> tuple | str:
    """The (brokers, broker_choice) a follow-up goes to, or a question when that is unclear."""
    if current.other_broker:
        if not previous.brokers:
            return f"Which broker should I use? The last order did not name one. Your brokers are {_names(brokers)}."
        others = tuple(b.id for b in brokers if b.id not in previous.brokers)
        return (others, None) if others else f"There is no other broker: your brokers are {_names(brokers)}."
    if current.brokers:
        return current.brokers, "all" if current.broker_choice == "all" else None
    if current.broker_choice:
        return (), current.broker_choice
    return previous.brokers, previous.broker_choice


def merge_follow_up(previous: Intent | None, current: Intent, brokers: Sequence[BrokerRef]) -> Intent:
    """Combine a follow-up ("make it 20", "same on Velocity", "now sell them") with the earlier order it refers to."""
    if current.follow_up is FollowUp.NONE:
        return current
    if previous is None or previous.kind is not IntentKind.ORDER or previous.follow_up is not FollowUp.NONE:
        return _clarify("Which order do you mean? I have no earlier order in this chat to change. "
                        "Tell me the whole order, for example 'buy 10 AAPL'.")
    targets = _follow_up_targets(previous, current, brokers)
    if isinstance(targets, str):
        return _clarify(targets)
    routing = {"brokers": targets[0], "broker_choice": targets[1], "follow_up": FollowUp.NONE}
    size = {}
    if current.quantity is not None or current.notional is not None or current.portion is not None:
        size = {"quantity": current.quantity, "notional": current.notional, "portion": current.portion}
    if current.follow_up is FollowUp.REVERSE:
        side = current.side or ("sell" if previous.side == "buy" else "buy")
        # the same number of shares back; a dollar or portion order has no share count to reverse, so ask
        size = size or ({"quantity": previous.quantity} if previous.quantity is not None else {})
        if not size or (side == "buy" and size.get("portion") is not None):
            return _clarify(f"How many shares of {previous.symbol_text} do you want to {side}?")
        return Intent(kind=IntentKind.ORDER, side=side, symbol_text=previous.symbol_text, order_type=current.order_type,
                      limit_price=current.limit_price, time_in_force=current.time_in_force, **size, **routing)
    amended: dict = {}
    if current.limit_price is not None:
        amended = {"order_type": "limit", "limit_price": current.limit_price}
    if current.time_in_force != "day":
        amended["time_in_force"] = current.time_in_force
    if current.follow_up is FollowUp.RESIZE and not (size or amended or current.brokers or current.broker_choice):
        return _clarify(f"What should I change about the {previous.symbol_text} order: "
                        "the number of shares, the price or the timing?")
    side = current.side or previous.side
    if side == "buy" and size.get("portion") is not None:
        return _clarify(f"How many shares of {previous.symbol_text} do you want to buy?")
    return replace(previous, side=side, **size, **amended, **routing)


def conversation_intent(user_messages: Sequence[str], brokers: Sequence[BrokerRef]) -> Intent:
    """The intent of the last message, with follow-ups ("make it 20") resolved against earlier orders."""
    previous_order: Intent | None = None
    intent = parse_request("", brokers)
    for text in user_messages:
        intent = parse_request(text, brokers)
        if intent.follow_up is not FollowUp.NONE:
            intent = merge_follow_up(previous_order, intent, brokers)
        if intent.kind is IntentKind.ORDER:
            previous_order = intent
    return intent
