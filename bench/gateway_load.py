"""Gateway: authenticated tool calls/s and p50/p99 latency at 1, 10 and 50 concurrent clients on
127.0.0.1, against the same mounts without the auth layer (bench/gateway_unguarded.py).

Both apps run under uvicorn (one worker each, as `uvicorn gateway.app:app` runs) in their own
subprocess; the levels alternate between them so drift hits both. Each client holds one keep-alive
connection and POSTs JSON-RPC `tools/call` to /velocity/mcp (stateless streamable HTTP) in a loop
bounded by a call count and a deadline. Two tools: get_quote (no database: the gateway and MCP path
alone) and get_account (a database read on every call). The rate limit is raised for the run so it
never answers 429; its bookkeeping still runs on every call. The server's CPU time per call (from
/proc) is reported too: unlike calls/s it does not move when other work shares the machine.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import time

from bench.environment import (
    LOOPBACK,
    PROJECT_ROOT,
    BenchConfig,
    free_port,
    python_module,
    run_env,
    run_json,
    start,
    stop,
    wait_for_port,
)
from bench.report import FigureResult, Row, not_measured, verdict
from bench.stats import percentile, ratio, summarize

FIGURE = "gateway: authenticated tool calls/s, p50/p99 at 1/10/50 clients"
TARGET = ">= 500 calls/s, p99 < 100 ms at 50; auth <= 10 %"
LEVELS = (1, 10, 50)
TARGET_CALLS_PER_S, TARGET_P99_MS, TARGET_AUTH_OVERHEAD = 500, 100, 0.10
LEVEL_DEADLINE_S = 20.0
WARMUP_CALLS = 40
"""Per level, shared by its clients, not timed."""
PATH = "/velocity/mcp"
TOOLS = {"get_quote": {"symbol": "AAPL"}, "get_account": {}}


def _body(tool: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": TOOLS[tool]}}).encode()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Connection:
    """A minimal HTTP/1.1 keep-alive client (POST only, Content-Length or chunked replies): a load generator
    that costs a fraction of what httpx does per call, so at 50 clients the server, not the client, is measured."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(LOOPBACK, self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"POST {path} HTTP/1.1\r\nhost: {LOOPBACK}:{self.port}\r\ncontent-length: {len(body)}\r\n"
                          f"{head}\r\n".encode() + body)
        status = int((await self.reader.readline()).split()[1])
        fields = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        if "content-length" in fields:
            payload = await self.reader.readexactly(int(fields["content-length"]))
        else:
            chunks = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readline()
            payload = b"".join(chunks)
        if fields.get("connection") == "close":
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _client(connection: _Connection, body: bytes, headers: dict, calls: int, deadline: float,
                  latencies: list[float]) -> None:
    """One client on its own keep-alive connection: calls in a row until `calls` or the deadline."""
    for _ in range(calls):
        if time.perf_counter() > deadline:
            return
        started = time.perf_counter()
        status, payload = await connection.post(PATH, body, headers)
        elapsed = time.perf_counter() - started
        if status != 200 or b'"isError":false' not in payload:
            raise RuntimeError(f"gateway answered {status}: {payload[:200]!r}")
        latencies.append(elapsed * 1000)


