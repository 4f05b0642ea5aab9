"""One message, several orders: splitting into clauses, self-corrections, and what a clause inherits.

A message is read whole first. Only when it carries more than one order's worth of slots (two
companies, two share counts, a correction, a question and an order) is it split at its joints
(sentence ends, commas, "and", "plus", "then", "but") and read clause by clause:

- a clause with its own verb, or its own size or company after a complete order, starts a new
  order ("buy 20 Visa and 15 Mastercard", "6 Oracle at TradeSphere plus 6 at Velocity"), taking
  the side, the company and the broker it does not state from the order before it;
- a clause after "wait", "no", "actually", "I mean" corrects the order before it: the last word
  wins ("buy 8 Pepsi at Velocity, wait, no, TradeSphere" is one order at TradeSphere);
- a clause that only adds details ("nothing above 250", "and leave it working till I cancel")
  belongs to the order before it;
- "each" gives every company in the list the same size ("3 each of Broadcom and Qualcomm");
- clauses that are questions or stories only lend their companies and brokers as context
  ("how is Nvidia doing? buy 5 if it's under 200", "is Velocity faster? then buy 10 Ford there").

If any resulting order is unclear the whole message asks back: a message is never half-traded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from agent.language.companies import CompanyDirectory
from agent.language.intent import BrokerRef, FollowUp, Intent, IntentKind
from agent.language.kinds import EVERYTHING, Clause, cancels, decide
from agent.language.slots import Slots, read_slots, remainder
from agent.language.vocabulary import CANCEL, COST_QUESTION, FILLER, QUESTION_START, THERE

_JOINT = re.compile(
    r"\s*(?:[;:!?]+(?=\s|$)|\.{2,}|(?<!\bCo)(?<!\bInc)(?<!\bCorp)(?<!\bLtd)(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)\.(?=\s)"
    r"|\s-\s|—|\s\+\s|,(?=\s|$|[A-Za-z]))\s*(?:(?:and|then|plus|also|but|so)\b\s*)*"
    r"|\s+(?:and\s+then|and\s+also|and|plus|then|also|but(?!\s+(?:for|with|in|on)\b))\s+"
    r"|\s+(?=(?:no\s+wait|wait|no\s+no|i\s+mean|scratch\s+that|make\s+that|or\s+rather|sorry|oops|no\s+actually)\b)", re.I)
_FILLERS = re.compile(r"^(?:(?:um+|uh+|hmm+|oh|ah|erm|er|well|so|okay|ok)\b[\s,.!:-]*)+", re.I)
_CORRECTION = re.compile(
    r"^(?:(?:um+|uh+|hmm+|oh|ah|erm|er|well|so|okay|ok)\b[\s,.!:-]*)*"
    r"(?:(?:wait|no|nope|nah|actually|sorry|oops|whoops|i\s+mean(?:t)?|scratch\s+that|correction|rather"
    r"|or\s+rather|change\s+(?:that|it)\s+to|make\s+(?:that|it))\b[\s,.!:-]*)+", re.I)
_NARRATIVE = re.compile(r"\b(?:buying|selling|bought|sold|purchasing|purchased)\b", re.I)
_PLAIN_VERB = re.compile(r"\b(?:buy|sell|purchase|grab|get|pick\s+up|dump|trim|unload|close|flatten)\b", re.I)
_EACH = re.compile(r"\beach\b", re.I)
_CONDITION = re.compile(r"^\s*(?:if|when|once|as\s+soon\s+as|should)\b", re.I)
_STOP_SAID = re.compile(r"\b(?:stop|stp|sl)\b", re.I)
_BY_POSITION = re.compile(r"\b(?:first|second|third|last|former|latter|other)(?:\s+one)?\s*[.!?]*$", re.I)
_ALL_OF_THEM = re.compile(r"\b(?:both|all\s+of\s+them|each|all)\b", re.I)
_ORDER_CUE = re.compile(
    r"\b(?:mkt|market|lmt|limit|gtc|moo|moc|opg)\b|@|^\s*\$|\b(?:in|into)\s+qzc|\b(?:i|we)(?:'d|\s+would|'ll|\s+will)?\s+"
    r"(?:really\s+|actually\s+|just\s+|also\s+)?(?:want|need|like|take)\b|^\s*\d[\d,.]*\s*(?:k|shares?)?\s+(?:of\s+)?qzc", re.I)
_DENIAL = re.compile(r"\bleave\b.{0,60}\b(?:alone|as\s+it\s+is|as\s+is|untouched|be|where\s+it\s+is|in\s+place)\b"
                     r"|\blet\s+(?:it|them)\s+(?:stay|be|ride|sit)\b"
                     r"|\bkeep\s+(?:the|my)\s+(?:\w+\s+){0,2}?(?:one|position|shares|stock)\b"
                     r"|^\s*(?:but\s+|and\s+|so\s+)?(?:not|no|never)\b(?!\s+(?:for\s+|a\s+(?:penny|cent|dime|dollar)\s+)?(?:below|under|lower|less|above|over|higher|more|cheaper)\b)|\b(?:not|never)\s+(?:buying|selling|touching|getting|that|those|them)"
                     r"|\bforget\b|\bskip\b|\b(?:don'?t|do\s+not|dont)\s+(?:want|like|trust|care|buy|touch)\b|\bhate\b"
                     r"|\boverhyped\b|\bstay\s+away\b", re.I)


def _split_at_sizes(message: str, directory: CompanyDirectory, shouting: bool) -> list[str]:
    """'BTO 20 V 15 MA', '5 shares of goldman sachs 5 of morgan stanley': a new order starts at a count that
    follows a company."""
    cuts = [m.end for m in directory.scan(message, shouting)
            if re.match(r"\s+\$?\d", message[m.end:])]
    if not cuts:
        return [message]
    pieces, start = [], 0
    for cut in cuts:
        if not re.search(r"\d", message[start:cut]):
            continue  # "make the rivian 20": the count after the company is its own, no new order starts
        pieces.append(message[start:cut])
        start = cut
    pieces.append(message[start:])
    return [p for p in pieces if p.strip()]
_QUESTION = re.compile(r"\?\s*$")
# "quote CRWD and PANW, then estimate 10 CRWD on velocity": a question said as an instruction
_ASKING_VERB = re.compile(r"^\s*(?:(?:please|pls|then|and|also|now)\s+)*(?:quote|estimate|price\s+out|get\s+(?:me\s+)?(?:a\s+)?quotes?\s+(?:on|for))\b",
                          re.I)
_TAG_QUESTION = re.compile(r"^\s*(?:(?:is|isn't|was)\s+(?:that|this|it)\s+|(?:that|this|it)(?:'s|\s+is)\s+|am\s+i\s+)?"
                           r"(?:correct|right|true|accurate|ok|okay|how\s+it\s+works)\s*[?.!]*\s*$", re.I)


@dataclass
class _Piece:
    text: str
    slots: Slots
    correction: bool = False

    @property
    def verb(self) -> bool:
        """A buy or sell said as an order, not told as a story ("I keep buying their paint")."""
        said = self.slots.buy or self.slots.sell
        return said and not (_NARRATIVE.search(self.text) and not _PLAIN_VERB.search(self.text))

    def follow_up(self, clause: Clause) -> bool:
        """'do the same on the other broker', 'make it 20', 'cancel it', 'the same again for Rivian': a piece that
        acts on its own."""
        intent = decide(clause)
        return (intent.kind in (IntentKind.CANCEL, IntentKind.REPLACE) or intent.follow_up is not FollowUp.NONE
                or intent.size_ref == "same")

    @property
    def size(self) -> bool:
        return bool(self.slots.quantities or self.slots.notionals)

    @property
    def question(self) -> bool:
        return bool(QUESTION_START.match(self.slots.cls) or _QUESTION.search(self.text) or _ASKING_VERB.match(self.text)
                    ) and not self.verb

    @property
    def denied(self) -> bool:
        """'I'm not buying Home Depot', 'forget those two', 'not Kimberly-Clark': what it names is not to be traded."""
        return bool(self.slots.hypothetical or _DENIAL.search(self.text)) and not self.verb

    def detail(self, shouting: bool) -> bool:
        """A few words that add to the order before them ("nothing above 250", "and leave it working till I cancel")."""
        s = self.slots
        if s.companies:
            return False
        left = remainder(s.rest, FILLER[IntentKind.ORDER], shouting)
        # a price, a stop or a timing always belongs to the order: "but only if you can get $98 or better for them"
        return left is None or len(left.split()) <= 4 or bool(s.limit_prices or s.stop_prices or s.stop_words or s.tif)

    def noise_free(self, shouting: bool) -> bool:
        return remainder(self.slots.rest, FILLER[IntentKind.ORDER], shouting) is None


