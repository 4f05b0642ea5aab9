"""Brokers: profile cards (fees, speed, measured round trip) and a what-would-it-cost comparison."""

from __future__ import annotations

import streamlit as st

from console.services import connections, money

st.subheader("Brokers")
conns = connections()
statuses = conns.statuses()
for column, status in zip(st.columns(len(statuses)), statuses, strict=True):
    profile = status.profile or {}
    with column.container(border=True):
        st.markdown(f"### {status.name}")
        st.caption(profile.get("specialty", ""))
        st.write(f"**Fees:** {profile.get('fee_schedule', '—')}")
        st.write(f"**Typical fill:** {profile.get('fill_latency_ms', '—')} ms · "
                 f"{'fractional shares' if profile.get('fractional_shares') else 'whole shares only'}")
        latency = f"{status.latency_ms:.1f} ms" if status.latency_ms else "—"
        st.write(f"**Connection:** {status.state} over {status.transport} · last round trip {latency}")

st.markdown("#### What would this order cost?")
a, b, c = st.columns(3)
symbol = a.text_input("Symbol or company", "AAPL")
side = b.selectbox("Side", ["buy", "sell"])
quantity = c.text_input("Shares", "100")
if st.button("Compare"):
    results = conns.call_all("estimate_order", {"symbol": symbol, "side": side, "quantity": quantity})
    for broker, result in results.items():
        name = next((s.name for s in statuses if s.id == broker), broker)
        if isinstance(result, dict):
            st.write(f"**{name}:** ~{money(result['expected_price'])} a share, fees {money(result['fees'])}, "
                     f"total {money(result['total'])}" + (f" — would be rejected: {result['would_be_rejected']}" if result.get("would_be_rejected") else ""))
        else:
            st.error(f"{name}: {result}")
