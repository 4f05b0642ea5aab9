"""Brokers: profile cards (fees, speed, measured round trip, the kill switch) and a what-would-it-cost comparison."""

from __future__ import annotations

import subprocess
import sys

import streamlit as st

from agent.connections import broker_env
from console.services import agent_settings, connections, money


def flip_kill_switch(broker: str, command: str, reason: str = "") -> str:
    """`python -m brokers halt|resume <id>` on the local brokers' database (the same data dir and settings)."""
    args = [sys.executable, "-m", "brokers", command, broker] + (["--reason", reason] if reason.strip() else [])
    done = subprocess.run(args, env=broker_env(settings), capture_output=True, text=True, timeout=60)
    return (done.stdout or done.stderr).strip()


st.subheader("Brokers")
settings = agent_settings()
conns = connections()
statuses = conns.statuses()
live = conns.call_all("get_broker_profile", {})  # the halt state now, not as it was at connect time
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
        card = live.get(status.id) if isinstance(live.get(status.id), dict) else {}
        if (card or profile).get("kind") == "alpaca":
            st.info("Paper account at Alpaca: Alpaca's own prices, fills and market clock; no real money moves.")
            if (card or profile).get("configured") is False:
                st.warning(f"{(card or profile).get('problem')}. Store the keys under Settings, then reconnect.")
        if card.get("halted"):
            st.error(f"HALTED: {card.get('halt_reason') or 'no reason given'}. Orders are refused, nothing fills.")
        if settings.gateway_url:
            st.caption("Paper account · the kill switch of a gateway's brokers is its operator's "
                       "(`python -m brokers halt <id>` on the gateway's database).")
        elif card.get("halted"):
            if st.button("Resume", key=f"resume-{status.id}"):
                st.toast(flip_kill_switch(status.id, "resume"))
                st.rerun()
        else:
            reason = st.text_input("Halt reason", key=f"reason-{status.id}", placeholder="why (optional)")
            if st.button("Halt", key=f"halt-{status.id}", type="primary"):
                st.toast(flip_kill_switch(status.id, "halt", reason))
                st.rerun()

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