@dataclass
class _Draft:
    slots: Slots
    texts: list[str] = field(default_factory=list)
    acts: bool = False
    """A follow-up or cancel that acts on the conversation: it takes no company from the message's story."""
    routed: bool = False
    """Its broker was given for it by name ("sofi on velo"): it says nothing about the other orders' brokers."""


# "What's my portfolio worth overall, and how's my Home Depot doing?": two questions in one sentence
_SECOND_QUESTION = re.compile(r"^(?:what|how|where|which|who|is|are|do|does)\b.*,\s*(?:and\s+|also\s+|plus\s+)?"
                              r"(?:how|what|where|which|who)(?:'s|s|\s+(?:is|are|about|much|many|did|do|does))\b[^,]*\?\s*$", re.I)
# "same again + same for mondelez": the last order repeated, and once more for another stock
_SAME_TWICE = re.compile(r"\b(?:same|again|repeat)\b.*(?:\s\+\s|\band\b|\bplus\b|,).*\bsame\b", re.I)
# "do the same on Velocity, my wife wants it split between the two brokers": whose wish it is, after the order
_SOMEONE_ELSE = re.compile(r"[,;.-]\s*(?:(?:because|since|as)\s+)?(?:my|our|the)\s+(?:wife|husband|partner|spouse|son|daughter|kids?"
                           r"|mom|mum|dad|mother|father|brother|sister|friend|advisor|adviser|accountant|boss)\s+"
                           r"(?:wants|says|thinks|likes|prefers|would|asked|insists|figures|reckons)\b", re.I)
