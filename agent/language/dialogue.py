"""The dialogue state: what this chat has been about, derived from its turns, and the references resolved against it.

The state is rebuilt from the conversation each time (the SDK session's items are the record): for
every earlier turn, the person's words as parsed, and the tool results that followed them. It keeps
the last stock and company discussed (ordered, quoted or only mentioned), the last order and where it
went, the ids of the orders placed, the broker given as an answer ("which broker is fastest?"), the
broker of the last cash figure, and the last quote. Only the person's words make orders: tool
results supply tickers, brokers, ids and numbers, never instructions.

References resolved here: "grab 3 of them" (the stock last discussed), "add 5 more", "dump a third of
it", "repeat that on the other broker", "make it 20", "cancel it", "go with that broker", "use $2,000
of that", "go ahead" after a cost estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from agent.language.intent import REPLACEABLE, BrokerRef, FollowUp, Intent, IntentKind
from agent.language.kinds import clarify, names
from agent.routing import cheapest_for_order, fastest, lowest_fees


@dataclass
class DialogueState:
    """What the chat is about so far."""

    last_order: Intent | None = None
    """The last order discussed, with the broker it went to once placed (or the order last priced)."""
    last_order_placed: bool = False
    symbol: str | None = None
    """The stock last ordered, quoted, priced or mentioned."""
    company: str | None = None
    symbol_from: str | None = None
    """"order", "quote" or "mention": where `symbol` came from."""
    broker: str | None = None
    """The broker last used or named."""
    answer_broker: str | None = None
    """The broker given as the answer to "which broker is fastest / cheapest?"."""
    cash_broker: str | None = None
    """The broker of the last cash figure shown."""
    order_ids: list[tuple[str, str]] = field(default_factory=list)
    """(broker, order id) of the orders placed by the last message that placed any."""
    order_status: dict[str, str] = field(default_factory=dict)
    """The status each placed order had when its result came back (queued, open, filled...), by order id."""
    quote: dict | None = None
    turn_symbols: list[list[tuple[str, str | None]]] = field(default_factory=list)
    """(symbol, company) of the stocks each of the person's turns was about, in the order they came up."""
    placed_by_symbol: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)
    """(quantity, notional, broker) of the last order placed for each stock."""
    current_symbols: set[str] = field(default_factory=set)
    """The stocks the message being resolved names itself ("sell the verizon and buy more of the other one")."""
    recent_orders: list[str] = field(default_factory=list)
    """The stock of each of the person's turns that placed orders, oldest first (one entry a turn)."""
    last_asked: IntentKind | None = None
    """The kind of the last turn when it was a question about one stock (a quote): "and google?" asks it again."""

    # ------------------------------------------------------------------------------------ learning

    def heard(self, intents: Sequence[Intent]) -> None:
        """Update from what the person just asked (before any tool ran)."""
        self.turn_symbols.append([(i.symbol_text, i.company) for i in intents
                                  if i.symbol_text and i.kind is not IntentKind.CANCEL])
        kinds = {i.kind for i in intents}
        if kinds != {IntentKind.CLARIFY}:
            self.last_asked = IntentKind.QUOTE if kinds == {IntentKind.QUOTE} else None
        for intent in intents:
            if intent.symbol_text and intent.kind is not IntentKind.CANCEL:
                self.symbol, self.company = intent.symbol_text, intent.company
                self.symbol_from = "order" if intent.kind is IntentKind.ORDER else "quote" if intent.kind in (
                    IntentKind.QUOTE, IntentKind.COST_COMPARISON) else "mention"
            if len(intent.brokers) == 1:
                self.broker = intent.brokers[0]
            if intent.kind is IntentKind.ACCOUNT and len(intent.brokers) == 1:
                self.cash_broker = intent.brokers[0]
            if intent.kind is IntentKind.ORDER and intent.symbol_text:
                self.last_order, self.last_order_placed = intent, False
            if intent.kind is IntentKind.COST_COMPARISON:
                self.last_order = replace(intent, kind=IntentKind.ORDER)
                self.last_order_placed = False

    def saw(self, intents: Sequence[Intent], results: Iterable[Any]) -> None:
        """Update from the tool results that answered it (objects with broker, tool, arguments, ok, data)."""
        results = list(results)
        placed = [r for r in results if r.tool == "place_order" and r.ok and r.data.get("id")]
        if placed:
            self.order_ids = [(r.broker, str(r.data["id"])) for r in placed]
            last = placed[-1]
            order = next((i for i in reversed(intents) if i.kind is IntentKind.ORDER
                          and str(i.symbol_text or "").upper() in (str(last.data.get("symbol", "")).upper(), "")), None)
            base = order or (self.last_order if self.last_order else None)
            if base is not None:
                self.last_order = replace(base, symbol_text=last.data.get("symbol") or base.symbol_text,
                                          brokers=tuple(dict.fromkeys(r.broker for r in placed)), broker_choice=None,
                                          follow_up=FollowUp.NONE)
            self.last_order_placed = True
            symbols = list(dict.fromkeys(str(r.data.get("symbol")) for r in placed))
            self.recent_orders.append(symbols[0] if len(symbols) == 1 else "+".join(symbols))
            self.symbol, self.symbol_from, self.broker = last.data.get("symbol") or self.symbol, "order", last.broker
        for r in placed:
            data = r.data
            self.placed_by_symbol[str(data.get("symbol") or "").upper()] = (
                data.get("quantity") if not r.arguments.get("notional") else None, r.arguments.get("notional"), r.broker)
        for r in results:
            if r.tool in ("place_order", "replace_order") and r.ok and r.data.get("id"):
                self.order_status[str(r.data["id"])] = str(r.data.get("status") or "")
            if r.tool == "replace_order" and r.ok and r.data.get("id"):
                self.order_ids = [(r.broker, str(r.data["id"]))]  # the replacement is the order now
            if r.tool == "cancel_order" and r.ok and r.data.get("id"):
                self.order_status[str(r.data["id"])] = "cancelled"
            if r.tool == "get_quote" and r.ok and r.data.get("symbol"):
                self.symbol, self.company, self.symbol_from, self.quote = r.data["symbol"], r.data.get("name"), "quote", r.data
        accounts = {r.broker for r in results if r.tool == "get_account" and r.ok}
        if len(accounts) == 1:
            self.cash_broker = next(iter(accounts))
        profiles = {r.broker: r.data for r in results if r.tool == "get_broker_profile" and r.ok}
        asked = next((i.broker_choice for i in intents if i.kind is IntentKind.COMPARE_BROKERS), None)
        if profiles and asked in ("fastest", "cheapest"):
            self.answer_broker = fastest(profiles) if asked == "fastest" else lowest_fees(profiles)
        estimates = {r.broker: r.data for r in results if r.tool == "estimate_order" and r.ok}
        if estimates and any(i.kind is IntentKind.COST_COMPARISON for i in intents):
            side = next((i.side for i in intents if i.kind is IntentKind.COST_COMPARISON), "buy") or "buy"
            self.answer_broker = cheapest_for_order(estimates, side)
            if self.last_order is not None and not self.last_order.brokers and len(estimates) == 1:
                self.last_order = replace(self.last_order, brokers=tuple(estimates))


