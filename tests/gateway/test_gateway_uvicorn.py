"""A real uvicorn gateway on 127.0.0.1, reached by the agent's own SSE and streamable-HTTP connections."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from market_times import OPEN
from pydantic import SecretStr

from agent.assistant import TradingAssistant
from agent.connections import BrokerConnections
from agent.settings import AgentSettings

ROOT = Path(__file__).resolve().parents[2]
KEY = "uvicorn-test-key-" + os.urandom(8).hex()


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("gateway")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "API_KEY": KEY, "TRADING_DATA_DIR": str(data), "TRADING_NOW": OPEN}
    log = open(data / "gateway.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "gateway.app:app", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded readiness poll, not a timing assertion
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError((data / "gateway.log").read_text()) from None
                time.sleep(0.1)  # polling interval only; readiness is the /health answer
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()
        assert KEY not in (data / "gateway.log").read_text()


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
def test_agent_trades_through_the_gateway(gateway_url, transport, tmp_path):
    """Remote mode: the same agent and approval flow place an order through each transport."""
    settings = AgentSettings(gateway_url=gateway_url, gateway_transport=transport, api_key=SecretStr(KEY),
                             data_dir=tmp_path, openai_api_key=None, openai_base_url=None)
    connections = BrokerConnections(settings)
    try:
        connections.start()
        assert all(s.connected and s.transport == transport for s in connections.statuses()), connections.statuses()
        assistant = TradingAssistant(connections, settings)
        result = assistant.ask("Buy 2 shares of Apple through TradeSphere", session_id="remote")
        done = assistant.decide("remote", {p.call_id: True for p in result.pending_approvals})
        assert "Bought 2 AAPL" in done.reply
    finally:
        connections.close()


def test_wrong_key_cannot_connect(gateway_url, tmp_path):
    """A wrong key leaves every broker in error, with no order possible."""
    settings = AgentSettings(gateway_url=gateway_url, gateway_transport="streamable-http", api_key=SecretStr("wrong"),
                             data_dir=tmp_path)
    connections = BrokerConnections(settings)
    try:
        connections.start()
        assert not any(s.connected for s in connections.statuses())
    finally:
        connections.close()