_VERB_LAST = re.compile(r"\d[^,;]*\b(?:buy|sell|purchase)\b(?![^,;]*\d)", re.I)
_ROUTING_NOISE = frozenset(["this", "one", "these", "ones", "time", "trade", "trades", "order", "orders", "here", "matters"])
_GENERIC = re.compile(r"\b(?:when|if|whenever|before|after)\s+(?:you|one|people|they|someone)\s+(?:\w+\s+)?(?:buy|sell|trade)\b", re.I)


def needs_clauses(message: str, slots: Slots) -> bool:
    """Whether a message holds more than one order's worth of slots, a correction, a question and an order, or a
    story around its order (several sentences, many words)."""
    companies = {m.company.symbol for m in slots.companies}
    if (COST_QUESTION.search(slots.cls) and not (slots.buy or slots.sell) and len(companies) <= 1
            and len(set(slots.quantities)) + len(set(slots.notionals)) <= 1 and not re.search(r"\?\s*\S", message)):
        return False  # "whats cheaper, ts or vb, for 10 msft": one question, however many brokers it names
    sentences = [t for t in re.split(r"(?<=[.!?])\s+", message) if re.search(r"[A-Za-z]{2}", t)]
    return (len(companies) > 1 or (slots.buy and slots.sell) or (bool(CANCEL.search(slots.cls)) and (slots.buy or slots.sell))
            or len(sentences) > 1 or len(message.split()) > 18 or slots.hypothetical
            or bool(QUESTION_START.match(message) and (slots.buy or slots.sell) and re.search(r"[,;?]", message)) or len(slots.quantities) > 1 or len(slots.notionals) > 1
            or len(set(slots.limit_prices)) > 1 or bool(re.search(r"[,.!?;]\s*(?:wait|no|nope|actually|sorry|i\s+mean"
                                                              r"|oops|scratch|hmm|oh|make\s+(?:it|that))\b", message, re.I))
            or bool(re.search(r"\?\s*\S", message)) or len(set(slots.brokers)) > 1 and bool(slots.quantities)
            or bool(_SECOND_QUESTION.search(message)) or bool(_SAME_TWICE.search(message))
            or bool(_SOMEONE_ELSE.search(message)) or bool(re.search(r"[,;]\s*(?:and\s+)?then\b|\bfirst\b.*\bthen\b", message, re.I)) or bool(re.search(r"(?:[,;.]\s*|\s)(?:but\s+|and\s+)?leave\b|\blet\s+(?:it|them)\s+(?:stay|be|ride|sit)\b", message, re.I)))