# ---------------------------------------------------------------------------------------- resolving


def _follow_up_targets(previous: Intent, current: Intent, brokers: Sequence[BrokerRef]) -> tuple | str:
    """The (brokers, broker_choice) a follow-up goes to, or a question when that is unclear."""
    if current.other_broker:
        if not previous.brokers:
            return f"Which broker should I use? The last order did not name one. Your brokers are {names(brokers)}."
        others = tuple(b.id for b in brokers if b.id not in previous.brokers)
        return (others, None) if others else f"There is no other broker: your brokers are {names(brokers)}."
    if current.brokers:
        return current.brokers, "all" if current.broker_choice == "all" else None
    if current.broker_choice:
        return (), current.broker_choice
    return previous.brokers, previous.broker_choice


def _shown(intent: Intent) -> str:
    return f"{intent.company} ({intent.symbol_text})" if intent.company else str(intent.symbol_text)


def merge_follow_up(previous: Intent | None, current: Intent, brokers: Sequence[BrokerRef]) -> Intent:
    """Combine a follow-up ("make it 20", "same on Velocity", "now sell them") with the earlier order it refers to."""
    if current.follow_up is FollowUp.NONE:
        return current
    if (previous is None or previous.kind is not IntentKind.ORDER) and current.other_broker and current.symbol_text:
        return clarify(f"Which broker do you mean by 'the other broker'? Your brokers are {names(brokers)}.")
    if previous is None or previous.kind is not IntentKind.ORDER or previous.follow_up is not FollowUp.NONE:
        return clarify("Which order do you mean? I have no earlier order in this chat to change. "
                       "Tell me the whole order, for example 'buy 10 AAPL'.")
    targets = _follow_up_targets(previous, current, brokers)
    if isinstance(targets, str):
        return clarify(targets)
    routing = {"brokers": targets[0], "broker_choice": targets[1], "follow_up": FollowUp.NONE}
    size = {}
    if current.quantity is not None or current.notional is not None or current.portion is not None:
        size = {"quantity": current.quantity, "notional": current.notional, "portion": current.portion}
    if current.follow_up is FollowUp.CONFIRM:  # "do it on the cheaper one": what was priced, where now said
        if current.brokers or current.broker_choice:
            return replace(previous, follow_up=FollowUp.NONE, brokers=current.brokers, broker_choice=current.broker_choice)
        return replace(previous, follow_up=FollowUp.NONE)
    if current.follow_up is FollowUp.REVERSE:
        side = current.side or ("sell" if previous.side == "buy" else "buy")
        # the same number of shares back; a dollar or portion order has no share count to reverse, so ask
        size = size or ({"quantity": previous.quantity} if previous.quantity is not None else {})
        if not size or (side == "buy" and size.get("portion") is not None):
            return clarify(f"How many shares of {_shown(previous)} do you want to {side}?")
        if side == "sell" and not current.brokers and not current.broker_choice:
            routing |= {"brokers": (), "broker_choice": None}  # "sell all of it": where the shares are, every broker
        return Intent(kind=IntentKind.ORDER, side=side, symbol_text=previous.symbol_text, company=previous.company,
                      order_type=current.order_type, limit_price=current.limit_price, stop_price=current.stop_price,
                      trail_percent=current.trail_percent, trail_price=current.trail_price,
                      take_profit_price=current.take_profit_price, stop_loss_price=current.stop_loss_price,
                      time_in_force=current.time_in_force, **size, **routing)
    amended: dict = {}
    if current.limit_price is not None:
        amended = {"order_type": "limit", "limit_price": current.limit_price}
    if current.time_in_force != "day" or current.tif_stated:
        amended["time_in_force"] = current.time_in_force
    if current.follow_up is FollowUp.RESIZE and not (size or amended or current.brokers or current.broker_choice):
        return clarify(f"What should I change about the {previous.symbol_text} order: "
                       "the number of shares, the price or the timing?")
    side = current.side or previous.side
    if side == "buy" and size.get("portion") is not None:
        return clarify(f"How many shares of {_shown(previous)} do you want to buy?")
    # a stock the follow-up names itself ("same again on the other broker tesla"); leftover words name none
    named = {"symbol_text": current.symbol_text, "company": current.company} if current.company else {}
    return replace(previous, side=side, **size, **amended, **routing, **named)


