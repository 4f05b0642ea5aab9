"""The trading console: router and sidebar. Run with `streamlit run app.py`."""

from __future__ import annotations

import contextlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import streamlit as st

from console import practice_clock
from console.display import model_in_use
from console.services import agent_settings, connections, money, page_painted, server_lifespan

# While brokers connect, the sidebar reruns every CONNECTING_POLL_S and each rerun waits up to CONNECTING_WAIT_S for
# them (idle, on the connections' loop): it sees them the moment they are up at about one rerun a second, not four
# (a rerun costs the server tens of milliseconds of CPU, which the starting brokers need). Comments, not docstrings:
# Streamlit's magic would draw a bare string.
CONNECTING_POLL_S = 0.1
CONNECTING_WAIT_S = 1.0


def _until(iso: str, now_iso: str) -> str:
    seconds = int((datetime.fromisoformat(iso) - datetime.fromisoformat(now_iso)).total_seconds())
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds > 0 else "now"


STATE_ICONS = {"connected": ":green[:material/check_circle:]", "reconnecting": ":orange[:material/sync:]",
               "connecting": ":orange[:material/sync:]"}
"""A broker's state as a Material Symbols icon: Streamlit ships that font, while colour emoji are missing on many
Linux desktops (headless Debian Chromium drew the old emoji dots as empty boxes)."""


def broker_lines(conns, polling: bool) -> None:
    """Each broker's state, then (once all are up) the market, the clock and the total equity. While any broker is
    still connecting this reruns on its own, then repaints the whole page once they are up."""
    in_full_run = st.session_state.pop("_sidebar_in_full_run", False)
    if polling and not in_full_run:  # a rerun of its own: it may wait; the page's own run never does
        with contextlib.suppress(TimeoutError):
            conns.wait_ready(timeout=CONNECTING_WAIT_S)
    for status in conns.statuses():
        icon = STATE_ICONS.get(status.state, ":red[:material/error:]")
        latency = f" · {status.latency_ms:.1f} ms" if status.latency_ms else ""
        st.write(f"{icon} **{status.name}** {status.state}{latency}")
        if status.last_error and not status.connected:
            st.caption(status.last_error)
    if not conns.ready:
        return
    if polling:  # they have just come up: draw every page with them (the agents SDK loads after that run)
        st.rerun()
    # The market clock now, asked of a connected broker on every rerun, so "closes in" moves with time instead of
    # showing the moment the broker connected.
    market = practice_clock.market(conns)
    if market:
        st.caption("MARKET")
        if market["is_open"]:
            st.write(f":green[:material/radio_button_checked:] Open · closes in {_until(market['next_close'], market['now'])}")
        else:
            st.write(f":gray[:material/radio_button_unchecked:] Closed · opens {practice_clock.when(market['next_open'])}")
        practice_clock.sidebar(conns, market)
    equity = Decimal(0)
    for result in conns.call_all("get_account").values():
        if isinstance(result, dict):
            equity += Decimal(result["equity"])
    st.metric("Total equity", money(equity))


def sidebar() -> None:
    settings = agent_settings()
    st.sidebar.caption("CONNECTION")
    st.sidebar.write(f"Gateway · {settings.gateway_url}" if settings.remote else "Local brokers (stdio)")
    st.sidebar.caption("MODEL")
    st.sidebar.write(model_in_use(settings))
    try:
        conns = connections()  # starts the brokers without waiting: this page paints now
    except Exception as exc:  # a console that cannot reach its brokers still renders and says why
        st.sidebar.error(f"Brokers unavailable: {exc}")
        return
    polling = not conns.ready
    st.session_state["_sidebar_in_full_run"] = True
    with st.sidebar:
        st.fragment(broker_lines, run_every=CONNECTING_POLL_S if polling else None)(conns, polling)
    if settings.autonomous:
        st.sidebar.warning("Autonomous mode is ON")


def main() -> None:
    """One script run: the page, its sidebar, then whatever waited for the page to be drawn."""
    st.set_page_config(page_title="Trading Console", page_icon=":material/candlestick_chart:", layout="wide", initial_sidebar_state="expanded")
    st.markdown(
        "<style>.block-container{padding-top:1.2rem;padding-bottom:1rem;max-width:100%}"
        "div[data-testid=stMetricValue]{font-size:1.25rem}</style>",
        unsafe_allow_html=True,
    )
    page = st.navigation([
        st.Page("pages/trade.py", title="Trade", icon=":material/chat:", default=True),
        st.Page("pages/portfolio.py", title="Portfolio", icon=":material/pie_chart:"),
        st.Page("pages/orders.py", title="Orders", icon=":material/receipt_long:"),
        st.Page("pages/brokers.py", title="Brokers", icon=":material/account_balance:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ])
    sidebar()
    page.run()
    page_painted()


if __name__ == "__main__":  # every script run (Streamlit runs this file as __main__, AppTest too): draw the page
    main()
else:  # `streamlit run app.py` finds this st.App and imports the file once, as the module `app`, to serve it: the
    # brokers start with the server (its lifespan), before any browser has connected, not with the first page
    app = st.App(Path(__file__).name, lifespan=server_lifespan)
