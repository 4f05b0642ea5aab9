"""Broker connections: MCP sessions opened once, kept alive on one long-lived event loop.

The connection manager owns a daemon thread running an asyncio loop. Each broker has an owner
task that connects its MCP server, then waits; when a call finds the server dead, the owner
cleans up and reconnects in the same task (anyio requires that a connection is closed by the task
that opened it). Streamlit reruns and the CLI submit work to that loop; nothing ever calls
`asyncio.run` per request.

Local mode spawns `python -m brokers serve <id>` over stdio; remote mode reaches a gateway over
SSE or streamable HTTP with the API key header.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.client.stdio import StdioServerParameters, stdio_client

from agent.errors import BrokerToolError, BrokerUnavailable, ConfigurationError
from agent.settings import PROJECT_ROOT, AgentSettings, BrokerEntry, configured_brokers

if TYPE_CHECKING:
    from agents.mcp import MCPServer

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0


@dataclass
class BrokerStatus:
    """What the sidebar shows for one broker."""

    id: str
    name: str
    transport: str
    state: str
    """'connecting', 'connected', 'reconnecting', 'error' or 'closed'."""
    latency_ms: float | None
    """Round trip of the last tool call."""
    last_error: str | None
    profile: dict | None
    """The broker's get_broker_profile result (fees, latency, specialty)."""

    @property
    def connected(self) -> bool:
        return self.state == "connected"


def tool_payload(result: Any) -> dict:
    """The structured content of an MCP tool result, or its text parsed as JSON, or {'text': ...}."""
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict):
        return structured
    texts = [block.text for block in getattr(result, "content", []) or [] if getattr(block, "type", "") == "text"]
    text = "\n".join(texts)
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, dict) else {"result": parsed}
    except (json.JSONDecodeError, TypeError):
        return {"text": text}


def result_text(result: Any) -> str:
    return "\n".join(block.text for block in getattr(result, "content", []) or [] if getattr(block, "type", "") == "text")


class BrokerLink:
    """One broker's MCP server plus its connection state, owned by one task on the manager's loop."""

    def __init__(self, entry: BrokerEntry, transport: str, spawn: StdioServerParameters | None = None):
        self.entry = entry
        self.server: MCPServer | None = None
        """The SDK server object, attached once the agents SDK is imported (see BrokerConnections.start)."""
        self.transport = transport
        self.spawn = spawn
        """For a local broker: the subprocess the owner task starts itself, before the SDK server exists."""
        self.streams: tuple | None = None
        self.state = "connecting"
        self.latency_ms: float | None = None
        self.last_error: str | None = None
        self.profile: dict | None = None
        self._ready = asyncio.Event()
        self._drop = asyncio.Event()
        self._attached = asyncio.Event()
        self.launched = asyncio.Event()
        """Set once a local broker's subprocess is started (or failed to), and at once for a remote one."""
        self._closing = False
        self._owner: asyncio.Task | None = None
        self._generation = 0

    def attach(self, server: MCPServer, loop: asyncio.AbstractEventLoop) -> None:
        """Give the link its SDK server object (from any thread); the owner task connects it."""
        self.server = server
        server.link = self
        loop.call_soon_threadsafe(self._attached.set)

    def status(self) -> BrokerStatus:
        name = (self.profile or {}).get("name", self.entry.name)
        return BrokerStatus(self.entry.id, name, self.transport, self.state, self.latency_ms, self.last_error, self.profile)

    def start(self) -> None:
        self._owner = asyncio.get_running_loop().create_task(self._own(), name=f"broker-{self.entry.id}")

    async def _own(self) -> None:
        while not self._closing:
            self._drop.clear()
            async with contextlib.AsyncExitStack() as process:
                try:
                    if self.spawn is not None:
                        # A local broker starts now, while the agents SDK may still be importing: the two start-ups
                        # overlap instead of queueing. Leaving `process` (this task, as anyio requires) ends it.
                        self.streams = await process.enter_async_context(stdio_client(self.spawn))
                    self.launched.set()
                    await self._attached.wait()
                    async with asyncio.timeout(CONNECT_TIMEOUT_S):
                        await self.server.connect()
                    self._generation += 1
                    self.state, self.last_error = "connected", None
                    profile = await self.server.raw_call_tool("get_broker_profile", {})
                    self.profile = tool_payload(profile)
                except Exception as exc:  # a broker that will not start must not take the others down
                    self.launched.set()
                    self.state, self.last_error = "error", _describe(exc)
                    log.warning("broker %s: %s", self.entry.id, self.last_error)
                self._ready.set()
                await self._drop.wait()
                self._ready.clear()
                if self.server is not None:
                    try:
                        async with asyncio.timeout(10):
                            await self.server.cleanup()
                    except Exception as exc:
                        log.debug("broker %s cleanup: %s", self.entry.id, _describe(exc))
                self.streams = None
            if not self._closing:
                self.state = "reconnecting"
        self.state = "closed"

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def reconnect(self) -> None:
        """Drop the session and wait for the owner task to open a new one."""
        generation = self._generation
        if self._ready.is_set() and self._generation == generation:
            self._drop.set()
            self._ready.clear()
        await self._ready.wait()

    async def close(self) -> None:
        self._closing = True
        self._drop.set()
        self._attached.set()  # an owner still waiting for its SDK server object must not wait forever
        if self._owner:
            await self._owner

    async def call(
        self, tool: str, arguments: dict | None, meta: dict | None, call: Callable[..., Awaitable[Any]]
    ) -> Any:
        """Call a tool, reconnecting once if the server died; an order carries a client_order_id so a retry never doubles it."""
        arguments = dict(arguments or {})
        if tool == "place_order" and not arguments.get("client_order_id"):
            arguments["client_order_id"] = f"agent-{uuid.uuid4().hex[:20]}"
        await self.wait_ready()
        for attempt in (1, 2):
            if self.state != "connected":
                await self.reconnect()
                if self.state != "connected":
                    raise BrokerUnavailable(f"{self.entry.name} is not reachable: {self.last_error}")
            started = time.perf_counter()
            try:
                result = await call(tool, arguments, meta)
            except Exception as exc:
                self.state, self.last_error = "reconnecting", _describe(exc)
                log.warning("broker %s call %s failed (attempt %d): %s", self.entry.id, tool, attempt, self.last_error)
                if attempt == 2:
                    raise BrokerUnavailable(f"{self.entry.name} did not answer {tool}: {self.last_error}") from exc
                continue
            self.latency_ms = (time.perf_counter() - started) * 1000
            return result
        raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def _already_open(streams: tuple | None) -> AsyncIterator[tuple]:
    """The streams of a broker subprocess its link's owner task started (and will end)."""
    if streams is None:
        raise BrokerUnavailable("the broker subprocess is not running")
    yield streams


