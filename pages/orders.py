"""Orders: the blotter across brokers, queued and open orders first, cancel with confirmation, CSV export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agent.errors import AgentError
from console.services import connections


def trail(order: dict) -> str:
    """A trailing stop's distance: '5%' or '$2.50'."""
    if order.get("trail_percent"):
        return f"{order['trail_percent']}%"
    return f"${order['trail_price']}" if order.get("trail_price") else ""


def bracket(order: dict) -> str:
    """Where an order stands in a bracket: the entry's two exit prices, or which exit of which entry."""
    if order.get("parent_id"):
        exit_kind = "stop-loss" if order["order_type"] in ("stop", "stop_limit") else "take-profit"
        return f"{exit_kind} of {order['parent_id']}"
    if order.get("take_profit_price"):
        return f"entry: take profit {order['take_profit_price']}, stop loss {order['stop_loss_price']}"
    return ""


st.subheader("Orders")
conns = connections()
names = {s.id: s.name for s in conns.statuses()}
rows = []
for broker, result in conns.call_all("list_orders", {"status": "all", "limit": 500}).items():
    if not isinstance(result, dict):
        st.error(f"{names.get(broker, broker)}: {result}")
        continue
    for o in result["orders"]:
        rows.append({"Broker": names.get(broker, broker), "broker_id": broker, "Id": o["id"], "Status": o["status"],
                     "Side": o["side"], "Symbol": o["symbol"], "Qty": o["quantity"] or "", "Notional": o["notional"] or "",
                     "Type": o["order_type"], "Limit": o["limit_price"] or "", "Stop": o.get("stop_price") or "",
                     "Trail": trail(o), "Mark": o.get("high_water_mark") or "", "Bracket": bracket(o),
                     "TIF": o["time_in_force"], "Filled": o["filled_quantity"], "Avg price": o["average_fill_price"] or "",
                     "Fees": o["fees"], "Submitted": o["submitted_at"], "Triggered": o.get("triggered_at") or "",
                     "Executes": o["executes_at"] or "", "Replaces": o.get("replaces") or "",
                     "Reason": o["reject_reason"] or ""})
frame = pd.DataFrame(rows)
if frame.empty:
    st.info("No orders yet.")
    st.stop()
statuses = sorted(frame["Status"].unique())
chosen = st.multiselect("Status", statuses, default=statuses)
frame = frame[frame["Status"].isin(chosen)]
frame = frame.assign(_active=~frame["Status"].isin(["queued", "open"])).sort_values(["_active", "Submitted"], ascending=[True, False])
st.dataframe(frame.drop(columns=["broker_id", "_active"]), hide_index=True, width="stretch")
st.download_button("Download CSV", frame.drop(columns=["_active"]).to_csv(index=False), "orders.csv", "text/csv")

active = frame[frame["Status"].isin(["queued", "open"])]
if not active.empty:
    st.markdown("**Cancel an order**")
    labels = {f"{r.Broker} · {r.Side} {r.Qty or r.Notional} {r.Symbol} ({r.Status}) · {r.Id}": (r.broker_id, r.Id) for r in active.itertuples()}
    choice = st.selectbox("Queued or open order", list(labels))
    confirm = st.checkbox(f"I approve cancelling {choice}")
    if st.button("Cancel order", disabled=not confirm):
        broker, order_id = labels[choice]
        try:
            conns.call(broker, "cancel_order", {"order_id": order_id})
            st.success(f"Cancelled {order_id}.")
            st.rerun()
        except AgentError as exc:
            st.error(str(exc))
