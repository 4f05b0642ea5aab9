"""The person's keys (OpenAI, gateway): keyring when the machine has one, else this browser session only, else the
environment. Never written to the settings file, a log or a widget."""

from __future__ import annotations

import contextlib
import os

import keyring
import streamlit as st
from keyring.errors import KeyringError, NoKeyringError

KEYRING_SERVICE = "trading-console"
SECRET_NAMES = {"openai_api_key": "OPENAI_API_KEY", "api_key": "TRADING_API_KEY",
                "alpaca_key_id": "APCA_API_KEY_ID", "alpaca_secret_key": "APCA_API_SECRET_KEY"}
"""Each key's name in keyring -> the environment variable that can also carry it."""
READ_BY_THE_BROKER = {"alpaca_key_id", "alpaca_secret_key"}
"""Keys the broker subprocess reads from keyring itself (brokers/alpaca/config.py, same service and names): a copy
kept for this session only would never reach it."""


def read_secret(name: str, in_session: bool = True) -> tuple[str | None, str]:
    """(secret, where it came from): keyring, this session, the environment, or nowhere. Outside a browser session
    (`in_session` false: the server starting) there is no session to look in."""
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
        if value:
            return value, "keyring"
    except (NoKeyringError, KeyringError):
        pass
    session_value = st.session_state.get(f"_secret_{name}") if in_session else None
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
        if name in READ_BY_THE_BROKER:
            return (f"nowhere: this machine has no keyring backend, so set {SECRET_NAMES[name]} in the environment "
                    "the console starts in instead")
        st.session_state[f"_secret_{name}"] = value
        return "this session only (no keyring backend on this machine)"


def delete_secret(name: str) -> None:
    with contextlib.suppress(NoKeyringError, KeyringError):
        keyring.delete_password(KEYRING_SERVICE, name)
    st.session_state.pop(f"_secret_{name}", None)
