"""Several worker processes (`python -m gateway serve --workers N`, GATEWAY_WORKERS): streamable HTTP is
stateless and served by every worker; SSE answers 503 with the reason, since its session would live in one
worker while its message POSTs reach any of them; the log says so, and that the memory rate limit counts
per worker. Also: the stateless mount answers one JSON body, which the MCP SDK's client reads."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from gateway_support import MCP_HEADERS, ROOT, TRADE_KEY, GatewayProcess, answers, call, free_port, process_env, running
from market_times import OPEN
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def test_stateless_mcp_answers_one_json_body(gateway):
    response = await gateway.client.post("/velocity/mcp", json=call("get_quote", {"symbol": "AAPL"}),
                                         headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json()["result"]["structuredContent"]["symbol"] == "AAPL"


@pytest.mark.parametrize(("method", "path"), [("GET", "/velocity/sse"), ("POST", "/velocity/messages/?session_id=" + "0" * 32)])
async def test_with_several_workers_sse_is_503_with_the_reason_and_streamable_http_serves(gateway_env, monkeypatch,
                                                                                          method, path):
    monkeypatch.setenv("GATEWAY_WORKERS", "2")
    from gateway.app import create_app

    async with running(create_app()) as client:
        refused = await client.request(method, path, json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
        assert refused.status_code == 503
        assert "2 worker processes" in refused.json()["error"]["message"] and "/velocity/mcp" in refused.text
        unknown = await client.request(method, path, headers={"X-API-Key": "wrong"})
        assert unknown.status_code == 401  # the key is checked first, as everywhere
        served = await client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
        assert served.status_code == 200 and answers(served)[0]["result"]["structuredContent"]["cash"] == "100000.00"


def test_workers_must_be_one_or_more():
    answer = subprocess.run([sys.executable, "-m", "gateway", "serve", "--workers", "0"], cwd=ROOT,
                            env=process_env(API_KEY=TRADE_KEY), capture_output=True, text=True, timeout=60)
    assert answer.returncode == 2 and "--workers must be 1 or more" in answer.stderr


def test_python_m_gateway_serve_workers_2(tmp_path):
    port = free_port()
    env = process_env(API_KEY=TRADE_KEY, TRADING_DATA_DIR=str(tmp_path), TRADING_NOW=OPEN)
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "2"]
    with GatewayProcess(command, env, tmp_path / "serve.log", port) as gateway:

        async def through_streamable_http() -> list[str]:
            cash = []
            async with create_mcp_http_client(headers={"X-API-Key": TRADE_KEY}) as http, \
                    streamable_http_client(f"{gateway.url}/velocity/mcp", http_client=http) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                for _ in range(6):  # new connections land on either worker
                    cash.append((await session.call_tool("get_account", {})).structured_content["cash"])
            return cash

        async def through_sse() -> None:
            async with sse_client(f"{gateway.url}/velocity/sse", headers={"X-API-Key": TRADE_KEY}) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()

        assert asyncio.run(asyncio.wait_for(through_streamable_http(), 30)) == ["100000.00"] * 6
        with pytest.raises(BaseException) as refused:  # noqa: B017 (the SDK wraps it in exception groups)
            asyncio.run(asyncio.wait_for(through_sse(), 30))
        cause = refused.value
        while isinstance(cause, BaseExceptionGroup):
            cause = cause.exceptions[0]
        assert "503" in str(cause)  # the SSE client raises the HTTP status of the GET
        log = gateway.log()
    assert "2 workers: SSE (/<broker>/sse) answers 503" in log
    assert "each worker counts 600/minute per key on its own" in log
    assert TRADE_KEY not in log