@functools.cache
def _server_classes() -> dict[str, type[MCPServer]]:
    """SDK MCP server classes whose tool calls go through their BrokerLink (reconnect, latency). Built on first use:
    importing the agents SDK takes seconds, and local brokers are already starting meanwhile."""
    from agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp

    def linked(base: type[MCPServer]) -> type[MCPServer]:
        class Linked(base):  # type: ignore[misc, valid-type]
            link: BrokerLink

            async def call_tool(self, tool_name: str, arguments: dict | None, meta: dict | None = None):
                return await self.link.call(tool_name, arguments, meta, super().call_tool)

            async def raw_call_tool(self, tool_name: str, arguments: dict | None, meta: dict | None = None):
                """The SDK's own call, for the owner task (which must not wait on itself)."""
                return await super().call_tool(tool_name, arguments, meta)

        Linked.__name__ = f"Linked{base.__name__}"
        return Linked

    class LinkedStdio(linked(MCPServerStdio)):  # type: ignore[misc, valid-type]
        def create_streams(self):
            return _already_open(self.link.streams)

    return {"stdio": LinkedStdio, "sse": linked(MCPServerSse), "streamable-http": linked(MCPServerStreamableHttp)}


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]


def broker_env(settings: AgentSettings) -> dict[str, str]:
    """The environment a locally spawned broker runs with: same data dir, clock and limits as the app."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    for key, value in {
        "TRADING_DATA_DIR": settings.data_dir,
        "TRADING_NOW": settings.now,
        "TRADING_PROFILES": settings.profiles_path,
        "TRADING_MAX_ORDER_NOTIONAL": settings.max_order_notional,
    }.items():
        if value is not None and str(value) != "":
            env[key] = str(value)
    for secret in ("OPENAI_API_KEY", "TRADING_API_KEY", "API_KEY"):
        env.pop(secret, None)  # a broker subprocess has no use for the person's keys
    env["TRADING_CONFIRM_ORDERS"] = "off"  # the console's approval card is the person's yes (issue #15)
    return env


def changes_the_book(tool: Any) -> bool:
    """Whether a broker tool may change the book, from its MCP annotations: only a tool the broker itself marks
    read-only (readOnlyHint true) is taken as safe; a tool without annotations counts as one that changes the book."""
    hints = getattr(tool, "annotations", None)
    read_only = getattr(hints, "read_only_hint", None)
    if read_only is None:
        read_only = getattr(hints, "readOnlyHint", None)
    return read_only is not True


def needs_approval(run_context: Any, _agent: Any, tool: Any) -> bool:
    """Tools that change the book wait for the person unless this run is autonomous (the run context says so)."""
    return changes_the_book(tool) and not getattr(run_context.context, "autonomous", False)


def stdio_params(entry: BrokerEntry, settings: AgentSettings) -> StdioServerParameters:
    """How a local broker is started: `python -m brokers serve <id>` with the app's data dir, clock and limits."""
    return StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", entry.id],
                                 env=broker_env(settings), cwd=str(PROJECT_ROOT))


def transport_of(settings: AgentSettings) -> str:
    if not settings.remote:
        return "stdio"
    if settings.api_key is None:
        raise ConfigurationError("a gateway URL is set but no API key: set TRADING_API_KEY or store one in Settings")
    if settings.gateway_transport not in ("sse", "streamable-http"):
        raise ConfigurationError(f"gateway transport must be 'sse' or 'streamable-http', got {settings.gateway_transport!r}")
    return settings.gateway_transport


