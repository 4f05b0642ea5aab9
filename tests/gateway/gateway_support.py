"""Helpers for the gateway tests: constants, JSON-RPC bodies, an ASGI client with the lifespan running, and an
MCP SSE session driven on the ASGI app directly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from gateway_process import ROOT, GatewayProcess, free_port, process_env  # noqa: F401  (re-exported)
from mcp_types import LATEST_PROTOCOL_VERSION

TRADE_KEY = "trade-key-for-tests-" + "0123456789abcdef"
BASE_URL = "http://127.0.0.1:8000"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
ORDER = {"symbol": "AAPL", "side": "buy", "quantity": "1"}


def call(tool: str, arguments: dict | None = None, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": tool, "arguments": arguments or {}}}


def answers(response: httpx.Response) -> list[dict]:
    """The JSON-RPC messages of a streamable HTTP answer: one JSON body (what the gateway sends) or SSE-framed."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    payload = response.json()
    return payload if isinstance(payload, list) else [payload]


@dataclass
class Gateway:
    """A gateway app under test, with what a test needs to reach and inspect it."""

    app: object
    client: httpx.AsyncClient
    read_key: str
    """A key named 'reader' with read scope (in the keys file)."""
    other_trade_key: str
    """A key named 'desk' with trade scope (in the keys file)."""
    audit_path: Path
    keys_path: Path

    def audit_lines(self) -> list[dict]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]


@contextlib.asynccontextmanager
async def running(app) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan (the MCP session managers) running in a task of its own, as under uvicorn, and a
    client on the app over ASGI. Its own task: pytest-asyncio sets a fixture up and tears it down in two
    different tasks, and a task group must be left by the task that entered it."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan():
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # the lifespan failed: raise its error here
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            yield client
    finally:
        stop.set()
        await task


class AsgiSse:
    """An MCP SSE session opened with GET /<broker>/sse on the ASGI app itself (httpx's ASGITransport
    waits for a response to end, and an SSE stream does not); messages are POSTed with the client."""

    def __init__(self, app, client: httpx.AsyncClient, broker: str, key: str):
        self.app, self.client, self.broker, self.key = app, client, broker, key
        self.status: int | None = None
        self.endpoint: str | None = None
        self._events_in, self._events = anyio.create_memory_object_stream(100)
        self._closed = anyio.Event()
        self._buffer = ""
        self._next_id = 0

    async def _receive(self):
        await self._closed.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status != 200:
                await self._events_in.send(("refused", str(self.status)))
        elif message["type"] == "http.response.body":
            self._buffer += message.get("body", b"").decode()
            while "\r\n\r\n" in self._buffer or "\n\n" in self._buffer:
                sep = "\r\n\r\n" if "\r\n\r\n" in self._buffer else "\n\n"
                block, self._buffer = self._buffer.split(sep, 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "data" in fields:
                    await self._events_in.send((fields.get("event", "message"), fields["data"]))

    async def __aenter__(self) -> AsgiSse:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": f"/{self.broker}/sse", "raw_path": f"/{self.broker}/sse".encode(), "root_path": "",
                 "query_string": b"", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"text/event-stream"),
                             (b"x-api-key", self.key.encode())]}
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self.app, scope, self._receive, self._send)
        with anyio.fail_after(10):
            kind, data = await self._events.receive()
        if kind == "endpoint":
            self.endpoint = data
        return self

    async def __aexit__(self, *exc):
        self._closed.set()
        self._group.cancel_scope.cancel()
        await self._group.__aexit__(None, None, None)

    @property
    def session_id(self) -> str:
        return self.endpoint.split("session_id=")[1]

    async def post(self, message: dict, key: str | None = None) -> httpx.Response:
        return await self.client.post(self.endpoint, json=message, headers={"X-API-Key": key or self.key})

    async def request(self, method: str, params: dict | None = None) -> dict:
        """Send a JSON-RPC request on this session and wait for its answer on the stream."""
        self._next_id += 1
        response = await self.post({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}})
        assert response.status_code == 202, response.text
        with anyio.fail_after(10):
            while True:
                kind, data = await self._events.receive()
                answer = json.loads(data)
                if kind == "message" and answer.get("id") == self._next_id:
                    return answer

    async def initialize(self) -> None:
        await self.request("initialize", {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
                                          "clientInfo": {"name": "test", "version": "0"}})
        assert (await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})).status_code == 202

