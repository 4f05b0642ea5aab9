"""Orders: the blotter across brokers grouped as queued, open, filled and cancelled, bracket exits under their entry,
times in New York; cancel or replace a queued or open order after the person approves it on a card; CSV export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agent.errors import AgentError
from console import display
from console.services import connections

# Blotter sections: label, the statuses in it, expanded at first. (Comments, not docstrings: Streamlit's magic would
# draw a bare string in a page script.)
GROUPS = [("Queued", ("queued",), True), ("Open", ("open",), True), ("Filled", ("filled",), True),
          ("Cancelled, rejected, expired or replaced", ("cancelled", "rejected", "expired", "replaced"), False)]
ACTIVE = ("queued", "open")
MONEY = st.column_config.NumberColumn(format="dollar")
NEW_YORK_TIME = st.column_config.DatetimeColumn(format="ddd MMM D, HH:mm [ET]", timezone="America/New_York")


def md(text: str) -> str:
    """Text for Markdown: a '$' is money, not the start of a formula."""
    return text.replace("$", "\\$")


def amount(value) -> float | None:
    """A wire Decimal string as a number for the table's dollar format (display only); None when absent."""
    parsed = display.decimal_or_none(value)
    return float(parsed) if parsed is not None else None


def bracket(order: dict) -> str:
    """Where an order stands in a bracket: the entry's two exit prices, or which exit of which entry."""
    if order.get("parent_id"):
        exit_kind = "stop-loss" if order["order_type"] in ("stop", "stop_limit") else "take-profit"
        return f"{exit_kind} of {order['parent_id']}"
    if order.get("take_profit_price"):
        return (f"entry: take profit {display.price(order['take_profit_price'])}, "
                f"stop loss {display.price(order['stop_loss_price'])}")
    return ""


def row(broker: str, o: dict) -> dict:
    return {"Broker": names.get(broker, broker), "broker_id": broker, "Order": ("↳ " if o.get("parent_id") else "") + o["id"],
            "Id": o["id"], "parent": o.get("parent_id") or "", "status": o["status"], "Status": display.status(o["status"]),
            "Side": display.side(o["side"]), "Symbol": o["symbol"], "Qty": amount(o.get("quantity")),
            "Notional": amount(o.get("notional")), "Type": display.order_type(o["order_type"], o.get("order_class")),
            "Limit": amount(o.get("limit_price")), "Stop": amount(o.get("stop_price")),
            "Trail": display.trail(o.get("trail_percent"), o.get("trail_price")), "Mark": amount(o.get("high_water_mark")),
            "Bracket": bracket(o), "TIF": display.time_in_force(o["time_in_force"]),
            "Filled": amount(o.get("filled_quantity")), "Avg price": amount(o.get("average_fill_price")),
            "Fees": amount(o.get("fees")), "Submitted": display.new_york(o.get("submitted_at")),
            "Filled at": display.new_york(o.get("filled_at")), "Executes": display.new_york(o.get("executes_at")),
            "Triggered": display.new_york(o.get("triggered_at")), "Replaces": o.get("replaces") or "",
            "Reason": o.get("reject_reason") or "", "_order": o}


def with_legs_under_parents(frame: pd.DataFrame) -> pd.DataFrame:
    """Newest first, each bracket exit right under its entry (when both are in this group)."""
    frame = frame.sort_values("Submitted", ascending=False, kind="stable")
    ids = set(frame["Id"])
    ordered = []
    for _, entry in frame[~frame["parent"].isin(ids)].iterrows():
        ordered.append(entry)
        ordered += [leg for _, leg in frame[frame["parent"] == entry["Id"]].iterrows()]
    return pd.DataFrame(ordered, columns=frame.columns)


COLUMNS = {"Qty": st.column_config.NumberColumn(format="localized"), "Filled": st.column_config.NumberColumn(format="localized"),
           "Notional": MONEY, "Limit": MONEY, "Stop": MONEY, "Mark": MONEY, "Avg price": MONEY, "Fees": MONEY,
           "Submitted": NEW_YORK_TIME, "Filled at": NEW_YORK_TIME, "Executes": NEW_YORK_TIME, "Triggered": NEW_YORK_TIME}
HIDDEN = ["broker_id", "Id", "parent", "status", "_order"]
# Columns a group shows only when one of its orders has a value there (a blotter of market orders has no Limit).
OPTIONAL = ["Notional", "Limit", "Stop", "Trail", "Mark", "Bracket", "Avg price", "Filled at", "Executes", "Triggered",
            "Replaces", "Reason"]

st.subheader("Orders")
if done := st.session_state.pop("order_change_done", None):
    (st.error if done.startswith("Refused") else st.success)(md(done))
conns = connections()
names = {s.id: s.name for s in conns.statuses()}
rows = []
for broker, result in conns.call_all("list_orders", {"status": "all", "limit": 500}).items():
    if not isinstance(result, dict):
        st.error(f"{names.get(broker, broker)}: {result}")
        continue
    rows += [row(broker, o) for o in result["orders"]]
frame = pd.DataFrame(rows)
if frame.empty:
    st.info("No orders yet. Orders you approve on the Trade page appear here: queued, open, filled and cancelled.")
    st.stop()

