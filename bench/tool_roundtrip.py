"""Broker tool round trip (`get_account`) on a kept-open session, per transport (stdio, SSE, streamable HTTP on
127.0.0.1 ephemeral ports), against a no-op tool on a bare MCP SDK server over the same transport
(bench/bare_server.py). Both sessions are open at once and the calls alternate, so drift on the machine
hits both sides alike. A diagnostic row splits get_account's extra time: the engine's read
(`BrokerEngine.account`, timed in this process on the same database) and what is left for the server's
tool wrapper (worker-thread hop, result model, output validation, JSON)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from bench.environment import (
    LOOPBACK,
    PROJECT_ROOT,
    BenchConfig,
    free_port,
    python_module,
    run_env,
    start,
    stop,
    trading_environment,
    wait_for_port,
)
from bench.report import FigureResult, Row, verdict
from bench.stats import ratio, summarize

TRANSPORTS = ("stdio", "sse", "streamable-http")
"""Every transport, in --quick too: the HTTP servers start while the stdio pair is measured."""
BROKER = "velocity"
TARGET_RATIO = 1.5
WARMUP_CALLS = 20
PATHS = {"sse": "/sse", "streamable-http": "/mcp"}


def _commands(transport: str, port: int | None) -> dict[str, list[str]]:
    extra = [] if port is None else ["--transport", transport, "--port", str(port)]
    return {
        "broker": python_module("brokers", "serve", BROKER, *extra),
        "bare": python_module("bench.bare_server", *extra),
    }


@contextlib.asynccontextmanager
async def _session(transport: str, command: list[str], env: dict[str, str], port: int | None) -> AsyncIterator[ClientSession]:
    if transport == "stdio":
        params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(PROJECT_ROOT))
        streams = stdio_client(params)
    else:
        url = f"http://{LOOPBACK}:{port}{PATHS[transport]}"
        streams = sse_client(url) if transport == "sse" else streamable_http_client(url)
    async with streams as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def _timed(session: ClientSession, tool: str) -> float:
    started = time.perf_counter()
    result = await session.call_tool(tool, {})
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"{tool} failed during the benchmark: {result.content}")
    return elapsed * 1000


async def _measure(transport: str, env: dict[str, str], calls: int, ports: dict[str, int | None]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"broker": [], "bare": []}
    tools = {"broker": "get_account", "bare": "noop"}
    async with contextlib.AsyncExitStack() as stack:
        sessions = {}
        for side, command in _commands(transport, None).items():
            port = ports[side]
            if port is not None:
                command = _commands(transport, port)[side]
            sessions[side] = await stack.enter_async_context(_session(transport, command, env, port))
        for _ in range(WARMUP_CALLS):
            for side, session in sessions.items():
                await _timed(session, tools[side])
        for _ in range(calls):
            for side, session in sessions.items():
                samples[side].append(await _timed(session, tools[side]))
    return samples


def run(config: BenchConfig) -> FigureResult:
    calls = config.reps(100, 1000)
    transports = TRANSPORTS
    data_dir = config.data_dir("tool-roundtrip")
    env = run_env(data_dir)
    result = FigureResult("tool_roundtrip")
    servers = []
    try:
        # The HTTP servers boot while the stdio pair is measured.
        ports: dict[str, dict[str, int | None]] = {"stdio": {"broker": None, "bare": None}}
        for transport in transports[1:]:
            ports[transport] = {}
            for side in ("broker", "bare"):
                port = free_port()
                ports[transport][side] = port
                servers.append((start(_commands(transport, port)[side], env), port))
        for transport in transports:
            if transport != "stdio":
                for process, port in servers:
                    if port in ports[transport].values():
                        wait_for_port(port, process)
            samples = asyncio.run(_measure(transport, env, calls, ports[transport]))
            broker, bare = summarize(samples["broker"]), summarize(samples["bare"])
            overhead = ratio(broker.median, bare.median)
            result.data[transport.replace("-", "_")] = {
                "get_account_ms": round(broker.median, 3),
                "noop_bare_ms": round(bare.median, 3),
                "ratio_vs_bare": overhead,
                "get_account_ms_spread": broker.to_json(),
                "noop_bare_ms_spread": bare.to_json(),
            }
            result.rows.append(Row(
                f"tool round trip get_account, {transport}", broker.text("ms", 2),
                f"bare no-op: {bare.text('ms', 2)}", f"{overhead}x", f"<= {TARGET_RATIO}x bare",
                verdict(overhead is not None and overhead <= TARGET_RATIO),
            ))
    finally:
        for process, _ in servers:
            stop(process)
    engine_read = _engine_read_ms(data_dir, config.reps(100, 500))
    result.data["engine_account_ms"] = round(engine_read.median, 3)
    result.data["engine_account_ms_spread"] = engine_read.to_json()
    left = {t: result.data[t.replace("-", "_")]["get_account_ms"] - result.data[t.replace("-", "_")]["noop_bare_ms"]
            - engine_read.median for t in transports}
    for transport, extra in left.items():
        result.data[transport.replace("-", "_")]["server_wrapper_ms"] = round(extra, 3)
    result.rows.append(Row(
        "  (diagnostic) get_account's own work: the engine read, in process, same database",
        engine_read.text("ms", 2),
        "get_account - bare no-op - engine read: " + ", ".join(f"{t} {v:.2f} ms" for t, v in left.items()),
    ))
    return result


def _engine_read_ms(data_dir, calls: int):
    """`BrokerEngine.account()` alone, in this process, on the database the broker server used."""
    from brokers.profiles import get_profiles
    from brokers.runtime import open_engine

    with trading_environment(data_dir):
        engine = open_engine(get_profiles()[BROKER])
        try:
            for _ in range(WARMUP_CALLS):
                engine.account()
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                engine.account()
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            engine.db.dispose()
    return summarize(samples)
