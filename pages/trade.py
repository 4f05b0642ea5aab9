"""Trade: chat with the agent; orders wait for approval on a card, one card per order."""

from __future__ import annotations

import uuid

import streamlit as st

from console import display
from console.services import agent_settings, assistant, connections, pending_approvals

EXAMPLES = [
    "Buy 100 Apple shares through TradeSphere when the market opens",
    "Buy 50 MSFT through the cheapest broker",
    "Buy 100 AAPL through the fastest broker",
    "Show me portfolios from both brokers",
]
HELP = """**What you can ask**
- Buy or sell by company or ticker: *Buy 10 Apple through TradeSphere*, *$500 of Microsoft at the open*,
  *sell half my Tesla*, limit, stop, trailing stop and bracket orders.
- Prices and costs: *quote NVDA*, *what would 100 AAPL cost at each broker?*
- Your books: *show me portfolios from both brokers*, *my open orders*, *cancel my Visa order*.

**Orders wait for your approval.** Each order shows a card with its price, fees and total; nothing is placed
until you click Approve. **Paper money:** both brokers are simulated paper accounts, no real money moves."""

st.session_state.setdefault("chat_id", uuid.uuid4().hex[:12])
st.session_state.setdefault("messages", [])
settings = agent_settings()

head, new = st.columns([6, 1])
head.subheader("Trade")
if new.button("New chat", width="stretch"):
    st.session_state.chat_id = uuid.uuid4().hex[:12]
    st.session_state.messages = []
    st.rerun()
st.caption(f"Model in use: **{display.model_in_use(settings)}** · paper trading, no real money")
if settings.autonomous:
    st.warning("Autonomous mode is on: orders are placed without asking you.")


def md(text: str) -> str:
    """Chat text as Markdown: a '$' is money, not the start of a formula."""
    return text.replace("$", "\\$")


def broker_names() -> dict[str, str]:
    try:
        return {s.id: s.name for s in connections().statuses()}  # no waiting: the brokers may still be connecting
    except Exception:  # a console without brokers still draws its chat
        return {}


def tool_details(calls: list[dict], names: dict[str, str]) -> None:
    """One collapsed drawer for a turn's tool calls: which broker, which tool, arguments and result."""
    if not calls:
        return
    with st.expander(f"Details · {len(calls)} tool call{'s' if len(calls) != 1 else ''}", expanded=False):
        for call in calls:
            failed = " · error" if call.get("is_error") else ""
            st.markdown(f"**{names.get(call['server'], call['server'])} · {call['tool'].replace('_', ' ')}**{failed}")
            st.json({"arguments": call["arguments"], "result": call["output"]}, expanded=False)


def remember(result) -> None:
    """Keep a turn's reply and the tool calls no earlier message showed (a resumed run reports the old ones too).
    A call still waiting for approval has no result yet: it shows with the turn that ran it."""
    shown = {c.get("call_id") for m in st.session_state.messages for c in m.get("tool_calls", [])}
    waiting = {p.call_id for p in result.pending_approvals}
    calls = [dict(c.__dict__) for c in result.tool_calls if c.call_id not in shown and c.call_id not in waiting]
    st.session_state.messages.append({"role": "assistant", "content": result.reply, "tool_calls": calls,
                                      "error": result.error})


def show_turn(updates, names: dict[str, str]):
    """Draw a turn as it arrives: streamed text token by token and tool calls as they happen (an LLM), or the whole
    reply at once (the offline model). Returns the finished TurnResult."""
    result, text, calls = None, "", []
    with st.chat_message("assistant"):
        drawer = reply = None
        with st.spinner("Working…"):
            for update in updates:
                if update.kind == "text":
                    text += update.text
                    reply = reply or st.empty()
                    reply.markdown(md(text) + "▌")
                elif update.kind in ("tool_called", "tool_output") and update.call:
                    if update.kind == "tool_called":
                        calls.append(update.call)
                    drawer = drawer or st.status("Details · 0 tool calls", expanded=False)
                    done = sum(1 for c in calls if c.output is not None)
                    drawer.update(label=f"Details · {len(calls)} tool call{'s' if len(calls) != 1 else ''}"
                                        + (f" · {len(calls) - done} running" if done < len(calls) else ""))
                    if update.kind == "tool_called":
                        drawer.write(f"{names.get(update.call.server, update.call.server)} · {update.call.tool.replace('_', ' ')}")
                elif update.kind == "done":
                    result = update.result
        if reply is not None and result is not None:
            reply.markdown(md(result.reply))
        if drawer is not None:
            drawer.update(state="error" if result is None or result.error else "complete")
    return result