def combine(base: Slots, extra: Slots, override: bool) -> Slots:
    """`base` with what `extra` states: added to it, or (a correction) replacing what it said."""
    merged = replace(base)
    for name in ("brokers", "companies", "limit_prices", "notionals", "quantities", "stop_prices", "take_profit_prices"):
        theirs = getattr(extra, name)
        if theirs:
            mine = getattr(base, name)
            setattr(merged, name, tuple(theirs) if override else tuple(dict.fromkeys((*mine, *theirs))))
    if override and extra.quantities:
        merged.notionals, merged.portion = (), None
    if override and extra.notionals:
        merged.quantities, merged.portion = (), None
    for name in ("broker_choice", "tif", "portion", "trail_percent", "trail_price"):
        theirs = getattr(extra, name)
        if theirs is not None:
            setattr(merged, name, theirs if override or getattr(base, name) is None else getattr(base, name))
    if (merged.trailing and base.trail_percent is None and base.trail_price is None and extra.bare_percent is not None
            and base.portion is None and not (extra.trail_percent or extra.trail_price)):
        merged.trail_percent, merged.portion = extra.bare_percent, None  # "a trailing stop on my AMD, 8 percent"
    if not override and base.tif == "day" and extra.tif not in (None, "day"):
        merged.tif = extra.tif  # "if it doesn't fill today, keep it open until I cancel it": today is when, gtc is how
    if override and (extra.brokers or extra.broker_choice):
        merged.brokers, merged.broker_choice = extra.brokers, extra.broker_choice
    for name in ("other_broker", "limit_without_price", "stop_words", "closing", "tif_conflict", "stop_loss", "trailing"):
        setattr(merged, name, getattr(base, name) or getattr(extra, name))
    merged.limit_without_price = merged.limit_without_price and not merged.limit_prices
    if extra.buy or extra.sell:
        merged.buy, merged.sell = (extra.buy, extra.sell) if override else (base.buy or extra.buy, base.sell or extra.sell)
    merged.cls = f"{base.cls} {extra.cls}"
    merged.with_amounts = f"{base.with_amounts} {extra.with_amounts}"
    merged.rest = f"{base.rest} {extra.rest}"
    return merged


def _inherit(draft: Slots, previous: Slots | None, context: Slots, each: bool, plain: bool) -> Slots:
    """What a new order takes from the one before it: side, company (when its own words name none), broker (and
    size for 'each')."""
    merged = replace(draft)
    source = previous or context
    if not (merged.buy or merged.sell) and previous is not None:
        implied = bool(previous.companies and previous.notionals and not previous.sell)  # "$1k each: MNST, CELH"
        merged.buy, merged.sell, merged.closing = previous.buy or implied, previous.sell, previous.closing
        if (previous.closing or (previous.sell and plain and previous.portion is not None)) and not (
                merged.quantities or merged.notionals or merged.portion is not None):
            merged.portion = previous.portion  # "sell all my honeywell and 3m": all of both
    if not merged.companies and source.companies and plain:  # "5 chevorn": its own (misspelt) company, not XOM
        merged.companies = source.companies[-1:]
    if not merged.brokers and not merged.broker_choice and previous is not None:
        merged.brokers, merged.broker_choice = previous.brokers, previous.broker_choice
    if each and previous is not None and not (merged.quantities or merged.notionals):
        merged.quantities, merged.notionals = previous.quantities, previous.notionals
    if (previous is not None and previous.notionals and not previous.quantities and len(merged.quantities) == 1
            and not merged.notionals and _MONEY_AGAIN.search(merged.cls)):
        merged.quantities, merged.notionals = (), merged.quantities  # "$200 in SCHD and 300 in VTI": 300 dollars
    return merged


_THERE_OR_THAT = re.compile(rf"{THERE.pattern}|\bthat\s+(?:one|broker)\b", re.I)
# a bare number put "in" or "into" a stock, right after a dollar amount: dollars again, never shares
_MONEY_AGAIN = re.compile(r"^\W*(?:and\s+|then\s+|plus\s+)?(?:another\s+)?\d[\d,.]*\s*(?:k\s+)?(?:in|into)\b(?!.*\bshares?\b)")


def _fill_brokers_before(drafts: list[_Draft], end: int) -> None:
    """A broker said after orders that name none applies to them, on the same side: "10 LMT and 10 NOC on
    TradeSphere and 5 GD on Velocity". A sell is not moved by a buy's broker: it goes where its shares are."""
    for index, draft in enumerate(drafts[:end]):
        if draft.acts or draft.slots.brokers or draft.slots.broker_choice:
            continue
        side = (draft.slots.buy, draft.slots.sell)
        later = next((d.slots for d in drafts[index + 1:] if not d.acts and not d.routed and (d.slots.brokers or d.slots.broker_choice)
                      and (d.slots.buy, d.slots.sell) in (side, (False, False))), None)
        if later is not None:
            draft.slots = replace(draft.slots, brokers=later.brokers, broker_choice=later.broker_choice)