for label, statuses, expanded in GROUPS:
    group = frame[frame["status"].isin(statuses)]
    if group.empty:
        continue
    with st.expander(f"{label} · {len(group)}", expanded=expanded):
        shown = with_legs_under_parents(group)
        empty = {c: None for c in OPTIONAL if shown[c].isna().all() or (shown[c].astype(str) == "").all()}
        st.dataframe(shown.drop(columns=HIDDEN), hide_index=True, width="stretch", column_config={**COLUMNS, **empty},
                     key=f"blotter-{statuses[0]}")
st.download_button("Download CSV", frame.drop(columns=["_order", "Order", "status"]).to_csv(index=False), "orders.csv",
                   "text/csv")

# ---------------------------------------------------------------------------------------------- cancel and replace

active = frame[frame["status"].isin(ACTIVE)]
if active.empty:
    st.stop()
st.markdown("#### Change a queued or open order")
st.caption("Nothing changes until you approve the change on its card.")
labels = {f"{r['Broker']} · {r['Side']} {display.size(r['_order'].get('quantity'), r['_order'].get('notional'))} "
          f"{r['Symbol']} · {r['Type']} · {r['Status']} · {r['Id']}": r for r in active.to_dict("records")}
choice = labels[st.selectbox("Order", list(labels), key="change-order")]
order = choice["_order"]
pending = st.session_state.get("order_change")
if pending and pending["args"]["order_id"] != choice["Id"]:
    pending = st.session_state["order_change"] = None

if st.button("Cancel this order…", key="ask-cancel"):
    pending = st.session_state["order_change"] = {"tool": "cancel_order", "broker": choice["broker_id"],
                                                  "args": {"order_id": choice["Id"]}}
with st.expander("Replace this order: new size, prices or time in force"), st.form("replace-form"):
    new_qty = st.text_input("New quantity (shares)", order.get("quantity") or "")
    fields = {}
    if order.get("limit_price") is not None:
        fields["limit_price"] = st.text_input("New limit price ($)", order["limit_price"])
    if order.get("stop_price") is not None:
        fields["stop_price"] = st.text_input("New stop price ($)", order["stop_price"])
    if order.get("trail_percent") is not None:
        fields["trail_percent"] = st.text_input("New trail (%)", order["trail_percent"])
    if order.get("trail_price") is not None:
        fields["trail_price"] = st.text_input("New trail ($)", order["trail_price"])
    tifs = list(display.TIME_IN_FORCE)[:4]
    tif = st.selectbox("Time in force", tifs, index=tifs.index(order["time_in_force"]) if order["time_in_force"] in tifs else 0,
                       format_func=display.time_in_force)
    if st.form_submit_button("Review the replacement"):
        args = {"order_id": choice["Id"]}
        if str(new_qty).strip() and display.decimal_or_none(new_qty) != display.decimal_or_none(order.get("quantity")):
            args["quantity"] = str(new_qty).strip()
        for key, value in fields.items():
            if str(value).strip() and display.decimal_or_none(value) != display.decimal_or_none(order.get(key)):
                args[key] = str(value).strip()
        if tif != order["time_in_force"]:
            args["time_in_force"] = tif
        if len(args) == 1:
            st.warning("Nothing would change: edit a value first.")
        else:
            pending = st.session_state["order_change"] = {"tool": "replace_order", "broker": choice["broker_id"],
                                                          "args": args}

if pending:
    args = pending["args"]
    with st.container(border=True):
        what = f"{choice['Side']} {display.size(order.get('quantity'), order.get('notional'))} {choice['Symbol']} on {choice['Broker']}"
        if pending["tool"] == "cancel_order":
            st.markdown(f"**Approve: cancel {md(what)}?**")
            st.caption(f"Order {choice['Id']} · {choice['Type']} · {choice['Status']} · {choice['TIF']}")
        else:
            st.markdown(f"**Approve: replace {md(what)}?**")
            changes = []
            for key, value in args.items():
                if key == "order_id":
                    continue
                if key == "time_in_force":
                    changes.append(f"time in force {display.time_in_force(order[key])} → {display.time_in_force(value)}")
                elif key == "quantity":
                    changes.append(f"quantity {display.quantity(order.get(key))} → {display.quantity(value)}")
                elif key == "trail_percent":
                    changes.append(f"trail {display.quantity(order.get(key))}% → {display.quantity(value)}%")
                else:
                    changes.append(f"{key.replace('_', ' ')} {display.price(order.get(key))} → {display.price(value)}")
            st.markdown(md("; ".join(changes)))
        yes, no = st.columns(2)
        if yes.button("Approve", key="approve-change", type="primary", width="stretch"):
            try:
                result = conns.call(pending["broker"], pending["tool"], args)
                st.session_state["order_change_done"] = result.get("message") or "Done."
            except AgentError as exc:
                st.session_state["order_change_done"] = f"Refused: {exc}"
            st.session_state["order_change"] = None
            st.rerun()
        if no.button("Keep the order as it is", key="reject-change", width="stretch"):
            st.session_state["order_change"] = None
            st.rerun()
