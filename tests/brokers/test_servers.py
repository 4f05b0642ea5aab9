"""The broker MCP servers: in memory (mcp.Client), as a real stdio subprocess, and over streamable HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import build_server

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"add_position", "fetch_positions", "get_portfolio_summary", "get_account", "get_quote", "estimate_order",
         "place_order", "cancel_order", "list_orders", "get_broker_profile"}


def server(broker):
    profile = get_profile(broker)
    return build_server(profile, open_engine(profile))


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_ten_tools_and_structured_decimal_strings(broker):
    """Both brokers expose exactly the ten tools; money arrives as decimal strings."""
    async with Client(server(broker)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        account = (await client.call_tool("get_account", {})).structured_content
        assert account["cash"] == "100000.00" and account["broker"] == broker


async def test_place_estimate_cancel_list_and_errors():
    """The order tools work; a rejection is a tool error with its record; unknown arguments are refused."""
    async with Client(server("tradesphere")) as client:
        est = (await client.call_tool("estimate_order", {"symbol": "MSFT", "side": "buy", "quantity": "50"})).structured_content
        assert est["fees"] == "0.35" and est["fills_now"] is True
        placed = (await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": 2})).structured_content
        assert placed["status"] == "filled"
        rest = (await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1", "order_type": "limit",
                                                       "limit_price": "1"})).structured_content
        cancelled = await client.call_tool("cancel_order", {"order_id": rest["id"]})
        assert cancelled.structured_content["status"] == "cancelled"
        rejected = await client.call_tool("place_order", {"symbol": "AAPL", "side": "sell", "quantity": "50"})
        assert rejected.is_error and "cannot sell 50 AAPL: 2 held" in rejected.content[0].text
        typo = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "qty": "5"})
        assert typo.is_error and "'qty'" in typo.content[0].text
        orders = (await client.call_tool("list_orders", {"status": "all"})).structured_content["orders"]
        assert [o["status"] for o in orders] == ["rejected", "cancelled", "filled"]


async def test_env_limits_hold_on_direct_calls(monkeypatch):
    """TRADING_MAX_ORDER_NOTIONAL and TRADING_READ_ONLY are enforced in the server, whoever calls."""
    monkeypatch.setenv("TRADING_MAX_ORDER_NOTIONAL", "100")
    async with Client(server("velocity")) as client:
        r = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
        assert r.is_error and "per-order limit of $100.00" in r.content[0].text
    monkeypatch.setenv("TRADING_READ_ONLY", "true")
    async with Client(server("tradesphere")) as client:
        r = await client.call_tool("place_order", {"symbol": "KO", "side": "buy", "quantity": "1"})
        assert r.is_error and "read-only" in r.content[0].text


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_real_stdio_subprocess(broker, trading_env):
    """`python -m brokers serve <id>` over stdio places an order and shows the position."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", broker], cwd=str(ROOT),
                                   env={**os.environ})
    with open(os.devnull, "w") as devnull:
        async with stdio_client(params, errlog=devnull) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            placed = await session.call_tool("place_order", {"symbol": "KO", "side": "buy", "quantity": "3"})
            assert placed.structured_content["status"] == "filled"
            positions = (await session.call_tool("fetch_positions", {})).structured_content["positions"]
            assert [(p["symbol"], p["quantity"]) for p in positions] == [("KO", "3")]


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_streamable_http_on_loopback(broker):
    """`--transport streamable-http` serves the same tools on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "brokers", "serve", broker, "--transport", "streamable-http",
                                "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env={**os.environ},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):  # bounded readiness poll
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        async with create_mcp_http_client() as http, streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                placed = await session.call_tool("place_order", {"symbol": "F", "side": "buy", "quantity": "4"})
                assert placed.structured_content["status"] == "filled"
    finally:
        process.terminate()
        process.wait(10)


def test_brokers_list_shows_a_third_broker_from_another_profiles_file(tmp_path, monkeypatch):
    """A third broker is a new profiles entry, not new code."""
    text = (ROOT / "brokers" / "profiles.toml").read_text() + '''
[[broker]]
id = "nimbus"
name = "Nimbus Markets"
specialty = "Test broker"
fill_latency_ms = 50
fractional_shares = true
starting_cash = "5000"
[broker.commission]
per_share = "0"
minimum = "0"
max_pct_of_value = "0"
'''
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    out = subprocess.run([sys.executable, "-m", "brokers", "list"], cwd=ROOT, env={**os.environ, "TRADING_PROFILES": str(path)},
                         capture_output=True, text=True)
    assert "Nimbus Markets" in out.stdout