WORKING = ("queued", "open", "accepted", "new", "pending", "partially_filled")
"""Statuses of an order that can still be changed."""


def _working_order(state: DialogueState) -> tuple[str, str] | None:
    """The (broker, id) of the last order this chat placed, when it was still working when last seen."""
    if not state.order_ids:
        return None
    broker, order_id = state.order_ids[-1]
    return (broker, order_id) if state.order_status.get(order_id, "") in WORKING else None


def _as_replacement(intent: Intent, state: DialogueState) -> Intent | None:
    """'make it 20', 'make the limit 45' right after an order that is still queued or open: change that order."""
    if intent.follow_up is not FollowUp.RESIZE or intent.brokers or intent.broker_choice or not state.last_order_placed:
        return None
    working = _working_order(state)
    if working is None or len(state.order_ids) != 1:
        return None
    changes = {k: getattr(intent, k) for k in REPLACEABLE
               if getattr(intent, k) is not None}
    if intent.tif_stated:
        changes |= {"time_in_force": intent.time_in_force, "tif_stated": True}
    if not changes or intent.notional is not None or intent.portion is not None:
        return None
    last = state.last_order
    return Intent(kind=IntentKind.REPLACE, symbol_text=last.symbol_text if last else None, brokers=(working[0],),
                  order_ref=working[1], **changes)


ORDINALS = {"first": 0, "second": 1, "third": 2, "last": -1}


def refers_by_position(refers: str | None) -> bool:
    """'the first one', 'the other one', 'the vanguard one', 'both': a stock named by its place among those just
    discussed."""
    return bool(refers) and (refers in ORDINALS or refers in ("other", "both") or refers.startswith("named:"))


def discussed(state: DialogueState) -> list[tuple[str, str | None]]:
    """(symbol, company) of the stocks of the last three turns, in the order they came up."""
    window: dict[str, str | None] = {}
    for turn in state.turn_symbols[-3:]:
        for symbol, company in turn:
            window.setdefault(symbol, company)
    return list(window.items())