async def _level(port: int, pid: int, body: bytes, headers: dict, clients: int, calls_per_client: int) -> dict:
    # Each client connects during its warm-up and keeps the connection for the timed calls: the figure is
    # steady-state calls, not 50 TCP handshakes at once landing in the p99.
    connections = [_Connection(port) for _ in range(clients)]
    try:
        far = time.perf_counter() + LEVEL_DEADLINE_S
        warmup = max(2, WARMUP_CALLS // clients)
        await asyncio.gather(*(_client(c, body, headers, warmup, far, []) for c in connections))
        latencies: list[float] = []
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        deadline = started + LEVEL_DEADLINE_S
        await asyncio.gather(*(_client(c, body, headers, calls_per_client, deadline, latencies) for c in connections))
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(pid) - cpu_before
    finally:
        for connection in connections:
            await connection.close()
    return {"calls_per_s": len(latencies) / wall, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "calls": len(latencies),
            "server_cpu_ms_per_call": server_cpu * 1000 / len(latencies)}


GUARD_CALLS = 1000
GUARD_PACE_S = 0.003
"""About 300 calls/s, as under load: whatever the rate limiter does between calls (a thread, once) counts as it does there."""


def _guard_cost_us(count: int) -> dict:
    """In this process: CPU microseconds per request (all threads, so the rate limiter's expiry timer
    counts) that the auth layer (BrokerGuard) adds in front of an ASGI app that does nothing, on the
    same tools/call body. CPU time, not wall time: other load on the machine does not move it."""
    from pathlib import Path

    from gateway.app import BrokerGuard
    from gateway.keys import KeyStore
    from gateway.ratelimit import KeyRateLimiter
    from gateway.sessions import SseSessions

    body = _body("get_quote")

    async def inner(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": PATH, "headers": [
        (b"host", f"{LOOPBACK}:8000".encode()), (b"content-type", b"application/json"),
        (b"accept", b"application/json, text/event-stream"), (b"x-api-key", os.environ["API_KEY"].encode())]}
    keys = KeyStore(Path(os.environ["TRADING_DATA_DIR"]) / "gateway_keys.json", os.environ["API_KEY"])
    guard = BrokerGuard(inner, "velocity", keys, KeyRateLimiter(os.environ["GATEWAY_RATE_LIMIT"]), SseSessions(16))
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def calls(app, count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            await app(scope, receive, send)
            await asyncio.sleep(GUARD_PACE_S)
        return (time.process_time() - started) / count * 1e6

    asyncio.run(calls(guard, 100))
    if set(statuses) != {200}:  # the guard must let the call through, not measure a refusal
        raise RuntimeError(f"the auth layer answered {sorted(set(statuses))} instead of passing the call on")
    guarded, bare = asyncio.run(calls(guard, count)), asyncio.run(calls(inner, count))
    return {"guard_cpu_us_per_call": round(guarded - bare, 1), "calls": count}


def _measure_guard_cost(env: dict[str, str], count: int) -> dict:
    return run_json(python_module("bench.gateway_load", "guard-cost", str(count)), env, 120, "guard cost measurement")


def run(config: BenchConfig) -> FigureResult:
    if not (PROJECT_ROOT / "gateway" / "app.py").exists():
        return not_measured("gateway_load", FIGURE, TARGET, "gateway not available")
    calls_per_client = {1: config.reps(60, 400), 10: config.reps(40, 80), 50: config.reps(12, 40)}
    rounds = config.reps(1, 3)
    tools = ("get_quote",) if config.quick else tuple(TOOLS)
    api_key = "bench-" + secrets.token_urlsafe(16)
    common = {"GATEWAY_RATE_LIMIT": "100000000/minute", "API_KEY": api_key}
    variants = {
        "auth": ("gateway.app:app", {"X-API-Key": api_key}),
        "no_auth": ("bench.gateway_unguarded:app", {}),
    }
    headers_base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    processes, ports = {}, {}
    samples: dict[tuple[str, str, int], list[dict]] = {}
    try:
        for name, (target, _) in variants.items():
            ports[name] = free_port()
            command = python_module("uvicorn", target, "--host", LOOPBACK, "--port", str(ports[name]),
                                    "--log-level", "warning", "--no-access-log")
            processes[name] = start(command, run_env(config.data_dir(f"gateway-{name}"), **common))
        for name, process in processes.items():
            wait_for_port(ports[name], process, timeout_s=60)
        turn = 0
        for _ in range(rounds):
            for tool in tools:
                for clients in LEVELS:
                    turn += 1
                    order = list(variants.items()) if turn % 2 else list(variants.items())[::-1]  # who goes first alternates
                    for name, (_, key_header) in order:
                        measured = asyncio.run(_level(ports[name], processes[name].pid, _body(tool),
                                                      {**headers_base, **key_header}, clients, calls_per_client[clients]))
                        samples.setdefault((tool, name, clients), []).append(measured)
    finally:
        for process in processes.values():
            stop(process)

    # uvicorn picks uvloop and httptools by itself when they are installed (requirements.txt lists them)
    result = FigureResult("gateway_load", data={"path": PATH, "rounds": rounds, "uvicorn_workers": 1,
                                                "uvloop": importlib.util.find_spec("uvloop") is not None,
                                                "httptools": importlib.util.find_spec("httptools") is not None})
    for tool in tools:
        for clients in LEVELS:
            level = _summarize_level({name: samples[(tool, name, clients)] for name in variants})
            result.data.setdefault(tool, {})[f"clients_{clients}"] = level
            result.rows.append(_row(tool, clients, level))
    guard = _measure_guard_cost(run_env(config.data_dir("gateway-guard"), **common), config.reps(400, GUARD_CALLS))
    server_cpu_us = result.data[tools[0]]["clients_50"]["no_auth_server_cpu_ms_per_call"] * 1000
    guard["share_of_server_cpu_pct"] = round(guard["guard_cpu_us_per_call"] / server_cpu_us * 100, 1)
    result.data["auth_layer_in_process"] = guard
    result.rows.append(Row(
        "  (diagnostic) auth layer alone, in process, CPU incl. rate limiter thread: BrokerGuard vs no-op ASGI app",
        f"{guard['guard_cpu_us_per_call']:.0f} us CPU/call", f"no-auth server CPU per {tools[0]} call: {server_cpu_us:,.0f} us",
        f"{guard['share_of_server_cpu_pct']}% of a call",
    ))
    return result


def _summarize_level(runs_by_variant: dict[str, list[dict]]) -> dict:
    level: dict = {}
    for name, runs in runs_by_variant.items():
        throughput = summarize([r["calls_per_s"] for r in runs])
        level[f"{name}_calls_per_s"] = round(throughput.median, 1)
        level[f"{name}_calls_per_s_spread"] = throughput.to_json(1)
        for field in ("p50_ms", "p99_ms", "server_cpu_ms_per_call"):
            level[f"{name}_{field}"] = round(summarize([r[field] for r in runs]).median, 2)
    auth_cps, open_cps = level["auth_calls_per_s"], level["no_auth_calls_per_s"]
    level["auth_overhead_pct"] = round((1 - auth_cps / open_cps) * 100, 1) if open_cps else None
    level["auth_cpu_overhead_pct"] = round(
        (level["auth_server_cpu_ms_per_call"] / level["no_auth_server_cpu_ms_per_call"] - 1) * 100, 1)
    level["auth_vs_no_auth"] = ratio(auth_cps, open_cps, 3)
    return level


def _row(tool: str, clients: int, level: dict) -> Row:
    overhead_ok = level["auth_overhead_pct"] is not None and level["auth_overhead_pct"] <= TARGET_AUTH_OVERHEAD * 100
    ok = overhead_ok
    if clients == 50:
        ok = ok and level["auth_calls_per_s"] >= TARGET_CALLS_PER_S and level["auth_p99_ms"] < TARGET_P99_MS
    return Row(
        f"gateway {tool}, {clients} client{'s' if clients > 1 else ''}, with API key",
        f"{level['auth_calls_per_s']:,.0f} calls/s, p50 {level['auth_p50_ms']:.1f} ms, p99 {level['auth_p99_ms']:.1f} ms; "
        f"server CPU {level['auth_server_cpu_ms_per_call']:.2f} ms/call",
        f"no auth layer: {level['no_auth_calls_per_s']:,.0f} calls/s, p50 {level['no_auth_p50_ms']:.1f} ms, "
        f"p99 {level['no_auth_p99_ms']:.1f} ms; CPU {level['no_auth_server_cpu_ms_per_call']:.2f} ms/call",
        f"auth: {level['auth_overhead_pct']:+}% calls/s lost, {level['auth_cpu_overhead_pct']:+}% CPU",
        TARGET if clients == 50 else f"auth <= {TARGET_AUTH_OVERHEAD:.0%}", verdict(ok),
    )


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "guard-cost":
        print(json.dumps(_guard_cost_us(int(sys.argv[2]))), flush=True)
        sys.exit(0)
    sys.exit("usage: python -m bench.gateway_load guard-cost CALLS (started by python -m bench)")
