"""Portfolio: per-broker and combined KPIs, positions, allocation, P&L and equity over time."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import streamlit as st

from console.services import connections, money

st.subheader("Portfolio")
if st.button("Refresh"):
    st.rerun()

conns = connections()
summaries = {}
for broker, result in conns.call_all("get_portfolio_summary").items():
    if isinstance(result, dict):
        summaries[broker] = result
    else:
        st.error(f"{broker}: {result}")
names = {s.id: s.name for s in conns.statuses()}


def kpis(accounts: list[dict]) -> None:
    total = {k: sum((Decimal(a[k]) for a in accounts), Decimal(0)) for k in
             ("equity", "cash", "buying_power", "unrealized_pnl", "realized_pnl", "fees_paid")}
    for col, (label, key) in zip(st.columns(6), [("Equity", "equity"), ("Cash", "cash"), ("Buying power", "buying_power"),
                                                   ("Unrealized P&L", "unrealized_pnl"), ("Realized P&L", "realized_pnl"),
                                                   ("Fees paid", "fees_paid")], strict=True):
        col.metric(label, money(total[key]))


def positions_frame(items: list[tuple[str, dict]]) -> pd.DataFrame:
    rows = [{"Broker": names.get(b, b), "Symbol": p["symbol"], "Name": p["name"], "Quantity": float(p["quantity"]),
             "Avg cost": float(p["average_cost"]), "Price": float(p["market_price"]), "Value": float(p["market_value"]),
             "Unrealized P&L": float(p["unrealized_pnl"]),
             "P&L %": float(p["unrealized_pnl_pct"] or 0) / 100, "Sector": p["sector"]} for b, p in items]
    return pd.DataFrame(rows)


def show(items: list[tuple[str, dict]], curves: dict[str, list], key: str) -> None:
    frame = positions_frame(items)
    if frame.empty:
        st.info("No positions yet. Ask on the Trade page, e.g. 'Buy 10 shares of Apple through TradeSphere'.")
    else:
        st.dataframe(frame, hide_index=True, width="stretch", key=f"positions-{key}", column_config={
            "Avg cost": st.column_config.NumberColumn(format="$%.2f"), "Price": st.column_config.NumberColumn(format="$%.2f"),
            "Value": st.column_config.NumberColumn(format="$%.2f"),
            "Unrealized P&L": st.column_config.NumberColumn(format="$%.2f"),
            "P&L %": st.column_config.NumberColumn(format="percent")})
        left, right = st.columns(2)
        left.plotly_chart(px.pie(frame, names="Symbol", values="Value", hole=0.55, title="Allocation", template="plotly_dark"),
                          width="stretch", key=f"alloc-{key}")
        right.plotly_chart(px.bar(frame, x="Symbol", y="Unrealized P&L", color="Broker", barmode="group",
                                  title="Unrealized P&L", template="plotly_dark"), width="stretch", key=f"pnl-{key}")
    points = [{"Broker": names.get(b, b), "Time": p["time"], "Equity": float(p["equity"])} for b, c in curves.items() for p in c]
    if points:
        st.plotly_chart(px.line(pd.DataFrame(points), x="Time", y="Equity", color="Broker", markers=True,
                                title="Equity over time", template="plotly_dark"), width="stretch", key=f"equity-{key}")


tabs = st.tabs(["All brokers", *[names.get(b, b) for b in summaries]])
with tabs[0]:
    kpis([s["account"] for s in summaries.values()])
    show([(b, p) for b, s in summaries.items() for p in s["positions"]], {b: s["equity_curve"] for b, s in summaries.items()}, "all")
for tab, (broker, summary) in zip(tabs[1:], summaries.items(), strict=True):
    with tab:
        st.caption(summary["specialty"])
        kpis([summary["account"]])
        show([(broker, p) for p in summary["positions"]], {broker: summary["equity_curve"]}, broker)
