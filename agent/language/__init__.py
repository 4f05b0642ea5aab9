"""The offline model's reading of what people type: messages in, `Intent`s out. Pure and deterministic.

Modules, one job each:
- `intent`: what was understood (`Intent`, `IntentKind`, `FollowUp`, `BrokerRef`);
- `vocabulary`: the word and pattern tables;
- `normalize`: typos in ordinary words, trader shorthand, dictation;
- `numbers`: numbers in words ("seventy five", "a dozen", "twelve fifty");
- `companies`: companies and tickers found anywhere in a message, typos of names;
- `slots`: the slot readers (brokers, timing, companies, portions, prices, amounts, share counts);
- `kinds`: the decision of the request kind, recognizers in an explicit order;
- `clauses`: several orders in one message, self-corrections;
- `dialogue`: the dialogue state of a chat and the references resolved against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from agent.language.clauses import needs_clauses, read_clauses
from agent.language.companies import CompanyDirectory, directory
from agent.language.dialogue import DialogueState, discussed, is_confirmation, merge_follow_up, resolve
from agent.language.intent import BrokerRef, FollowUp, Intent, IntentKind
from agent.language.kinds import EARLY, Clause, clarify, decide, which_side
from agent.language.normalize import normalize
from agent.language.slots import read_slots
from agent.language.structured import records
from agent.language.vocabulary import ADVICE, CANCEL, REPEAT, REPLACE_VERB, RETRACTED, ROUTING_ASKED, UNKNOWABLE_CONDITION

EACH = re.compile(r"\beach\b", re.I)
# a line of a list that is an order of its own: a size, or a verb
_ORDER_LINE = re.compile(r"^\s*(?:\$|\d|(?:buy|sell|cancel|close|trim|dump|bto|stc|purchase)\b)", re.I)

__all__ = ["BrokerRef", "DialogueState", "FollowUp", "Intent", "IntentKind", "conversation_intent",
           "conversation_intents", "merge_follow_up", "parse_request", "read_request"]

# "ok looks good, do it", "send it", "yes place it": agreeing to what was just priced
CONFIRM = re.compile(r"\b(?:go\s+ahead|do\s+it|place\s+it|send\s+it|execute\s+it|book\s+it|submit\s+it|pull\s+the\s+trigger"
                     r"|let'?s\s+do\s+(?:it|this)|make\s+it\s+happen|confirm(?:ed)?)\b", re.I)
NOT_YET = re.compile(r"\b(?:not|n't|never|rather\s+not)\b[^.?!]{0,30}\b(?:go\s+ahead|do\s+it|place|send)", re.I)
EMPTY = "What would you like to do? You can trade, get a quote, or see your portfolio and orders."


def read_request(text: str, brokers: Sequence[BrokerRef], companies: CompanyDirectory | None = None) -> list[Intent]:
    """Every intent in one message, references to the conversation not yet resolved."""
    companies = companies or directory()
    lines = records(text or "")
    if len(lines) > 1 and all(_ORDER_LINE.search(line) for line in lines):
        # "1. buy 10 AAPL / 2. buy 5 MSFT on velocity", CSV rows: each line its own request, its broker its own
        return [intent for line in lines for intent in read_request(line, brokers, companies)]
    message = normalize(text, companies)
    if not message:
        return [clarify(EMPTY)]
    taken_back = RETRACTED.search(message)
    a_reason = taken_back and re.search(r"changed\s+my\s+mind|cancel\s+that", taken_back.group(), re.I) and (
        CANCEL.search(message[:taken_back.start()]) or re.search(r"\bscratch\s+(?:the|my)\b", message, re.I))
    if taken_back and not a_reason and re.search(r"\b(?:buy|sell|purchase|get|grab|trade|order)\b|\d", message, re.I):
        # ("scratch the nike buy, changed my mind" cancels the Nike order: the tail is its reason, not a retraction)
        return [clarify("Understood: you took that back, so I placed nothing. What would you like to do instead?")]
    if is_confirmation(message):
        return [Intent(kind=IntentKind.ORDER, follow_up=FollowUp.CONFIRM)]
    for pattern, intent in EARLY:
        if pattern is ADVICE and ROUTING_ASKED.search(message):
            continue  # "which broker should I use for 10 AAPL?" asks which broker, not what to buy
        if pattern.search(message):
            if intent.question and intent.question.startswith("Understood: I won't place"):
                # "estimate 10 CRWD on velocity, don't place anything": answer the question, place nothing
                asked = [i for i in _read(message, brokers, companies) if i.kind in _QUESTIONS]
                if asked:
                    return asked
            return [intent]
    intents = _read(message, brokers, companies)
    # "why hasn't my ford order filled?? is it even still open?": one question asked twice is answered once
    intents = [i for n, i in enumerate(intents) if i.kind is IntentKind.ORDER or i not in intents[:n]]
    if "?" in message or len(intents) > 1 and any(i.kind is not IntentKind.ORDER for i in intents):
        # "fee? --qty 100 --sym KO": a size and a stock beside a question are no order said without its verb
        intents = [which_side(i.symbol_text, i.quantity, i.notional) if i.side_unsaid else i for i in intents]
    return intents


_QUESTIONS = (IntentKind.QUOTE, IntentKind.COST_COMPARISON, IntentKind.ACCOUNT, IntentKind.PORTFOLIO, IntentKind.ORDERS,
              IntentKind.COMPARE_BROKERS, IntentKind.TOTAL_VALUE, IntentKind.MARKET)


def _story_trimmed(message: str, brokers: Sequence[BrokerRef], companies: CompanyDirectory, shouting: bool) -> str:
    """The message without the sentences that only tell a story ("My wife and I talked it over at breakfast."):
    kept are the sentences with a company, an amount, a price, a broker, a trade verb or a question."""
    sentences = [t for t in re.split(r"(?<=[.!?])\s+", message) if t.strip()]
    if len(sentences) < 2:
        return message

    def matters(sentence: str) -> bool:
        s = read_slots(sentence, brokers, companies, shouting)
        return bool(s.companies or s.quantities or s.notionals or s.limit_prices or s.stop_prices or s.brokers
                    or s.broker_choice or s.buy or s.sell or s.tif or s.portion is not None or "?" in sentence
                    or CANCEL.search(sentence) or REPLACE_VERB.search(sentence) or CONFIRM.search(sentence)
                    or re.search(r"\b(?:same|again|more|other|instead|no|not|nope|nah|don'?t|never|wait|actually|hold\s+on"
                                 r"|hang\s+on|stop|forget|scratch|rather|but|only|just|each|both|all)\b|n't\b", sentence, re.I))

    kept = [t for t in sentences if matters(t)]
    return " ".join(kept) if kept and len(kept) < len(sentences) else message


# "sell the oracle on TS and buy it back on Velocity", "sell those and buy the same amount on the other one": a move
_MOVE = re.compile(r"^(?P<sell>.*?\b(?:sell|dump|unload|close(?:\s+out)?)\b.*?)\s*(?:,\s*|\s)(?:and\s+|then\s+)+(?:re-?)?buy\s+"
                   r"(?P<what>it|them|those|the\s+same(?:\s+(?:amount|number|shares|quantity|number\s+of\s+shares))?)"
                   r"(?:\s+back)?\b(?P<rest>[^.?!]*)[.?!]*\s*$", re.I)


def _moved(message: str, brokers: Sequence[BrokerRef], companies: CompanyDirectory) -> list[Intent] | None:
    """A position moved from one broker to another: the sell, then a buy of the same shares where the rest says (the
    dialogue sizes the buy from what this chat bought). None when the message is not one."""
    m = _MOVE.match(message)
    if not m:
        return None
    sold = _read(m["sell"], brokers, companies)
    if len(sold) == 1 and sold[0].kind is IntentKind.CLARIFY:  # "sell the oracle on TS": all of it moves
        sold = _read(re.sub(r"\b(sell|dump|unload|close(?:\s+out)?)\b", r"\1 all", m["sell"], count=1, flags=re.I),
                     brokers, companies)
    if len(sold) != 1 or sold[0].kind is not IntentKind.ORDER or sold[0].side != "sell":
        return None
    sell = sold[0]
    if sell.quantity is None and sell.notional is None and sell.portion is None:
        sell = replace(sell, portion=Decimal(1))  # "sell the oracle ... and buy it back": all of it moves
    where = read_slots(m["rest"], brokers, companies)
    others = tuple(b.id for b in brokers if b.id not in sell.brokers) if where.other_broker and sell.brokers else ()
    buy = Intent(kind=IntentKind.ORDER, side="buy", symbol_text=sell.symbol_text, company=sell.company, refers=sell.refers,
                 quantity=sell.quantity, size_ref=None if sell.quantity is not None else "moved",
                 brokers=where.brokers or others, broker_choice=where.broker_choice,
                 other_broker=where.other_broker and not others)
    return [sell, buy]


_EITHER = re.compile(r"\bqzc[a-z]\s*(?:,\s*)?\bor\s+(?!rather\b|actually\b|i\s+mean\b)(?:maybe\s+|perhaps\s+)?qzc[a-z]\b", re.I)


def _undecided(message: str, slots) -> Intent | None:
    """'buy 10 shares, Ford or General Motors': two stocks offered as a choice; 'if that's true, buy 50 Rivian': a
    condition on news nobody here can check. Either way the speaker has not decided: ask, place nothing."""
    trades = slots.buy or slots.sell or slots.quantities or slots.notionals
    if not trades:
        return None
    if UNKNOWABLE_CONDITION.search(message):
        return clarify("I can't check whether that is true, so I placed nothing. If you want the order anyway, say it "
                       "without the condition, for example 'buy 10 AAPL'.")
    if len({m.company.symbol for m in slots.companies}) > 1 and _EITHER.search(slots.cls) and "?" not in message:
        choice = " or ".join(dict.fromkeys(m.company.name for m in slots.companies))
        return clarify(f"Which one do you want: {choice}? I placed nothing.")
    return None


def _read(message: str, brokers: Sequence[BrokerRef], companies: CompanyDirectory) -> list[Intent]:
    moved = _moved(message, brokers, companies)
    if moved:
        return moved
    shouting = message.upper() == message and any(c.isalpha() for c in message)
    message = _story_trimmed(message, brokers, companies, shouting)
    slots = read_slots(message, brokers, companies, shouting)
    undecided = _undecided(message, slots)
    if undecided:
        return [undecided]
    whole = decide(Clause(message, slots, brokers, companies, shouting))
    symbols = list(dict.fromkeys(m.company for m in slots.companies))
    if whole.kind is IntentKind.QUOTE and len(symbols) > 1 and not (slots.buy or slots.sell):
        return [replace(whole, symbol_text=c.symbol, company=c.name) for c in symbols]  # "where are PANW and CRWD?"
    if (CONFIRM.search(message) and not (slots.buy or slots.sell or slots.companies or slots.quantities
                                         or slots.notionals) and not CANCEL.search(message) and not NOT_YET.search(message)
            and not (whole.follow_up is FollowUp.REPEAT_ON and (slots.other_broker or REPEAT.search(slots.cls)))):
        # ("do it on the other broker too" repeats the last order there; "do it on the cheaper one" places what was priced)
        return [Intent(kind=IntentKind.ORDER, follow_up=FollowUp.CONFIRM, brokers=slots.brokers,
                       broker_choice=slots.broker_choice)]
    if (len(symbols) > 1 and EACH.search(message) and len(set(slots.quantities)) + len(set(slots.notionals)) == 1
            and (whole.kind is IntentKind.CLARIFY or (whole.kind is IntentKind.COMPARE_BROKERS and slots.broker_choice
                                                      and "?" not in message))
            and not (slots.sell and not slots.buy)):
        # "$500 each spy qqq iwm": one order per company, each with the one size said
        return [decide(Clause(message, replace(slots, companies=(m,), buy=True), brokers, companies, shouting))
                for m in {m.company.symbol: m for m in slots.companies}.values()]
    if needs_clauses(message, slots) and not (slots.bracket_entry and whole.kind is IntentKind.ORDER):
        # (a bracket said with no side is one order, its take profit and stop loss in different clauses)
        parts = read_clauses(message, brokers, companies, shouting, selling=slots.sell and not slots.buy)
        if parts:
            return parts
    return [whole]


def parse_request(text: str, brokers: Sequence[BrokerRef]) -> Intent:
    """The first intent of one message read on its own; follow-ups stay unmerged (see `merge_follow_up`)."""
    intent = read_request(text, brokers)[0]
    if intent.follow_up is not FollowUp.NONE and not intent.symbol_text:
        return intent
    return resolve(intent, DialogueState(), brokers)


def conversation_intents(turns: Iterable[tuple[str, Iterable[Any]]], brokers: Sequence[BrokerRef]) -> list[Intent]:
    """The intents of the last message of a chat, resolved against the state the earlier turns built.

    `turns`: each of the person's messages with the tool results that answered it (objects with broker,
    tool, arguments, ok and data); the last turn's results are this turn's and do not count as history."""
    state = DialogueState()
    intents: list[Intent] = [clarify(EMPTY)]
    for text, results in turns:
        read = read_request(text, brokers)
        state.current_symbols = {i.symbol_text for i in read if i.symbol_text}
        intents = [resolve(i, state, brokers) for i in _both(read, state)]
        state.heard(intents)
        state.saw(intents, results)
    return intents


def _both(intents: list[Intent], state: DialogueState) -> list[Intent]:
    """'sell half of both': one intent for each of the two stocks just discussed."""
    out: list[Intent] = []
    for intent in intents:
        listed = discussed(state)
        if intent.kind is IntentKind.ORDER and intent.refers == "both":
            if len(listed) != 2:
                out.append(clarify("Which two stocks do you mean by 'both'? Name them, for example 'sell half of AAPL "
                                   "and MSFT'."))
                continue
            out += [replace(intent, symbol_text=s, company=c, refers=None, follow_up=FollowUp.NONE) for s, c in listed]
        else:
            out.append(intent)
    return out


def conversation_intent(messages: Sequence[str], brokers: Sequence[BrokerRef]) -> Intent:
    """The first intent of the last of `messages`, read as one chat with no tool results."""
    return conversation_intents([(m, ()) for m in messages], brokers)[0]
