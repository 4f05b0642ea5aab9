"""The practice clock in the console (local brokers only): Settings -> Clock, the sidebar label and the jump buttons.

The clock itself is the brokers' (brokers/clock.py): one file in the data dir that both local brokers read, moved
through their `move_practice_clock` tool. The console only asks for moves and shows what the brokers answer.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from agent.errors import AgentError

TOOL = "move_practice_clock"
MODES = ("Real time", "Practice")
JUMPS = {"next_open": "Jump to next open", "close": "Jump to the close", "plus_hour": "+1 hour"}
"""The practice clock's moves forward, as their buttons say them."""
COLOUR = "orange"
"""The practice clock's colour wherever it shows (the sidebar label, Settings): never mistaken for real time."""


def market(conns) -> dict | None:
    """The market clock now (open/closed, next open and close, practice) as the connected brokers see it: the practice
    clock's when one follows it (a broker with a clock of its own, like Alpaca's, never does), else the first's."""
    markets = []
    for status in conns.statuses():
        if status.connected:
            try:
                markets.append(conns.call(status.id, "get_broker_profile").get("market") or {})
            except Exception:  # a broker that stopped answering shows up in its status line
                continue
    return next((m for m in markets if m.get("practice")), markets[0] if markets else None)


def when(iso: str) -> str:
    """'Tue Nov 24 10:30 ET' from the broker's New York ISO time."""
    moment = datetime.fromisoformat(iso)
    return f"{moment:%a %b} {moment.day} {moment:%H:%M} ET"


def label(clock: dict) -> str:
    return f"Practice clock · {when(clock['now'])}"


def move(conns, action: str) -> str | None:
    """Ask a local broker that serves the practice clock to move it (one move moves it for all: they share the
    file); None when done, else why not (shown to the person)."""
    problem = "no broker is connected yet"
    for status in conns.statuses():
        if status.connected:
            try:
                conns.call(status.id, TOOL, {"action": action})
                return None
            except AgentError as exc:  # e.g. a broker with a clock of its own: the next one may serve it
                problem = str(exc)
    return problem


def _jump(conns, action: str) -> None:
    if problem := move(conns, action):
        st.session_state["clock_problem"] = problem
    st.rerun()  # the whole page: queued orders may have filled at the new time


def jump_buttons(conns, where: str) -> None:
    """The three moves forward, for the sidebar and Settings (`where` keeps their widget keys apart)."""
    for action, text in JUMPS.items():  # one per row: side by side, the sidebar cut "Jump to the close" short
        if st.button(text, key=f"{where}-clock-{action}", width="stretch"):
            _jump(conns, action)


def sidebar(conns, clock: dict | None) -> None:
    """The sidebar's clock lines: the practice label in its colour and the jumps, or a frozen TRADING_NOW note."""
    if not clock:
        return
    if clock.get("practice"):
        st.markdown(f":{COLOUR}-background[:{COLOUR}[**{label(clock)}**]]")
        jump_buttons(conns, "sidebar")
    elif clock.get("frozen"):
        st.caption(f"Frozen clock (TRADING_NOW): {when(clock['now'])}")
    if problem := st.session_state.pop("clock_problem", None):
        st.error(problem)


def settings_section(connections, remote: bool) -> None:
    """Settings -> Clock: real time (default) or practice, and the jumps forward while practising. `connections` gives
    the connection manager (asked only in local mode: a gateway's clock is never ours to move)."""
    st.markdown("**Clock**")
    if remote:
        st.caption("A gateway's brokers keep the market's clock; the practice clock is for the local brokers.")
        st.radio("Clock", MODES, index=0, horizontal=True, disabled=True)
        return
    try:
        conns = connections()
    except AgentError as exc:  # e.g. brokers that cannot start: the sidebar says why
        st.caption(f"The practice clock needs the local brokers: {exc}")
        return
    clock = market(conns)
    practising = bool(clock and clock.get("practice"))
    choice = st.radio("Clock", MODES, index=1 if practising else 0, horizontal=True, disabled=clock is None,
                      help="Practice starts at the next session open and moves only when you jump it. Both brokers "
                           "follow it; queued orders fill at the open you jump to, as they would in real time. Back "
                           "in real time the books keep what happened in practice.")
    if clock is None:
        st.caption("The brokers are still connecting.")
    elif (choice == "Practice") != practising:
        _jump(conns, "practice" if choice == "Practice" else "real_time")
    elif practising:
        st.markdown(f":{COLOUR}[**{label(clock)}**] · market {'open' if clock['is_open'] else 'closed'}")
        jump_buttons(conns, "settings")
    else:
        st.caption("Real market hours: orders placed while the market is closed wait for the next open.")
    if problem := st.session_state.pop("clock_problem", None):
        st.error(problem)
