"""The trading console: router and sidebar. Run with `streamlit run app.py`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import streamlit as st

from console.display import model_in_use
from console.services import agent_settings, connections, money

st.set_page_config(page_title="Trading Console", page_icon="📈", layout="wide", initial_sidebar_state="expanded")
st.markdown(
    "<style>.block-container{padding-top:1.2rem;padding-bottom:1rem;max-width:100%}"
    "div[data-testid=stMetricValue]{font-size:1.25rem}</style>",
    unsafe_allow_html=True,
)

PAGES = [
    st.Page("pages/trade.py", title="Trade", icon="💬", default=True),
    st.Page("pages/portfolio.py", title="Portfolio", icon="📊"),
    st.Page("pages/orders.py", title="Orders", icon="🧾"),
    st.Page("pages/brokers.py", title="Brokers", icon="🏦"),
    st.Page("pages/settings.py", title="Settings", icon="⚙️"),
]
page = st.navigation(PAGES)


def _until(iso: str, now_iso: str) -> str:
    seconds = int((datetime.fromisoformat(iso) - datetime.fromisoformat(now_iso)).total_seconds())
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds > 0 else "now"


def _market(conns, broker_id: str) -> dict | None:
    """The market clock now (open/closed, next open or close), asked of a connected broker on every rerun, so the
    sidebar's "closes in" moves with time instead of showing the moment the broker connected."""
    try:
        return conns.call(broker_id, "get_broker_profile").get("market")
    except Exception:  # a broker that stopped answering shows up in its status line; no market line then
        return None


def sidebar() -> None:
    settings = agent_settings()
    st.sidebar.caption("CONNECTION")
    st.sidebar.write(f"Gateway · {settings.gateway_url}" if settings.remote else "Local brokers (stdio)")
    st.sidebar.caption("MODEL")
    st.sidebar.write(model_in_use(settings))
    try:
        conns = connections()
    except Exception as exc:  # a console that cannot reach its brokers still renders and says why
        st.sidebar.error(f"Brokers unavailable: {exc}")
        return
    market = None
    for status in conns.statuses():
        icon = {"connected": "🟢", "reconnecting": "🟡", "connecting": "🟡"}.get(status.state, "🔴")
        latency = f" · {status.latency_ms:.1f} ms" if status.latency_ms else ""
        st.sidebar.write(f"{icon} **{status.name}** {status.state}{latency}")
        if status.last_error and not status.connected:
            st.sidebar.caption(status.last_error)
        if market is None and status.connected:
            market = _market(conns, status.id)
    if market:
        st.sidebar.caption("MARKET")
        if market["is_open"]:
            st.sidebar.write(f"🟢 Open · closes in {_until(market['next_close'], market['now'])}")
        else:
            st.sidebar.write(f"⚪ Closed · opens {market['next_open'][:16].replace('T', ' ')} ET")
        if market.get("frozen"):
            st.sidebar.caption(f"Frozen clock (TRADING_NOW): {market['now'][:16].replace('T', ' ')}")
    equity = Decimal(0)
    for result in conns.call_all("get_account").values():
        if isinstance(result, dict):
            equity += Decimal(result["equity"])
    st.sidebar.metric("Total equity", money(equity))
    if settings.autonomous:
        st.sidebar.warning("Autonomous mode is ON")


sidebar()
page.run()