def _repeat_here(piece: _Piece, current: _Draft | None, brokers: Sequence[BrokerRef], directory: CompanyDirectory,
                 shouting: bool) -> _Draft | None:
    """'buy 50 Comcast on TradeSphere and the same again on Velocity': the order just said, on the broker now said."""
    if current is None or current.acts or not current.slots.companies or piece.slots.companies:
        return None
    intent = decide(Clause(piece.text, piece.slots, brokers, directory, shouting))
    if intent.follow_up is not FollowUp.REPEAT_ON or intent.quantity is not None or intent.notional is not None:
        return None
    s = piece.slots
    if s.other_broker and current.slots.brokers:
        targets = tuple(b.id for b in brokers if b.id not in current.slots.brokers)
    elif s.brokers or s.broker_choice:
        targets = s.brokers
    else:
        return None
    copy = replace(current.slots, brokers=targets, broker_choice=None if s.other_broker else s.broker_choice)
    draft = _Draft(copy, [*current.texts, piece.text])
    draft.routed = True
    return draft


def _vague(draft: _Draft) -> bool:
    s = draft.slots
    return ((s.buy or s.sell) and not (s.quantities or s.notionals or s.portion is not None) and not CANCEL.search(s.cls)
            and not (s.sell and s.closing))  # "dump the northrop" sells it all


