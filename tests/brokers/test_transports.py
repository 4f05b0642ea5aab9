"""Each broker server as a real process: over stdio (stdout is protocol only) and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal

import mcp_types
import pytest
from broker_support import ROOT, TOOLS, new_order_types_over_mcp
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

STARTUP_LIMIT_S = 60  # an upper bound for a slow machine, not a timing assertion
REPLY_LIMIT_S = 30


def serve_command(broker: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "brokers", "serve", broker, *extra]


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_stdio_subprocess_places_an_order_and_reads_positions(broker, tmp_path):
    """`python -m brokers serve <id>` spoken to by the SDK's stdio client."""
    params = StdioServerParameters(command=sys.executable, args=serve_command(broker)[1:], cwd=str(ROOT), env=dict(os.environ))
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS
            placed = await session.call_tool("place_order", {"symbol": "KO", "side": "buy", "quantity": "3"})
            assert not placed.is_error and placed.structured_content["status"] == "filled"
            assert placed.structured_content["broker"] == broker
            [position] = (await session.call_tool("fetch_positions", {})).structured_content["positions"]
            assert (position["symbol"], position["quantity"]) == ("KO", "3")
            assert Decimal(position["average_cost"]) == Decimal(placed.structured_content["average_fill_price"])
            rejected = await session.call_tool("place_order", {"symbol": "KO", "side": "sell", "quantity": "4"})
            assert rejected.is_error and "cannot sell 4 KO: 3 held" in rejected.content[0].text
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert tools["place_order"].input_schema["properties"]["order_type"]["enum"] == [
                "market", "limit", "stop", "stop_limit", "trailing_stop"]
            await new_order_types_over_mcp(lambda tool, **arguments: session.call_tool(tool, arguments))


async def test_stdio_stdout_carries_only_protocol_and_logs_go_to_stderr():
    """Raw JSON-RPC lines in; every stdout line is a JSON-RPC message; log lines land on stderr."""
    process = await asyncio.create_subprocess_exec(
        *serve_command("tradesphere", "--log-level", "INFO"), cwd=ROOT, env=dict(os.environ),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout_lines: list[str] = []

    async def request(message_id: int, method: str, params: dict) -> dict:
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}).encode() + b"\n")
        await process.stdin.drain()
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), REPLY_LIMIT_S)).decode()
            assert line, "the server closed stdout"
            stdout_lines.append(line)
            message = json.loads(line)  # anything that is not JSON here would break every client
            if message.get("id") == message_id:
                return message

    try:
        init = await request(1, "initialize", {"protocolVersion": mcp_types.LATEST_PROTOCOL_VERSION, "capabilities": {},
                                               "clientInfo": {"name": "raw-test", "version": "0"}})
        assert init["result"]["serverInfo"]["name"] == "TradeSphere"
        process.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        placed = await request(2, "tools/call", {"name": "place_order",
                                                 "arguments": {"symbol": "AAPL", "side": "buy", "quantity": "2"}})
        assert placed["result"]["structuredContent"]["status"] == "filled"
        rejected = await request(3, "tools/call", {"name": "place_order",
                                                   "arguments": {"symbol": "AAPL", "side": "sell", "quantity": "9"}})
        assert rejected["result"]["isError"] is True
        # JSON text 1e400 is a number no float can hold: refused by name, never read as a huge order.
        process.stdin.write(b'{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "place_order", '
                            b'"arguments": {"symbol": "AAPL", "side": "buy", "quantity": 1e400}}}\n')
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), REPLY_LIMIT_S)).decode()
            stdout_lines.append(line)
            if json.loads(line).get("id") == 4:
                break
        huge = json.loads(line)["result"]
        assert huge["isError"] is True and "quantity must be a finite number" in huge["content"][0]["text"]
        process.stdin.close()
        await asyncio.wait_for(process.wait(), REPLY_LIMIT_S)
        rest = (await process.stdout.read()).decode()
        stderr = (await process.stderr.read()).decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stdout_lines += rest.splitlines()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in stdout_lines if line.strip())
    assert "TradeSphere server ready" in stderr and "rejected order" in stderr and "INFO" in stderr
    assert not any(line.lstrip().startswith("{") for line in stderr.splitlines())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_until_listening(process: subprocess.Popen, port: int) -> None:
    """Poll the port until the server accepts, the process dies, or the bound runs out."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {STARTUP_LIMIT_S} s") from None
            await asyncio.sleep(0.05)


@pytest.fixture
def http_server():
    """start(broker) -> base URL of `python -m brokers serve <id> --transport streamable-http` on 127.0.0.1."""
    processes: list[subprocess.Popen] = []

    async def start(broker: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            serve_command(broker, "--transport", "streamable-http", "--host", "127.0.0.1", "--port", str(port)),
            cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        processes.append(process)
        await wait_until_listening(process, port)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_streamable_http_on_loopback_places_an_order(broker, http_server):
    url = await http_server(broker)
    async with (
        create_mcp_http_client() as http,
        streamable_http_client(url + "/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert {t.name for t in (await session.list_tools()).tools} == TOOLS
        placed = await session.call_tool("place_order", {"symbol": "F", "side": "buy", "quantity": "4"})
        assert not placed.is_error and placed.structured_content["status"] == "filled"
        account = (await session.call_tool("get_account", {})).structured_content
        assert account["broker"] == broker and account["cash"] != "100000.00"
        typo = await session.call_tool("place_order", {"symbol": "F", "side": "buy", "qty": "4"})
        assert typo.is_error and "'qty'" in typo.content[0].text
        orders = (await session.call_tool("list_orders", {})).structured_content["orders"]
        assert [o["id"] for o in orders] == [placed.structured_content["id"]]