def _by_ordinal(intent: Intent, state: DialogueState) -> Intent:
    """'buy 8 of the first one' after 'what's Dollar Tree at' and 'what about Dollar General': the stocks of the
    last few turns, in the order they came up."""
    listed = discussed(state)
    refers = str(intent.refers)
    if refers == "other":
        listed = [(s, c) for s, c in listed if s not in state.current_symbols]
        picked = listed if len(listed) == 1 else []
    elif refers.startswith("named:"):
        word = refers.removeprefix("named:").lower()
        picked = [(s, c) for s, c in listed if word in f"{s} {c or ''}".lower().split() or word == s.lower()]
    else:
        index = ORDINALS[refers]
        picked = [listed[index]] if len(listed) >= 2 and index < len(listed) else []
    if len(picked) != 1:
        said = refers.removeprefix("named:")
        return clarify(f"Which stock do you mean by 'the {said} one'? Name it, for example 'buy 5 AAPL'.")
    symbol, company = picked[0]
    return replace(intent, symbol_text=symbol, company=company, refers=None)


def resolve(intent: Intent, state: DialogueState, brokers: Sequence[BrokerRef]) -> Intent:
    """`intent` with its references to the conversation ("them", "that broker", "add 5 more") filled in."""
    if intent.kind is IntentKind.ORDER and refers_by_position(intent.refers) and intent.refers != "both":
        intent = _by_ordinal(intent, state)
        if intent.kind is not IntentKind.ORDER:
            return intent
    if intent.kind is IntentKind.REPLACE and intent.refers == "pronoun":
        working = _working_order(state)
        if working is not None:
            return replace(intent, order_ref=working[1], brokers=intent.brokers or (working[0],), refers=None)
        return replace(intent, refers=None)  # no order of this chat is working: the planner looks for the one that is
    replacing = _as_replacement(intent, state)
    if replacing is not None:
        return replacing
    last = state.last_order
    if (intent.follow_up is FollowUp.RESIZE and last is not None and state.last_order_placed and len(state.order_ids) == 1
            and state.order_status.get(state.order_ids[-1][1]) == "filled" and not (intent.brokers or intent.broker_choice)):
        return clarify(f"Your {last.side} order for {_shown(last)} already filled, so it can't be changed. For more "
                       f"shares, say how many as a new order, for example 'buy 5 more {last.symbol_text}'.")
    if intent.kind is IntentKind.CANCEL and intent.refers == "pronoun" and state.order_ids:
        # "cancel it": the last order placed (on the broker named, when one was: "cancel the one with Velocity")
        mine = [(b, o) for b, o in state.order_ids if not intent.brokers or b in intent.brokers]
        if not mine:
            return replace(intent, refers=None)
        broker, order_id = mine[-1]
        return replace(intent, order_ref=order_id, brokers=(broker,), refers=None)
    if intent.kind is IntentKind.CLARIFY and intent.refers == "alone" and state.last_asked is IntentKind.QUOTE:
        return Intent(kind=IntentKind.QUOTE, symbol_text=intent.symbol_text, company=intent.company)  # "and google?"
    if intent.kind is IntentKind.QUOTE and intent.refers == "pronoun":
        if state.symbol is None:
            return clarify("Which stock do you want a quote for? For example: 'what is Apple trading at?'")
        return replace(intent, symbol_text=state.symbol, company=state.company, refers=None)
    if intent.kind is not IntentKind.ORDER:
        return intent
    if intent.refers == "pronoun" or intent.follow_up is FollowUp.REVERSE:
        recent = list(dict.fromkeys(state.recent_orders[-2:]))
        if len(recent) > 1 and state.symbol_from == "order":  # "sell half of it" after PEP and DG: which one?
            return clarify(f"Which stock do you mean: {' or '.join(recent)}?")
    if intent.follow_up is FollowUp.CONFIRM and state.last_order_placed:
        return clarify("That order was already sent. What would you like to do next?")
    if intent.follow_up is FollowUp.REVERSE and state.symbol_from != "order" and state.symbol:
        intent = replace(intent, follow_up=FollowUp.NONE, symbol_text=state.symbol, company=state.company, refers=None)
    elif intent.follow_up is not FollowUp.NONE:
        if (intent.follow_up is FollowUp.REPEAT_ON and intent.refers == "pronoun" and state.symbol_from == "quote"
                and state.symbol and not intent.symbol_text):
            # "the same number of those" after a quote: the quoted stock, the last order's size
            intent = replace(intent, symbol_text=state.symbol, company=state.company, refers=None)
        intent = merge_follow_up(state.last_order, intent, brokers)
        if intent.kind is not IntentKind.ORDER:
            return intent
    if intent.symbol_text is None and intent.refers == "everything":
        return intent
    if intent.symbol_text is None:
        if state.symbol is None:
            side = intent.side or "trade"
            if intent.quantity is not None:
                return clarify(f"Which stock do you want to {side} {format(intent.quantity, 'f')} shares of?")
            return clarify(f"Which stock do you want to {side}, and how many shares (or what dollar amount)?")
        routing = {}
        # a buy follow-up goes where the last order went; a sell goes where the shares are (the planner looks)
        if (not intent.brokers and not intent.broker_choice and state.symbol_from == "order" and state.last_order
                and (intent.side or state.last_order.side) == "buy" and intent.size_ref != "moved"):
            routing = {"brokers": state.last_order.brokers}
        intent = replace(intent, symbol_text=state.symbol, company=state.company, refers=None, **routing)
    if intent.side is None and state.last_order is not None and not intent.side_unsaid:
        intent = replace(intent, side=state.last_order.side)  # "also the same quantity of Morgan Stanley"
    if intent.side is None and not intent.side_unsaid:
        return clarify(f"Do you want to buy or sell {_shown(intent)}?")
    earlier = state.placed_by_symbol.get(str(intent.symbol_text or "").upper())
    if (intent.size_ref == "same" and earlier is not None and state.last_order is not None
            and str(state.last_order.symbol_text).upper() != str(intent.symbol_text).upper()):
        # "double the lockheed" after Lockheed and then Northrop: the size of the Lockheed order, where it went
        quantity, notional, broker = earlier
        intent = replace(intent, quantity=Decimal(str(quantity)) if quantity else None,
                         notional=Decimal(str(notional)) if notional else None, size_ref=None, broker_ref=None,
                         brokers=intent.brokers or (broker,))
    if intent.size_ref == "same" and state.last_order is not None and (
            state.last_order.quantity is not None or state.last_order.notional is not None):
        routing = {"broker_ref": None} if intent.broker_ref == "there" else {}  # "there": where the last order went
        if intent.broker_ref and not intent.brokers and state.last_order.brokers:
            routing = {"brokers": state.last_order.brokers, "broker_ref": None}
        intent = replace(intent, quantity=state.last_order.quantity, notional=state.last_order.notional, size_ref=None,
                         **routing)
    if intent.size_ref == "moved":
        # "... and buy it back on Velocity": as many shares as this chat bought of it, where it did not go
        quantity, _notional, went = state.placed_by_symbol.get(str(intent.symbol_text or "").upper(), (None, None, None))
        if quantity is None:
            return clarify(f"How many shares of {_shown(intent)} should I buy back, and at which broker?")
        routing = {}
        if intent.other_broker and not intent.brokers:
            routing = {"brokers": tuple(b.id for b in brokers if b.id != went), "other_broker": False}
        intent = replace(intent, quantity=Decimal(str(quantity)), size_ref=None, **routing)
    if intent.quantity is None and intent.notional is None and intent.portion is None:
        return clarify(f"How many shares of {_shown(intent)} do you want to {intent.side}?")
    if intent.broker_ref and not intent.brokers and not intent.broker_choice:
        broker = {"cash": state.cash_broker, "answer": state.answer_broker or state.broker,
                  "there": state.broker}.get(intent.broker_ref)
        if intent.broker_ref.startswith("as:"):  # "on the same broker as the Caterpillar": where its order went
            named = intent.broker_ref.removeprefix("as:")
            broker = state.placed_by_symbol.get(named, (None, None, None))[2]
            if broker is None:
                return clarify(f"I have no order for {named} in this chat, so I don't know its broker. Which broker "
                               f"should I use? Your brokers are {names(brokers)}.")
        if broker is None and intent.broker_ref == "answer":
            broker = state.broker
        if broker is None:
            return clarify(f"Which broker do you mean? Your brokers are {names(brokers)}.")
        intent = replace(intent, brokers=(broker,), broker_ref=None)
    return intent


_CONFIRM = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|yeah|yep|sure|great|perfect|alright|cool|fine|sounds\s+good)\b[\s,.!]*)*"
    r"(?:(?:please\s+)?(?:go\s+ahead|do\s+it|place\s+it|send\s+it|execute\s+it|book\s+it|let'?s\s+do\s+it|confirm(?:ed)?"
    r"|proceed|submit\s+it)|yes|yeah|yep|ok(?:ay)?)(?:\s+(?:then|please|and\s+place\s+it))?[\s.!]*$", re.I)


def is_confirmation(text: str) -> bool:
    """'go ahead', 'ok do it', 'yes': the person agrees to what was just priced."""
    return bool(_CONFIRM.match(text.strip()))