def run(prompt: str, names: dict[str, str]) -> None:
    st.session_state.messages.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(md(prompt))
    result = show_turn(assistant().ask_streaming(prompt, session_id=st.session_state.chat_id), names)
    if result is not None:
        remember(result)
    st.rerun()


names = broker_names()
asked = None
if not st.session_state.messages:
    with st.container(border=True):
        st.markdown(HELP)
        st.caption("Try one:")
        with st.container(horizontal=True, wrap=True):
            for n, example in enumerate(EXAMPLES):
                if st.button(example, key=f"example-{n}"):
                    asked = example

prompt = st.chat_input("Buy 10 shares of Apple through TradeSphere…")
asked = prompt or asked

for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["content"])
        else:
            st.markdown(md(message["content"]))
        tool_details(message.get("tool_calls", []), names)

if asked:
    run(asked, names)

pending = pending_approvals(st.session_state.chat_id)  # none before the first request: no agents SDK import to paint
# One decision per card; the run resumes once every pending order has one (or on Approve all / Reject all).
decisions: dict[str, bool] = st.session_state.setdefault("decisions", {})
for stale in [c for c in decisions if c not in {p.call_id for p in pending}]:
    del decisions[stale]


def submit(choice: dict[str, bool]) -> None:
    result = show_turn(assistant().decide_streaming(st.session_state.chat_id, choice), names)
    if result is not None:
        remember(result)
    decisions.clear()
    st.rerun()


def field(column, label: str, value: str) -> None:
    """A label over its value; the value wraps rather than being cut off."""
    column.caption(label)
    column.markdown(f"**{md(value)}**")


def grid(cells: list[tuple[str, str]], per_row: int = 4) -> None:
    for start in range(0, len(cells), per_row):
        row = cells[start:start + per_row]
        for column, (label, value) in zip(st.columns(per_row), row, strict=False):
            field(column, label, value)


def order_cells(broker: str, args: dict, estimate: dict, company: str) -> list[tuple[str, str]]:
    """What a trader checks before approving an order, in words and full amounts."""
    symbol = estimate.get("symbol") or args.get("symbol") or ""
    amount = ("Amount", display.money(args["notional"])) if args.get("notional") and not args.get("quantity") else \
        ("Quantity", display.size(args.get("quantity") or estimate.get("quantity"), None))
    kind = args.get("order_type") or estimate.get("order_type") or "market"
    bracket = args.get("take_profit_price") or args.get("stop_loss_price")
    cells = [("Broker", broker), ("Company", f"{company} ({symbol})" if company else symbol),
             ("Side", display.side(args.get("side"))), amount,
             ("Type", display.order_type(kind, "bracket" if bracket else None))]
    if args.get("limit_price"):
        cells.append(("Limit", display.price(args["limit_price"])))
    if args.get("stop_price"):
        cells.append(("Stop", display.price(args["stop_price"])))
    if args.get("trail_percent") or args.get("trail_price"):
        cells.append(("Trail", display.trail(args.get("trail_percent"), args.get("trail_price"))))
    if bracket:
        cells.append(("Take profit", display.price(args.get("take_profit_price"))))
        loss = display.price(args.get("stop_loss_price"))
        if args.get("stop_loss_limit_price"):
            loss += f" (limit {display.price(args['stop_loss_limit_price'])})"
        cells.append(("Stop loss", loss))
    tif = args.get("time_in_force") or estimate.get("time_in_force") or "day"
    cells.append(("Time in force", display.time_in_force(tif, estimate.get("executes_at"))))
    if estimate and not estimate.get("error"):
        cells += [("Est. price", display.price(estimate.get("expected_price"))), ("Fees", display.money(estimate.get("fees"))),
                  ("Total", display.money(estimate.get("total")))]
        if estimate.get("fills_now"):
            cells.append(("Executes", "Now, at the market" if kind == "market" else "Now"))
        elif estimate.get("executes_at"):
            cells.append(("Executes", f"Queued until {display.eastern(estimate['executes_at'])}"))
        else:
            cells.append(("Executes", "Rests until its price is reached"))
    return cells


