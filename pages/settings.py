"""Settings: connection mode, keys (keyring), model, autonomous mode, risk limits. Saved across restarts."""

from __future__ import annotations

import streamlit as st

from console import practice_clock
from console.display import model_in_use
from console.saved_settings import SettingsError, settings_path
from console.saved_settings import load as load_settings_file
from console.services import (
    agent_settings,
    connections,
    delete_secret,
    load_saved,
    read_secret,
    reset_connections,
    save,
    store_secret,
)

st.subheader("Settings")
saved = load_saved()
with st.form("settings"):
    st.markdown("**Connection**")
    mode = st.radio("Mode", ["Local brokers", "Gateway"], index=1 if saved["gateway_url"] else 0, horizontal=True)
    gateway_url = st.text_input("Gateway URL", saved["gateway_url"], placeholder="https://your-gateway.example.com")
    transport = st.selectbox("Gateway transport", ["sse", "streamable-http"], index=["sse", "streamable-http"].index(saved["gateway_transport"]))
    st.markdown("**Model**")
    st.caption(f"In use now: **{model_in_use(agent_settings())}**. The LLM model name below is used once an OpenAI API "
               "key (Keys, below) or an OpenAI-compatible base URL is set; without either the offline model answers.")
    model = st.text_input("LLM model name (with a key or base URL)", saved["model"])
    base_url = st.text_input("OpenAI-compatible base URL (Ollama, vLLM)", saved["openai_base_url"])
    st.markdown("**Trading**")
    autonomous = st.toggle("Autonomous mode (place orders without asking)", bool(saved["autonomous"]))
    if autonomous:
        st.warning("With autonomous mode on, the agent places orders without your approval.")
    max_notional = st.text_input("Max order value per order ($, empty = no limit)", str(saved["max_order_notional"]))
    if st.form_submit_button("Save settings", type="primary"):
        try:
            save({**saved, "gateway_url": gateway_url.strip() if mode == "Gateway" else "", "gateway_transport": transport,
                  "model": model.strip(), "openai_base_url": base_url.strip(), "autonomous": autonomous,
                  "max_order_notional": max_notional.strip()})
        except SettingsError as exc:
            st.error(f"Not saved: {exc}")
        else:
            reset_connections()
            st.success("Saved. Brokers reconnect with the new settings.")
for problem in load_settings_file()[1]:
    st.warning(f"In {settings_path().name}: {problem}; the default is used until you save.")

practice_clock.settings_section(connections, remote=bool(load_saved()["gateway_url"]))  # as saved just now

st.markdown("**Keys** (stored with keyring, never shown again)")
for name, label in (("api_key", "Gateway API key"), ("openai_api_key", "OpenAI API key"),
                    ("alpaca_key_id", "Alpaca paper API key ID"), ("alpaca_secret_key", "Alpaca paper secret key")):
    _, source = read_secret(name)
    # a fresh widget key after each store: the typed key never stays in any widget
    generation = st.session_state.setdefault(f"gen-{name}", 0)
    left, right = st.columns([3, 1])
    value = left.text_input(f"{label} — currently: {source}", type="password", key=f"input-{name}-{generation}")
    if right.button("Store", key=f"store-{name}") and value:
        where = store_secret(name, value)
        st.session_state[f"gen-{name}"] = generation + 1
        st.session_state["stored_note"] = f"{label} stored in {where}."
        reset_connections()
        st.rerun()
    if source != "not set" and right.button("Forget", key=f"forget-{name}"):
        delete_secret(name)
        reset_connections()
        st.rerun()
if note := st.session_state.pop("stored_note", None):
    st.info(note)
