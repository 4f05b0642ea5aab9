"""A real uvicorn gateway on 127.0.0.1, reached by the MCP SDK's SSE and streamable-HTTP clients and by
the agent's own remote connections: orders placed through every broker route, a read key refused on
both transports, a wrong key refused, and no key in the gateway's output."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import urllib.request
from decimal import Decimal

import pytest
from gateway_support import ORDER, GatewayProcess, free_port, process_env
from market_times import OPEN
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.exceptions import MCPError

KEY = "uvicorn-test-key-" + "5f3a9c0d1e2b4a68"
BROKERS = ["tradesphere", "velocity"]
TRANSPORTS = ["sse", "streamable-http"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("gateway")
    from gateway.keys import KeyStore

    read_key = KeyStore(data / "gateway_keys.json").create("reader", "read")
    env = process_env(API_KEY=KEY, TRADING_DATA_DIR=str(data), TRADING_NOW=OPEN)
    with GatewayProcess.uvicorn(env, data / "gateway.log") as gateway:
        yield gateway, read_key, data
    output = gateway.log() + (data / "gateway_audit.jsonl").read_text()
    assert KEY not in output and read_key not in output


@contextlib.asynccontextmanager
async def mcp_session(url: str, broker: str, transport: str, key: str):
    """An initialized MCP client session through the gateway, as any MCP client would open it."""
    headers = {"X-API-Key": key}
    if transport == "sse":
        async with sse_client(f"{url}/{broker}/sse", headers=headers) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session
    else:
        async with create_mcp_http_client(headers=headers) as http, \
                streamable_http_client(f"{url}/{broker}/mcp", http_client=http) as streams, \
                ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            yield session


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("broker", BROKERS)
def test_an_order_placed_through_each_broker_route(served, broker, transport):
    gateway, _, _ = served

    async def trade():
        async with mcp_session(gateway.url, broker, transport, KEY) as session:
            before = Decimal((await session.call_tool("get_account", {})).structured_content["cash"])
            placed = await session.call_tool("place_order", {**ORDER, "client_order_id": f"uv-{broker}-{transport}"})
            after = Decimal((await session.call_tool("get_account", {})).structured_content["cash"])
            return before, placed, after

    before, placed, after = run(trade())
    order = placed.structured_content
    assert placed.is_error is False and order["status"] == "filled" and order["symbol"] == "AAPL"
    assert before - after == Decimal(order["average_fill_price"]) * Decimal(order["filled_quantity"]) + Decimal(order["fees"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_read_key_is_refused_an_order_and_keeps_reading(served, transport):
    gateway, read_key, _ = served

    async def attempt():
        async with mcp_session(gateway.url, "velocity", transport, read_key) as session:
            try:
                outcome = await session.call_tool("place_order", ORDER)
            except MCPError as exc:  # streamable HTTP: the 403's JSON-RPC error
                outcome = exc
            account = await session.call_tool("get_account", {})
            return outcome, account

    outcome, account = run(attempt())
    text = str(outcome) if isinstance(outcome, MCPError) else outcome.content[0].text
    assert isinstance(outcome, MCPError) if transport == "streamable-http" else outcome.is_error
    assert "key 'reader' has read scope; place_order needs a key with trade scope" in text
    assert account.is_error is False and "cash" in account.structured_content


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_wrong_key_cannot_open_a_session(served, transport):
    gateway, _, _ = served

    async def attempt():
        async with mcp_session(gateway.url, "tradesphere", transport, "wrong-key"):
            pass

    with pytest.raises(BaseException) as refused:  # noqa: B017 (the SDK wraps its error in task-group exception groups)
        run(attempt())
    errors = [refused.value]
    while isinstance(errors[-1], BaseExceptionGroup):
        errors.append(errors[-1].exceptions[0])
    cause = errors[-1]
    if transport == "sse":  # the SSE client raises the HTTP status of the GET
        assert "401" in str(cause)
    else:  # streamable HTTP: the guard's JSON-RPC error body, as the SDK client surfaces it
        assert isinstance(cause, MCPError) and "missing or unknown API key" in str(cause)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_agent_trades_through_the_gateway(served, transport, tmp_path):
    """Remote mode of the console's agent: the same connection manager, approval flow and tools."""
    from pydantic import SecretStr

    from agent.assistant import TradingAssistant
    from agent.connections import BrokerConnections
    from agent.settings import AgentSettings

    gateway, _, _ = served
    settings = AgentSettings(gateway_url=gateway.url, gateway_transport=transport, api_key=SecretStr(KEY),
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


def test_python_m_gateway_serve_binds_loopback_by_default(tmp_path):
    port = free_port()
    env = process_env(API_KEY=KEY, TRADING_DATA_DIR=str(tmp_path), TRADING_NOW=OPEN)
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
    with GatewayProcess(command, env, tmp_path / "serve.log", port) as gateway:
        with urllib.request.urlopen(gateway.url + "/") as answer:
            assert answer.status == 200
        assert re.search(rf"running on http://127\.0\.0\.1:{port}", gateway.log())
    assert KEY not in gateway.log()