def target_cells(order: dict | None, args: dict) -> list[tuple[str, str]]:
    """The order a cancel or replace would change, and for a replace what changes."""
    if not order:
        return [("Order", str(args.get("order_id")))]
    cells = [("Order", f"{display.side(order['side'])} {display.size(order.get('quantity'), order.get('notional'))} "
                       f"{order['symbol']}"),
             ("Type", display.order_type(order["order_type"], order.get("order_class"))),
             ("Status", display.status(order["status"])),
             ("Time in force", display.time_in_force(order["time_in_force"], order.get("executes_at")))]
    for key, label in (("limit_price", "Limit"), ("stop_price", "Stop")):
        if order.get(key):
            cells.append((label, display.price(order[key])))
    return cells


for item in pending:
    args = item.arguments
    estimate = item.estimate or {}
    with st.container(border=True, key=f"card-{item.call_id}"):
        if item.tool == "place_order":
            what = f"{display.side(args.get('side'))} {display.size(args.get('quantity'), args.get('notional'))} of " \
                   f"{item.company or args.get('symbol')} on {item.broker_name}?"
            st.markdown(f"**Approve: {md(what)}**")
            if item.note:
                st.info(item.note)
            grid(order_cells(item.broker_name, args, estimate, item.company))
            if estimate.get("error"):
                st.error(estimate["error"])
            elif estimate.get("would_be_rejected"):
                st.warning(f"The broker would reject this order: {estimate['would_be_rejected']}")
        elif item.tool in ("cancel_order", "replace_order"):
            verb = "cancel" if item.tool == "cancel_order" else "replace"
            st.markdown(f"**Approve: {verb} order {args.get('order_id')} on {md(item.broker_name)}?**")
            if item.note:
                st.info(item.note)
            grid(target_cells(item.order, args))
            if item.tool == "replace_order":
                changes = {k: v for k, v in args.items() if k != "order_id" and v not in (None, "")}
                st.markdown("New: " + md(", ".join(
                    f"{k.replace('_', ' ')} {display.time_in_force(v) if k == 'time_in_force' else v}" for k, v in changes.items())))
        else:
            st.markdown(f"**Approve {item.tool.replace('_', ' ')} on {md(item.broker_name)}?**")
            st.json(args)
        if item.call_id in decisions:
            st.info("Approved: waiting for your decision on the other orders." if decisions[item.call_id]
                    else "Rejected: waiting for your decision on the other orders.")
            continue
        approve, reject = st.columns(2)
        if approve.button("Approve", key=f"approve-{item.call_id}", type="primary", width="stretch"):
            decisions[item.call_id] = True
            st.rerun()
        if reject.button("Reject", key=f"reject-{item.call_id}", width="stretch"):
            decisions[item.call_id] = False
            st.rerun()

if len(pending) > 1:
    every, none = st.columns(2)
    if every.button("Approve all", key="approve-all", type="primary", width="stretch"):
        submit({p.call_id: True for p in pending})
    if none.button("Reject all", key="reject-all", width="stretch"):
        submit({p.call_id: False for p in pending})
if pending and all(p.call_id in decisions for p in pending):
    submit({p.call_id: decisions[p.call_id] for p in pending})
