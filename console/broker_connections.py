"""The console's one connection manager (its event loop and broker subprocesses) and the chat assistant.

The manager lives in st.cache_resource, so reruns and page switches reuse the same MCP sessions; nothing calls
asyncio.run per rerun. `streamlit run app.py` starts it with the server (app.py's `st.App` lifespan), before any
browser connects; a page never waits for it: it paints at once and the sidebar follows each broker's state. A
settings change clears the cache, whose on_release closes the old brokers. The agents SDK (seconds to import) is
loaded only for the chat, or in the background once the brokers are up.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

import streamlit as st
from pydantic import SecretStr

from agent.settings import AgentSettings
from console import saved_settings
from console.keys import read_secret

if TYPE_CHECKING:
    from agent.assistant import PendingApproval, TradingAssistant
    from agent.connections import BrokerConnections


def agent_settings(in_session: bool = True) -> AgentSettings:
    """The agent's settings: the environment, with the saved console settings and the stored keys on top (outside a
    browser session, the keys this session keeps are not there to read)."""
    saved, _ = saved_settings.load()
    openai_key, _ = read_secret("openai_api_key", in_session)
    api_key, _ = read_secret("api_key", in_session)
    return AgentSettings().model_copy(update={
        "gateway_url": saved.gateway_url or None,
        "gateway_transport": saved.gateway_transport,
        "model": saved.model or "gpt-4.1",
        "openai_base_url": saved.openai_base_url or None,
        "openai_api_key": SecretStr(openai_key) if openai_key else None,
        "api_key": SecretStr(api_key) if api_key else None,
        "autonomous": saved.autonomous,
        "default_broker": saved.default_broker,
        "max_order_notional": Decimal(saved.max_order_notional) if saved.max_order_notional else None,
        "data_dir": saved_settings.data_dir(),
        "now": os.environ.get("TRADING_NOW") or None,
    })


def _close(connections: BrokerConnections) -> None:
    connections.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def _connections(key: tuple, _settings: AgentSettings) -> BrokerConnections:
    """One manager per `key`, built from `_settings` (what the key says; not hashed). Its brokers start at once; its
    MCP client is imported once the first page is drawn (beside that page it would slow the paint)."""
    from agent.connections import BrokerConnections

    connections = BrokerConnections(_settings, paint_first=True)
    connections.start(wait=False)
    return connections


def _key(settings: AgentSettings) -> tuple:
    secret = settings.api_key.get_secret_value() if settings.api_key else ""
    return (settings.gateway_url, settings.gateway_transport, str(settings.data_dir), str(settings.max_order_notional),
            settings.now, hash(secret))


def connections() -> BrokerConnections:
    """The running connection manager; brokers may still be connecting (every call waits for its broker)."""
    settings = agent_settings()
    conns = _connections(_key(settings), settings)
    conns.page_started()
    return conns


def assistant() -> TradingAssistant:
    """This browser session's assistant (built once the brokers are connected: its instructions name their fees)."""
    from agent.assistant import TradingAssistant

    settings = agent_settings()
    conns = _connections(_key(settings), settings)
    marker = (_key(settings), settings.model, settings.openai_base_url, settings.autonomous,
              settings.openai_api_key is not None, settings.default_broker)
    cached = st.session_state.get("_assistant")
    if cached is None or cached[0] != marker:
        conns.wait_ready()
        cached = (marker, TradingAssistant(conns, settings))
        st.session_state["_assistant"] = cached
    return cached[1]


def pending_approvals(session_id: str) -> list[PendingApproval]:
    """Orders of this chat waiting for the person; none (and no agents SDK import) before the first request."""
    cached = st.session_state.get("_assistant")
    return cached[1].pending(session_id) if cached else []


def warm_up() -> None:
    """Import the agents SDK in the background once the brokers are up, so the first answer does not wait for it."""
    if not getattr(warm_up, "started", False):
        warm_up.started = True
        threading.Thread(target=lambda: __import__("agent.assistant"), name="agents-sdk-import", daemon=True).start()


def page_painted() -> None:
    """The end of a script run: whatever waited for the page to be drawn may go ahead (the brokers' MCP client, and
    once they are up the agents SDK, so that loading it never slows the run that shows them connected)."""
    with contextlib.suppress(Exception):  # no brokers (a configuration error): the page said so already
        conns = connections()
        conns.page_painted()
        if conns.ready:
            warm_up()


def start_early() -> None:
    """Start the brokers before any page asks for them (a configuration error is left for the page to say)."""
    with contextlib.suppress(Exception):
        settings = agent_settings(in_session=False)
        _connections(_key(settings), settings)


@contextlib.asynccontextmanager
async def server_lifespan(_app) -> AsyncIterator[None]:
    """The Streamlit server's lifespan (app.py's `st.App`): the brokers start as the server does, in a thread of
    their own so that it listens at once (the MCP client follows the first page's paint), and are closed when it
    stops."""
    threading.Thread(target=start_early, name="brokers-start", daemon=True).start()
    try:
        yield
    finally:
        _connections.clear()  # on_release closes each manager: its local brokers end with the server


def reset_connections() -> None:
    """Settings changed: release the old brokers (closed by on_release) and let the next page start new ones."""
    _connections.clear()
    st.session_state.pop("_assistant", None)