def build_server(entry: BrokerEntry, settings: AgentSettings) -> tuple[MCPServer, str]:
    """The SDK MCP server object for one broker, local (stdio) or remote (SSE / streamable HTTP)."""
    transport = transport_of(settings)
    common = {"name": entry.id, "cache_tools_list": True, "use_structured_content": True,
              "client_session_timeout_seconds": CALL_TIMEOUT_S, "require_approval": needs_approval}
    cls = _server_classes()[transport]
    if transport == "stdio":
        params = stdio_params(entry, settings)
        return cls(params={"command": params.command, "args": params.args, "env": params.env, "cwd": params.cwd},
                   **common), transport
    base = settings.gateway_url.rstrip("/")
    headers = {"X-API-Key": settings.api_key.get_secret_value()}
    path = "mcp" if transport == "streamable-http" else "sse"
    return cls(params={"url": f"{base}/{entry.id}/{path}", "headers": headers}, **common), transport


class BrokerConnections:
    """Keeps every broker's MCP session open on one event loop in its own thread."""

    def __init__(self, settings: AgentSettings, brokers: list[BrokerEntry] | None = None):
        self.settings = settings
        self.entries = brokers or configured_brokers(settings)
        if not self.entries:
            raise ConfigurationError("no brokers configured")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="broker-connections", daemon=True)
        self._thread.start()
        transport = transport_of(settings)
        self.links: dict[str, BrokerLink] = {
            entry.id: BrokerLink(entry, transport, stdio_params(entry, settings) if transport == "stdio" else None)
            for entry in self.entries
        }
        self._started = False
        self.started_at = time.perf_counter()
        self.connected_after_s: float | None = None

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # ------------------------------------------------------------------ sync API (any thread)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the connections' loop and wait for its result."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("BrokerConnections.run called from its own loop")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def start(self, wait: bool = True) -> None:
        """Connect every broker in parallel; with wait, return once each is connected or failed.

        Local brokers are spawned first, then the agents SDK is imported and its server objects built while the
        brokers start up (the two cost about the same, so a cold start waits for one, not both)."""
        if not self._started:
            self._started = True
            self.run(self._start_all())
            self._attach_servers()
        if wait:
            self.wait_ready()

    def _attach_servers(self) -> None:
        for link in self.links.values():
            if link.server is None:
                server, _ = build_server(link.entry, self.settings)
                link.attach(server, self.loop)

    def wait_ready(self, timeout: float = CONNECT_TIMEOUT_S + 5) -> None:
        self.run(self._wait_all(), timeout=timeout)
        if self.connected_after_s is None:
            self.connected_after_s = time.perf_counter() - self.started_at

    def call(self, broker_id: str, tool: str, arguments: dict | None = None, timeout: float = CALL_TIMEOUT_S) -> dict:
        """Call one broker tool and return its structured result; a tool error raises BrokerToolError."""
        return self.run(self.acall(broker_id, tool, arguments), timeout=timeout)

    def call_all(self, tool: str, arguments: dict | None = None) -> dict[str, dict | BrokerToolError | Exception]:
        """The same tool on every broker, in parallel; failures are returned per broker, not raised."""
        return self.run(self._call_all(tool, arguments))

    def statuses(self) -> list[BrokerStatus]:
        return [link.status() for link in self.links.values()]

    def servers(self) -> list[MCPServer]:
        self._attach_servers()
        return [link.server for link in self.links.values()]

    def close(self) -> None:
        """Close every session (ending local broker subprocesses) and stop the loop."""
        if self.loop.is_closed():
            return
        if self._started:
            try:
                self.run(self._close_all(), timeout=20)
            except Exception as exc:
                log.warning("closing broker connections: %s", _describe(exc))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()

    # ------------------------------------------------------------------ async side (the loop)

    async def _start_all(self) -> None:
        """Start every owner task and return once each local broker's subprocess is launched."""
        for link in self.links.values():
            if link.spawn is None:
                link.launched.set()
            link.start()
        await asyncio.gather(*(link.launched.wait() for link in self.links.values()))

    async def _wait_all(self) -> None:
        await asyncio.gather(*(link.wait_ready() for link in self.links.values()))

    async def acall(self, broker_id: str, tool: str, arguments: dict | None = None) -> dict:
        link = self.links.get(broker_id)
        if link is None:
            raise ConfigurationError(f"unknown broker {broker_id!r}; connected brokers: {', '.join(self.links)}")
        result = await link.server.call_tool(tool, arguments or {})
        payload = tool_payload(result)
        if getattr(result, "is_error", False):
            raise BrokerToolError(broker_id, tool, result_text(result) or "tool error", payload)
        return payload

    async def _call_all(self, tool: str, arguments: dict | None) -> dict[str, Any]:
        ids = list(self.links)
        results = await asyncio.gather(*(self.acall(i, tool, arguments) for i in ids), return_exceptions=True)
        return dict(zip(ids, results, strict=True))

    async def _close_all(self) -> None:
        await asyncio.gather(*(link.close() for link in self.links.values()), return_exceptions=True)
