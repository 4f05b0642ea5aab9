"""The README's gateway path in the console: point Settings at a running gateway, store its key, trade through it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from gateway_process import GatewayProcess, free_port, process_env
from market_times import OPEN
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
GATEWAY_KEY = "console-gateway-key-" + "fedcba9876543210"


@pytest.fixture
def gateway(tmp_path):
    """A real gateway (uvicorn, 127.0.0.1) with its own broker databases and one trade key from API_KEY."""
    port = free_port()
    env = process_env(API_KEY=GATEWAY_KEY, TRADING_DATA_DIR=str(tmp_path / "gateway-data"), TRADING_NOW=OPEN)
    command = ["python", "-m", "gateway", "serve", "--port", str(port)]
    with GatewayProcess(command, env, tmp_path / "gateway.log", port) as process:
        yield process


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
def test_settings_to_gateway_then_an_approved_order_lands_in_the_gateways_book(gateway, memory_keyring, close_connections, transport, tmp_path):
    """Gateway mode + a stored key: the sidebar says so, the chat order waits, Approve places it at the gateway's broker."""
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("pages/settings.py").run()
    at.radio[0].set_value("Gateway")
    [w for w in at.text_input if w.label == "Gateway URL"][0].input(gateway.url)
    at.selectbox[0].set_value(transport)
    [b for b in at.button if b.label == "Save settings"][0].click().run()
    assert not at.exception
    at.text_input(key="input-api_key-0").input(GATEWAY_KEY)
    at.button(key="store-api_key").click().run()
    assert memory_keyring.store[("trading-console", "api_key")] == GATEWAY_KEY
    saved = json.loads((tmp_path / "data" / "console_settings.json").read_text())
    assert saved["gateway_url"] == gateway.url and saved["gateway_transport"] == transport
    assert GATEWAY_KEY not in json.dumps(saved)

    at.switch_page("pages/trade.py").run()
    assert not at.exception
    from console.services import connections

    connections().wait_ready()  # the page painted without waiting for them
    assert {(s.id, s.transport, s.state) for s in connections().statuses()} == {
        ("tradesphere", transport, "connected"), ("velocity", transport, "connected")}
    at.chat_input[0].set_value("Buy 3 MSFT on Velocity").run()
    assert not at.exception
    [b for b in at.button if b.label == "Approve"][0].click().run()
    assert not at.exception

    orders = connections().call("velocity", "list_orders")["orders"]
    assert [(o["symbol"], o["quantity"], o["status"]) for o in orders] == [("MSFT", "3", "filled")]
    audit = (tmp_path / "gateway-data" / "gateway_audit.jsonl").read_text().splitlines()
    placed = [json.loads(line) for line in audit if json.loads(line)["tool"] == "place_order"]
    assert [(p["broker"], p["arguments"]["symbol"], p["status"]) for p in placed] == [("velocity", "MSFT", "filled")]
    assert placed[0]["key"] == "env:API_KEY" and placed[0]["transport"] == transport
    assert GATEWAY_KEY not in gateway.log()
    # the local brokers the console started before the switch were not traded on: the order lives at the gateway
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "velocity.db")) as local:
        assert local.execute("SELECT count(*) FROM orders").fetchone() == (0,)
