"""Shared services for the Streamlit pages: saved settings, keyring secrets, one connection manager.

The connection manager (and its event loop and broker subprocesses) lives in st.cache_resource, so
reruns and page switches reuse the same MCP sessions; nothing calls asyncio.run per rerun.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import platformdirs
import streamlit as st
from keyring.errors import KeyringError, NoKeyringError
from pydantic import SecretStr

from agent.connections import BrokerConnections
from agent.settings import AgentSettings

if TYPE_CHECKING:
    from agent.assistant import TradingAssistant

KEYRING_SERVICE = "trading-console"
SECRET_NAMES = {"openai_api_key": "OPENAI_API_KEY", "api_key": "TRADING_API_KEY"}
_CLOSERS: list = []
DEFAULTS = {"gateway_url": "", "gateway_transport": "sse", "model": "gpt-4.1", "openai_base_url": "",
            "autonomous": False, "max_order_notional": "", "default_broker": "tradesphere"}


def data_dir() -> Path:
    return Path(os.environ.get("TRADING_DATA_DIR") or platformdirs.user_data_dir("trading-console"))


def settings_path() -> Path:
    return data_dir() / "console_settings.json"


def load_saved() -> dict:
    """Saved (non-secret) settings merged over the defaults."""
    try:
        saved = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    return {**DEFAULTS, **{k: v for k, v in saved.items() if k in DEFAULTS}}


def save(values: dict) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in values.items() if k in DEFAULTS}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(clean, indent=2), encoding="utf-8")
    tmp.replace(path)  # never a half-written settings file


def read_secret(name: str) -> tuple[str | None, str]:
    """(secret, where it came from): keyring, this session, the environment, or nowhere."""
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
        if value:
            return value, "keyring"
    except (NoKeyringError, KeyringError):
        pass
    session_value = st.session_state.get(f"_secret_{name}")
    if session_value:
        return session_value, "this session only"
    env_value = os.environ.get(SECRET_NAMES[name])
    if env_value:
        return env_value, f"environment ({SECRET_NAMES[name]})"
    return None, "not set"


def store_secret(name: str, value: str) -> str:
    """Store in keyring; without a keyring backend keep it for this session only. Returns where it went."""
    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
        return "keyring"
    except (NoKeyringError, KeyringError):
        st.session_state[f"_secret_{name}"] = value
        return "this session only (no keyring backend on this machine)"


def delete_secret(name: str) -> None:
    with contextlib.suppress(NoKeyringError, KeyringError):
        keyring.delete_password(KEYRING_SERVICE, name)
    st.session_state.pop(f"_secret_{name}", None)


def agent_settings() -> AgentSettings:
    saved = load_saved()
    openai_key, _ = read_secret("openai_api_key")
    api_key, _ = read_secret("api_key")
    notional = str(saved["max_order_notional"]).strip()
    return AgentSettings().model_copy(update={
        "gateway_url": saved["gateway_url"] or None,
        "gateway_transport": saved["gateway_transport"],
        "model": saved["model"] or "gpt-4.1",
        "openai_base_url": saved["openai_base_url"] or None,
        "openai_api_key": SecretStr(openai_key) if openai_key else None,
        "api_key": SecretStr(api_key) if api_key else None,
        "autonomous": bool(saved["autonomous"]),
        "default_broker": saved["default_broker"],
        "max_order_notional": Decimal(notional) if notional else None,
        "data_dir": data_dir(),
        "now": os.environ.get("TRADING_NOW") or None,
    })


@st.cache_resource(show_spinner="Starting the brokers…")
def _connections(key: tuple) -> BrokerConnections:
    settings = agent_settings()
    connections = BrokerConnections(settings)
    connections.start()
    atexit.register(connections.close)
    _CLOSERS.append(connections.close)
    return connections


def _key(settings: AgentSettings) -> tuple:
    secret = settings.api_key.get_secret_value() if settings.api_key else ""
    return (settings.gateway_url, settings.gateway_transport, str(settings.data_dir), str(settings.max_order_notional),
            settings.now, hash(secret))


def connections() -> BrokerConnections:
    return _connections(_key(agent_settings()))


def assistant() -> TradingAssistant:
    from agent.assistant import TradingAssistant  # the agents SDK: imported while the brokers start, not before

    settings = agent_settings()
    conns = _connections(_key(settings))
    marker = (_key(settings), settings.model, settings.openai_base_url, settings.autonomous,
              settings.openai_api_key is not None, settings.default_broker)
    cached = st.session_state.get("_assistant")
    if cached is None or cached[0] != marker:
        cached = (marker, TradingAssistant(conns, settings))
        st.session_state["_assistant"] = cached
    return cached[1]


def reset_connections() -> None:
    """Settings changed: close the old brokers and let the next page start new ones."""
    for close in _CLOSERS:
        close()
    _CLOSERS.clear()
    _connections.clear()
    st.session_state.pop("_assistant", None)


def money(value) -> str:
    try:
        amount = Decimal(str(value))
    except Exception:
        return "—"
    return f"-${abs(amount):,.2f}" if amount < 0 else f"${amount:,.2f}"
