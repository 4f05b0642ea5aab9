"""Trade: chat with the agent; orders wait for approval on a card."""

from __future__ import annotations

import json
import uuid

import streamlit as st

from console.services import agent_settings, assistant, money

EXAMPLES = [
    "Buy 100 Apple shares through TradeSphere when the market opens",
    "Buy 50 MSFT through the cheapest broker",
    "Buy 100 AAPL through the fastest broker",
    "Show me portfolios from both brokers",
]

st.session_state.setdefault("chat_id", uuid.uuid4().hex[:12])
st.session_state.setdefault("messages", [])

head, new = st.columns([6, 1])
head.subheader("Trade")
if new.button("New chat", width="stretch"):
    st.session_state.chat_id = uuid.uuid4().hex[:12]
    st.session_state.messages = []
    st.rerun()
if agent_settings().autonomous:
    st.warning("Autonomous mode is on: orders are placed without asking you.")


def remember(result) -> None:
    st.session_state.messages.append({"role": "assistant", "content": result.reply,
                                      "tool_calls": [c.__dict__ for c in result.tool_calls], "error": result.error})


def run(prompt: str) -> None:
    st.session_state.messages.append({"role": "user", "content": prompt})
    with st.spinner("Working…"):
        remember(assistant().ask(prompt, session_id=st.session_state.chat_id))


chips = st.columns(len(EXAMPLES))
for column, example in zip(chips, EXAMPLES, strict=True):
    if column.button(example, width="stretch"):
        run(example)

prompt = st.chat_input("Buy 10 shares of Apple through TradeSphere…")
if prompt:
    run(prompt)

for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["content"])
        else:
            st.markdown(message["content"].replace("$", "\\$"))
        for call in message.get("tool_calls", []):
            with st.expander(f"{call['server']} · {call['tool']}", expanded=False):
                st.code(json.dumps(call["arguments"], indent=1), language="json")
                st.code(json.dumps(call["output"], indent=1, default=str)[:4000], language="json")

pending = assistant().pending(st.session_state.chat_id)
# One decision per card; the run resumes once every pending order has one (or on Approve all / Reject all).
decisions: dict[str, bool] = st.session_state.setdefault("decisions", {})
for stale in [c for c in decisions if c not in {p.call_id for p in pending}]:
    del decisions[stale]


def submit(choice: dict[str, bool]) -> None:
    with st.spinner("Placing…"):
        remember(assistant().decide(st.session_state.chat_id, choice))
    decisions.clear()
    st.rerun()


for item in pending:
    args = item.arguments
    estimate = item.estimate or {}
    with st.container(border=True):
        st.markdown(f"**Approve {item.tool.replace('_', ' ')} on {item.broker_name}?**")
        if item.note:
            st.caption(item.note)
        if item.tool == "place_order":
            cols = st.columns(8)
            for col, (label, value) in zip(cols, [
                ("Broker", item.broker_name), ("Symbol", args.get("symbol")), ("Side", args.get("side")),
                ("Quantity", args.get("quantity") or f"${args.get('notional')}"), ("Type", args.get("order_type", "market")),
                ("TIF", args.get("time_in_force", "day")), ("Est. price", money(estimate.get("expected_price"))),
                ("Fees / total", f"{money(estimate.get('fees'))} / {money(estimate.get('total'))}"),
            ], strict=True):
                col.metric(label, str(value))
            if estimate.get("error"):
                st.error(estimate["error"])
        else:
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