def read_clauses(message: str, brokers: Sequence[BrokerRef], directory: CompanyDirectory, shouting: bool,
                 selling: bool = False) -> list[Intent] | None:
    """The orders of a message read clause by clause, or None when the clauses add nothing to the whole."""
    texts = [piece for t in _JOINT.split(message) if t and t.strip(" ,.")
             for piece in _split_at_sizes(t, directory, shouting)]
    if len(texts) < 2:
        texts = _split_at_sizes(message, directory, shouting)
    if len(texts) < 2:
        return None
    pieces: list[_Piece] = []
    correcting = False
    for text in texts:
        marker = _CORRECTION.match(text)
        body = text[marker.end():] if marker else _FILLERS.sub("", text)
        if not body.strip(" ,.!"):
            correcting = correcting or bool(marker)
            continue
        pieces.append(_Piece(body, read_slots(body, brokers, directory, shouting, selling),
                             correction=correcting or bool(marker)))
        correcting = False
    if len(pieces) < 2:
        return None
    each = bool(_EACH.search(message))
    excluded: set[str] = set()
    kept_brokers: set[str] = set()
    lead = Slots()
    led: Slots | None = None  # a broker said on its own after orders, for the orders after it
    condition: Slots | None = None
    header: Slots | None = None
    questions: list[_Piece] = []
    context = Slots()
    drafts: list[_Draft] = []
    for piece in pieces:
        current = drafts[-1] if drafts else None
        s = piece.slots
        if _TAG_QUESTION.match(piece.text):
            continue  # "..., correct?", "is that right?": a check on what was said, nothing of its own
        if CANCEL.search(s.cls) and not piece.verb and cancels(Clause(piece.text, s, brokers, directory, shouting)):
            if piece.correction and current is not None and current.acts and CANCEL.search(current.slots.cls):
                drafts.pop()  # "cancel target. no wait, cancel verizon": the second cancel replaces the first
            drafts.append(_Draft(s, [piece.text], acts=True))
            continue
        if piece.denied:
            excluded.update(m.company.symbol for m in s.companies)
            if not s.companies:
                kept_brokers.update(s.brokers)  # "TradeSphere one let it stay": that broker's order is not cancelled
            continue
        if piece.correction and current is not None:
            named = {m.company.symbol for m in s.companies}
            target = next((d for d in reversed(drafts) if named & {m.company.symbol for m in d.slots.companies}), current)
            if named and target.slots.brokers and (s.brokers or s.broker_choice):
                _fill_brokers_before(drafts, drafts.index(target))  # "X and Y on velocity. no wait, put Y on ..."
            fix = replace(s, companies=()) if named and target is not current or named <= {
                m.company.symbol for m in target.slots.companies} else s
            target.slots = combine(target.slots, fix, override=True)
            target.texts.append(piece.text)
            continue
        if not piece.verb and piece.follow_up(Clause(piece.text, s, brokers, directory, shouting)):
            copy = _repeat_here(piece, current, brokers, directory, shouting)
            drafts.append(copy or _Draft(s, [piece.text], acts=True))
            continue
        if (questions and pieces.index(piece) > 0 and pieces[pieces.index(piece) - 1] is questions[-1] and s.companies
                and not piece.size and not piece.verb and piece.noise_free(shouting)):
            questions[-1].slots = combine(questions[-1].slots, s, override=False)  # "quote CRWD and PANW"
            context = combine(context, s, override=False)
            continue
        if piece.question and (not piece.size or _ASKING_VERB.match(piece.text)):
            context = combine(context, s, override=False)
            questions.append(piece)
            continue
        if piece.verb and not s.companies and not piece.size and _GENERIC.search(piece.text):
            context = combine(context, s, override=False)  # "a friend says speed matters when you buy": a remark
            continue
        if (current is not None and (s.buy or s.sell) and not s.companies and not piece.size and piece.noise_free(shouting)
                and (s.portion is None or _ALL_OF_THEM.search(piece.text)) and all(
                    d.acts or d.slots.quantities or d.slots.notionals for d in drafts)):
            # "10 QQQ, 10 IWM, 5 GLD. buys, mkt", "20 AEP, 30 ETR, all buys mkt on TS": the side (and broker) of them all
            for draft in drafts:
                if not draft.acts and not (draft.slots.buy or draft.slots.sell):
                    draft.slots = replace(draft.slots, buy=s.buy, sell=s.sell)
                if not draft.acts and (s.brokers or s.broker_choice) and not (draft.slots.brokers or draft.slots.broker_choice):
                    draft.slots = replace(draft.slots, brokers=s.brokers, broker_choice=s.broker_choice)
                if not draft.acts and s.tif and draft.slots.tif is None:
                    draft.slots = replace(draft.slots, tif=s.tif)
            continue
        if (current is not None and (lead.brokers or lead.broker_choice) and (s.brokers or s.broker_choice) and not s.companies
                and not piece.size and not piece.verb and piece.noise_free(shouting)):
            for draft in drafts:  # "On VB: 20 CRWD mkt. On TS: 15 PANW": each broker leads the orders after it
                if not draft.acts and not draft.slots.brokers and not draft.slots.broker_choice:
                    draft.slots = replace(draft.slots, brokers=lead.brokers, broker_choice=lead.broker_choice)
            lead = led = s
            continue
        named = {m.company.symbol for m in s.companies}
        owners = [d for d in drafts if not d.acts and named & {m.company.symbol for m in d.slots.companies}]
        if (named and owners and not piece.size and not piece.verb and (s.brokers or s.broker_choice)
                and all(any(n in {m.company.symbol for m in d.slots.companies} for d in owners) for n in named)):
            for draft in owners:  # "100 sofi and 100 hood. sofi on velo, hood on the cheap one"
                draft.slots = replace(draft.slots, brokers=s.brokers, broker_choice=s.broker_choice)
                draft.routed = True
                draft.texts.append(piece.text)
            continue
        complete = current is not None and bool(current.slots.companies) and (
            current.slots.quantities or current.slots.notionals or current.slots.portion is not None
            or (current.slots.sell and current.slots.closing))  # "close out both positions, Oracle and Adobe"
        if (current is not None and s.companies and not piece.size and not piece.verb and not current.acts
                and {m.company.symbol for m in s.companies} <= {m.company.symbol for m in current.slots.companies}):
            context = combine(context, replace(s, companies=()), override=False)
            continue
        list_item = bool(s.companies) and piece.noise_free(shouting) and not piece.size
        continues = piece.size and (piece.noise_free(shouting) or s.companies or s.brokers or _BY_POSITION.search(piece.text))
        protects = bool(s.companies and (s.trailing or (s.stop_prices and _STOP_SAID.search(piece.text)))
                        and not (s.buy or s.sell))  # "stop on the oxy at 38, and a 7% trailing stop on valero"
        starts = piece.verb or protects or (complete and (continues or list_item)) or bool(
            continues and current is not None and _BY_POSITION.search(piece.text)
            and (current.slots.quantities or current.slots.notionals))  # "10 of the first one and 5 of the second"
        cue = piece.size and (s.companies and (_ORDER_CUE.search(s.cls) or piece.noise_free(shouting)) or _EACH.search(s.cls)
                              or bool(questions and context.companies and _ORDER_CUE.search(s.cls)))  # "quote ANET, then 12 lmt 60"
        if (current is None and header is None and piece.verb and not s.companies and not piece.size
                and piece.noise_free(shouting) and re.search(rf"{re.escape(piece.text.strip())}\s*:", message)):
            header = s  # "MOO buys: 100 AAL, 100 UAL, 50 LUV": the side and timing of the list after it
            continue
        if current is None and not piece.verb and not cue and not protects:
            if _CONDITION.match(piece.text) and (s.stop_prices or s.limit_prices):
                condition = s  # "If Meta goes below 650, please sell my shares": the price belongs to the order
            context = combine(context, s, override=False)  # a story: its companies and brokers are context
            if (s.brokers or s.broker_choice) and (piece.noise_free(shouting) or remainder(
                    s.rest, FILLER[IntentKind.ORDER] | _ROUTING_NOISE, shouting) is None):
                lead = combine(lead, s, override=False)  # "vel for all: 10 QQQ, 10 IWM", "speed matters on this one."
            continue
        if starts or current is None:
            previous = current.slots if current is not None else None
            slots = _inherit(s, previous, context, each, piece.noise_free(shouting))
            if header is not None and not (slots.buy or slots.sell):
                slots = replace(slots, buy=header.buy, sell=header.sell, closing=header.closing)
            if header is not None and not (slots.brokers or slots.broker_choice):
                slots = replace(slots, brokers=header.brokers, broker_choice=header.broker_choice)
            if header is not None and slots.tif is None:
                slots = replace(slots, tif=header.tif)
            if led is not None and not (s.brokers or s.broker_choice):
                slots = replace(slots, brokers=led.brokers, broker_choice=led.broker_choice)
            led = None
            if condition is not None and not (slots.stop_prices or slots.limit_prices):
                slots = replace(slots, stop_prices=condition.stop_prices, limit_prices=condition.limit_prices)
            condition = None
            drafts.append(_Draft(slots, [piece.text]))
            continue
        if not current.slots.companies and s.companies and piece.noise_free(shouting) and not piece.size:
            current.slots = combine(current.slots, s, override=False)  # "$1k each: MNST, ..."
            current.texts.append(piece.text)
            continue
        if not piece.detail(shouting):
            context = combine(context, s, override=False)  # "Honeywell was about $205 last I checked": chatter
            continue
        current.slots = combine(current.slots, s, override=False)
        current.texts.append(piece.text)
        trailing = not s.companies and not piece.size
        if trailing and (_ALL_OF_THEM.search(piece.text) or piece.noise_free(shouting)) and (s.tif or s.buy or s.sell):
            for draft in drafts:  # "Buy 15 DAL and 15 UAL, Velocity. Both MOO.", "10 QQQ, 10 IWM, 5 GLD. buys, mkt"
                if draft.acts:
                    continue
                if draft.slots.tif is None and s.tif:
                    draft.slots = replace(draft.slots, tif=s.tif)
                if not (draft.slots.buy or draft.slots.sell) and (s.buy or s.sell):
                    draft.slots = replace(draft.slots, buy=s.buy, sell=s.sell)
    context = replace(context, companies=tuple(m for m in context.companies if m.company.symbol not in excluded))
    if not drafts:
        if questions:  # a story around a question: answer the question
            last = questions[-1]
            if not last.slots.companies and context.companies:
                last.slots = replace(last.slots, companies=context.companies[-1:])
            if not (last.slots.quantities or last.slots.notionals) and (context.quantities or context.notionals):
                # "If I bought 200 shares of BAC, what would the fee be at TradeSphere compared with Velocity?"
                last.slots = replace(last.slots, quantities=context.quantities[-1:], notionals=context.notionals[-1:])
            answers = [a for q in questions[:-1] for a in _answers(q, brokers, directory, shouting)]
            answers = [a for a in answers if a.kind is not IntentKind.CLARIFY]
            return [*answers, *_answers(last, brokers, directory, shouting)]
        return None
    if any(d.acts for d in drafts):  # "I put in an order for Target ... could you cancel that Target order?"
        drafts = [d for d in drafts if d.acts or not _vague(d)]
    # "I still want to trim a bit, so sell 10 of my Delta shares": the complete order restates the vague one
    drafts = [d for i, d in enumerate(drafts) if not (
        _vague(d) and any(not _vague(later) and (later.slots.buy, later.slots.sell) == (d.slots.buy, d.slots.sell)
                          for later in drafts[i + 1:]))]
    if len(drafts) > 1 and any(not d.slots.companies and not d.acts and not (
            d.slots.quantities or d.slots.notionals or d.slots.portion) for d in drafts):
        return None  # "buy and sell 10 AAPL": a verb with nothing of its own; the whole message decides
    for draft in drafts:
        if not draft.acts and not draft.slots.brokers and not draft.slots.broker_choice and (lead.brokers or lead.broker_choice):
            draft.slots = replace(draft.slots, brokers=lead.brokers, broker_choice=lead.broker_choice)
    # "what are Coinbase and Robinhood trading at? buy 3 of each on Velocity": one order per company asked about
    expanded = []
    for draft in drafts:
        symbols = list(dict.fromkeys(m.company.symbol for m in context.companies))
        if not draft.slots.companies and _EACH.search(draft.slots.cls) and len(symbols) > 1 and not draft.acts:
            expanded += [_Draft(replace(draft.slots, companies=(m,)), draft.texts)
                         for m in {m.company.symbol: m for m in context.companies}.values()]
        else:
            expanded.append(draft)
    drafts = expanded
    for draft in drafts:  # "At tomorrow morning's opening bell, kindly buy 50 shares of Southwest"
        if draft.slots.tif is None and context.tif and not draft.acts:
            draft.slots = replace(draft.slots, tif=context.tif)
    for draft in drafts:  # "is Velocity faster? then buy 10 Ford there"
        if not draft.slots.brokers and not draft.slots.broker_choice and context.brokers and re.search(
                _THERE_OR_THAT, draft.slots.cls):
            draft.slots = replace(draft.slots, brokers=context.brokers[-1:])
    _fill_brokers_before(drafts, len(drafts))
    orders = [d for d in drafts if not d.acts]
    timed = [d for d in orders if d.slots.tif is not None]
    if (len(orders) > 1 and timed == orders[-1:] and len({(d.slots.buy, d.slots.sell) for d in orders}) == 1
            and not re.search(r"[.!?;]\s|\(\s*(?:b|2|ii)\s*\)", message)):  # not "(a) ... on Velocity; (b) ... at the open"
        for draft in orders[:-1]:  # "buy 10 oklo and 10 smr at the open": the timing said once, at the end, for all
            draft.slots = replace(draft.slots, tif=orders[-1].slots.tif)
    if (len(orders) > 1 and all(not (d.slots.buy or d.slots.sell) and d.slots.companies for d in orders[:-1])
            and (orders[-1].slots.buy or orders[-1].slots.sell) and _VERB_LAST.search(orders[-1].texts[-1])):
        last = orders[-1].slots  # "Qualcomm 20 shares and Broadcom 5 shares buy on Velocity": the verb said last
        for draft in orders[:-1]:
            draft.slots = replace(draft.slots, buy=last.buy, sell=last.sell)
            if not (draft.slots.brokers or draft.slots.broker_choice):
                draft.slots = replace(draft.slots, brokers=last.brokers, broker_choice=last.broker_choice)
    if len(orders) > 1 and all(not (d.slots.buy or d.slots.sell) and d.slots.companies and d.slots.quantities
                               for d in orders):
        for draft in orders:  # a list of orders with no side at all, "50 F on tradesphere and 50 GM on velocity": buys
            draft.slots = replace(draft.slots, buy=True)
    for draft in drafts:
        if draft.acts and kept_brokers and set(draft.slots.brokers) - kept_brokers:
            draft.slots = replace(draft.slots, brokers=tuple(b for b in draft.slots.brokers if b not in kept_brokers))
    intents = []
    for draft in drafts:
        own = tuple(m for m in draft.slots.companies if m.company.symbol not in excluded)
        if own != draft.slots.companies:
            draft.slots = replace(draft.slots, companies=own)
        if not draft.slots.companies and context.companies and not draft.acts and not EVERYTHING.search(draft.slots.cls):
            draft.slots = replace(draft.slots, companies=context.companies[-1:])
        if (not (draft.slots.quantities or draft.slots.notionals or draft.slots.portion) and context.quantities
                and re.search(r"\b(?:them|those|it)\b", draft.slots.cls)):
            draft.slots = replace(draft.slots, quantities=context.quantities[-1:])  # "... 20 Domino's? if so buy them"
        intents.append(decide(Clause(" and ".join(draft.texts), draft.slots, brokers, directory, shouting)))
    unclear = next((i for i in intents if i.kind is IntentKind.CLARIFY), None)
    if unclear is not None:
        return [unclear]
    return _restated_once(intents)


def _answers(question: _Piece, brokers: Sequence[BrokerRef], directory: CompanyDirectory, shouting: bool) -> list[Intent]:
    """What a question piece asks: one quote for each company of 'quote CRWD and PANW', else its one intent."""
    asked = decide(Clause(question.text, question.slots, brokers, directory, shouting))
    symbols = {m.company.symbol: m.company for m in question.slots.companies}
    if asked.kind is IntentKind.QUOTE and len(symbols) > 1:
        return [replace(asked, symbol_text=c.symbol, company=c.name) for c in symbols.values()]
    return [asked]


def _restated_once(intents: list[Intent]) -> list[Intent]:
    """'get out of Microsoft at both brokers. Sell everything I have of it.': an order said twice is one order."""
    def same(a: Intent, b: Intent) -> bool:
        return (a.kind is b.kind is IntentKind.ORDER and a.side == b.side and a.quantity == b.quantity
                and a.notional == b.notional and a.portion == b.portion)

    kept: list[Intent] = []
    for intent in intents:
        if intent in kept or (intent.symbol_text is None and intent.refers == "pronoun"
                              and any(same(k, intent) and k.symbol_text for k in kept)):
            continue
        kept.append(intent)
    return kept

