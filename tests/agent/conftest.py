"""Agent fixtures: real broker subprocesses (stdio) shared by a module, on a frozen open market; a fake LLM server."""

from __future__ import annotations

import os
import tempfile

import pytest
from fake_chat_server import FakeChatServer
from market_times import OPEN


@pytest.fixture(scope="module")
def module_data_dir():
    with tempfile.TemporaryDirectory(prefix="agent-tests-") as path:
        yield path


@pytest.fixture(scope="module")
def connections(module_data_dir):
    """Both brokers as real `python -m brokers serve` subprocesses, connected once per module."""
    from agent.connections import BrokerConnections
    from agent.settings import AgentSettings

    settings = AgentSettings(data_dir=module_data_dir, now=OPEN, openai_api_key=None, openai_base_url=None)
    saved = {k: os.environ.pop(k, None) for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    conns = BrokerConnections(settings)
    conns.start()
    assert all(s.connected for s in conns.statuses()), conns.statuses()
    yield conns
    conns.close()
    for key, value in saved.items():
        if value is not None:
            os.environ[key] = value


@pytest.fixture(scope="module")
def assistant(connections):
    from agent.assistant import TradingAssistant

    return TradingAssistant(connections, connections.settings)


@pytest.fixture
def fake_llm():
    """A fake OpenAI-compatible chat server on 127.0.0.1 for the LLM path."""
    server = FakeChatServer()
    server.thread.start()
    yield server
    server.server.shutdown()
