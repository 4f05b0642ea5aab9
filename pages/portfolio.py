"""Portfolio: per-broker and combined KPIs, positions, queued and open orders, allocation, P&L and equity over time."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import streamlit as st

from console import display
from console.services import connections

# An equity curve is drawn once its points span at least a minute: before that it is one moment, not a history.
HISTORY_MIN_SPAN_S = 60
MONEY = st.column_config.NumberColumn(format="dollar")

st.subheader("Portfolio")
if st.button("Refresh"):
    st.rerun()

conns = connections()
summaries, orders = {}, {}
for broker, result in conns.call_all("get_portfolio_summary").items():
    if isinstance(result, dict):
        summaries[broker] = result
    else:
        st.error(f"{broker}: {result}")
for broker, result in conns.call_all("list_orders", {"status": "active", "limit": 500}).items():
    orders[broker] = result.get("orders", []) if isinstance(result, dict) else []
names = {s.id: s.name for s in conns.statuses()}


def kpis(accounts: list[dict]) -> None:
    total = {k: sum((Decimal(a[k]) for a in accounts), Decimal(0)) for k in
             ("equity", "cash", "buying_power", "unrealized_pnl", "realized_pnl", "fees_paid")}
    for col, (label, key) in zip(st.columns(6), [("Equity", "equity"), ("Cash", "cash"), ("Buying power", "buying_power"),
                                                   ("Unrealized P&L", "unrealized_pnl"), ("Realized P&L", "realized_pnl"),
                                                   ("Fees paid", "fees_paid")], strict=True):
        col.metric(label, display.money(total[key]))


def positions_frame(items: list[tuple[str, dict]]) -> pd.DataFrame:
    # floats only here, for the table's own number formats; every figure above comes as a Decimal string
    rows = [{"Broker": names.get(b, b), "Symbol": p["symbol"], "Name": p["name"], "Quantity": float(p["quantity"]),
             "Avg cost": float(p["average_cost"]), "Price": float(p["market_price"]), "Value": float(p["market_value"]),
             "Unrealized P&L": float(p["unrealized_pnl"]),
             "P&L %": float(p["unrealized_pnl_pct"] or 0) / 100, "Sector": p["sector"]} for b, p in items]
    return pd.DataFrame(rows)


def orders_frame(items: list[tuple[str, dict]]) -> pd.DataFrame:
    rows = [{"Broker": names.get(b, b), "Status": display.status(o["status"]), "Side": display.side(o["side"]),
             "Symbol": o["symbol"], "Size": display.size(o.get("quantity"), o.get("notional")),
             "Type": display.order_type(o["order_type"], o.get("order_class")),
             "Time in force": display.time_in_force(o["time_in_force"]),
             "Executes": display.new_york(o.get("executes_at"))} for b, o in items]
    return pd.DataFrame(rows)


def has_history(points: list[dict]) -> bool:
    times = [display.parse_time(p["Time"]) for p in points]
    times = [t for t in times if t]
    return len(times) >= 2 and (max(times) - min(times)).total_seconds() >= HISTORY_MIN_SPAN_S


def show(items: list[tuple[str, dict]], active: list[tuple[str, dict]], curves: dict[str, list], key: str) -> None:
    frame = positions_frame(items)
    if frame.empty:
        st.info("No positions yet" + (f": {len(active)} order{'s' if len(active) != 1 else ''} queued or open below."
                                      if active else ". Ask on the Trade page, e.g. 'Buy 10 shares of Apple through TradeSphere'."))
    else:
        st.dataframe(frame, hide_index=True, width="stretch", key=f"positions-{key}", column_config={
            "Quantity": st.column_config.NumberColumn(format="localized"), "Avg cost": MONEY, "Price": MONEY,
            "Value": MONEY, "Unrealized P&L": MONEY, "P&L %": st.column_config.NumberColumn(format="percent")})
    if active:
        st.markdown(f"**Queued and open orders ({len(active)})**")
        st.dataframe(orders_frame(active), hide_index=True, width="stretch", key=f"orders-{key}", column_config={
            "Executes": st.column_config.DatetimeColumn(format="ddd MMM D, HH:mm [ET]", timezone="America/New_York")})
    if not frame.empty:
        left, right = st.columns(2)
        left.plotly_chart(px.pie(frame, names="Symbol", values="Value", hole=0.55, title="Allocation", template="plotly_dark"),
                          width="stretch", key=f"alloc-{key}")
        pnl = px.bar(frame, x="Symbol", y="Unrealized P&L", color="Broker", barmode="group",
                     title="Unrealized P&L ($)", template="plotly_dark")
        pnl.update_yaxes(title="Unrealized P&L ($)", tickformat="$,.2f")  # d3 puts the sign first: -$0.05
        right.plotly_chart(pnl, width="stretch", key=f"pnl-{key}")
    points = [{"Broker": names.get(b, b), "Time": display.new_york(p["time"]), "Equity": float(p["equity"])}
              for b, c in curves.items() for p in c]
    if has_history(points):
        equity = px.line(pd.DataFrame(points), x="Time", y="Equity", color="Broker", markers=True,
                         title="Equity over time (New York time)", template="plotly_dark")
        equity.update_yaxes(title="Equity ($)", tickformat="$,.0f")
        st.plotly_chart(equity, width="stretch", key=f"equity-{key}")
    else:
        st.caption("Equity over time: no history yet. The chart appears once fills have been recorded over more than "
                   "a minute of market time.")


tabs = st.tabs(["All brokers", *[names.get(b, b) for b in summaries]])
with tabs[0]:
    kpis([s["account"] for s in summaries.values()])
    show([(b, p) for b, s in summaries.items() for p in s["positions"]], [(b, o) for b in summaries for o in orders.get(b, [])],
         {b: s["equity_curve"] for b, s in summaries.items()}, "all")
for tab, (broker, summary) in zip(tabs[1:], summaries.items(), strict=True):
    with tab:
        st.caption(summary["specialty"])
        kpis([summary["account"]])
        show([(broker, p) for p in summary["positions"]], [(broker, o) for o in orders.get(broker, [])],
             {broker: summary["equity_curve"]}, broker)
