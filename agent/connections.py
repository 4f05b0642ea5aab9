"""Broker connections: MCP sessions opened once, kept alive on one long-lived event loop.

An anyio blocking portal runs that loop in a thread of its own; Streamlit reruns and the CLI call into it
(`run`, `call`), and nothing ever calls `asyncio.run` per request. Each broker has an owner task that opens its
MCP session (`mcp.Client` over stdio, SSE or streamable HTTP), then waits; when a call finds the session dead, the
owner closes it and opens a new one in the same task (anyio requires that a connection is closed by the task
that opened it). Connecting needs no agents SDK: its server objects, built only when an agent needs them
(`servers()`), share each link's live session, so the brokers connect while the SDK is not even imported.

Local mode spawns `python -m brokers serve <id> --practice-clock` and talks MCP over its stdin/stdout (on Linux the
first sessions of all local brokers come from one `python -m brokers launch`, which pays the imports once and forks
a process per broker: `LocalLaunch`); remote mode reaches a gateway over SSE or streamable HTTP with the API key header. The local transport is a small one of our own
(`process_streams`) rather than MCP's `stdio_client` for one reason: it takes a process that is already running, so
a broker can be spawned before the MCP client (about a second to import) is loaded, and the two start-ups overlap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.abc
import anyio.to_thread
from anyio.from_thread import start_blocking_portal

from agent.errors import BrokerToolError, BrokerUnavailable, ConfigurationError
from agent.settings import PROJECT_ROOT, AgentSettings, BrokerEntry, configured_brokers

if TYPE_CHECKING:
    from agents.mcp import MCPServer

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0
PAINT_WAIT_S = 2.0
"""Longest a console's brokers wait for its first page to be drawn, once it has begun, before their MCP client is
imported anyway."""
PROCESS_EXIT_S = 2.0
"""How long a local broker gets to exit after its stdin closes (and again after SIGTERM)."""
PRACTICE_CLOCK_TOOL = "move_practice_clock"
"""The local brokers' practice clock tool: the console's Settings use it; the model never sees it."""
Opener = Callable[[contextlib.AsyncExitStack], Awaitable[Any]]
"""Opens one MCP client session inside the stack (which closes it); returns the `mcp.Client`."""


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


def _same_value(a: Any, b: Any) -> bool:
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return str(a) == str(b)


def confirmation_preview(result: Any, sent: dict) -> dict | None:
    """The broker's confirmation preview in `result` ("confirmation_required" with a token), when the arguments it
    will run with are the ones that were sent (and so approved); else None."""
    payload = tool_payload(result)
    if getattr(result, "is_error", False) or payload.get("status") != "confirmation_required":
        return None
    arguments, token = payload.get("arguments"), payload.get("confirmation_token")
    if not isinstance(arguments, dict) or not token:
        return None
    given = {k: v for k, v in sent.items() if v is not None and k != "confirmation_token"}
    filled_in = {k: v for k, v in arguments.items() if k not in given}
    if (set(given) - set(arguments) or not all(_same_value(given[k], arguments[k]) for k in given)
            or any(_TOOL_DEFAULTS.get(k) != v for k, v in filled_in.items())):
        return None  # the broker would run something other than what the person approved: show its preview instead
    return payload


_TOOL_DEFAULTS = {"order_type": "market", "time_in_force": "day"}
"""What the order tools fill in when not given: a preview may name them."""


def result_text(result: Any) -> str:
    return "\n".join(block.text for block in getattr(result, "content", []) or [] if getattr(block, "type", "") == "text")


class BrokerLink:
    """One broker's MCP session plus its connection state, owned by one task on the manager's loop."""

    def __init__(self, entry: BrokerEntry, transport: str, opener: Opener):
        self.entry = entry
        self.transport = transport
        self.opener = opener
        self.client: Any = None
        """The open `mcp.Client`, or None between sessions."""
        self.server: MCPServer | None = None
        """The agents SDK's server object on this link's session, built only when an agent needs it."""
        self.state = "connecting"
        self.latency_ms: float | None = None
        self.last_error: str | None = None
        self.profile: dict | None = None
        self.generation = 0
        """How many sessions the owner has opened: a call that failed on session N drops it only if N is current."""
        self.drops = 0
        """How many sessions were dropped for a failed call (each costs a reconnect)."""
        self._ready = asyncio.Event()
        self._drop = asyncio.Event()
        self._closing = False
        self._owned: asyncio.Event | None = None

    @property
    def session(self) -> Any:
        return self.client.session if self.client is not None else None

    def status(self) -> BrokerStatus:
        name = (self.profile or {}).get("name", self.entry.name)
        return BrokerStatus(self.entry.id, name, self.transport, self.state, self.latency_ms, self.last_error, self.profile)

    async def own(self) -> None:
        """The owner task: open a session, wait until it is dropped or closed, close it, open the next."""
        self._owned = asyncio.Event()
        try:
            while not self._closing:
                self._drop.clear()
                async with contextlib.AsyncExitStack() as stack:
                    try:
                        async with asyncio.timeout(CONNECT_TIMEOUT_S):
                            self.client = await self.opener(stack)
                            self.generation += 1
                            self.profile = tool_payload(await self.session.call_tool("get_broker_profile", {}))
                        self.state, self.last_error = "connected", None
                    except Exception as exc:  # a broker that will not start must not take the others down
                        self.state, self.last_error = "error", _describe(exc)
                        log.warning("broker %s: %s", self.entry.id, self.last_error)
                    self._ready.set()
                    await self._drop.wait()
                    self._ready.clear()
                    self.client = None
                if not self._closing:
                    self.state = "reconnecting"
        finally:
            self.client = None
            self.state = "closed"
            self._ready.set()  # nobody waits forever on a closed link
            self._owned.set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def reconnect(self, failed_generation: int) -> None:
        """The session `failed_generation` failed: drop it, unless the owner has already replaced it, and wait for
        the next one. Two calls that failed on the same session drop it once; a late failure on an old session
        never drops the new one."""
        if self._ready.is_set() and self.generation == failed_generation and not self._closing:
            self.drops += 1
            self._drop.set()
            self._ready.clear()
        await self._ready.wait()

    async def close(self) -> None:
        self._closing = True
        self._drop.set()
        if self._owned is not None:
            await self._owned.wait()

    async def call(self, tool: str, arguments: dict | None, meta: dict | None = None,
                   via: Callable[..., Awaitable[Any]] | None = None) -> Any:
        """Call a tool (through `via`, the SDK's own call, for an agent), reconnecting once if the session died; an
        order carries a client_order_id so a retry never doubles it."""
        arguments = dict(arguments or {})
        if tool == "place_order" and not arguments.get("client_order_id"):
            arguments["client_order_id"] = f"agent-{uuid.uuid4().hex[:20]}"
        await self.wait_ready()
        for attempt in (1, 2):
            generation = self.generation
            if self.state != "connected":
                await self.reconnect(generation)
                if self.state != "connected":
                    raise BrokerUnavailable(f"{self.entry.name} is not reachable: {self.last_error}")
                generation = self.generation
            started = time.perf_counter()
            try:
                if via is not None:
                    result = await via(tool, arguments, meta)
                else:
                    result = await self.session.call_tool(tool, arguments, meta=meta)
            except Exception as exc:
                if generation == self.generation:  # a late failure on an old session says nothing about this one
                    self.state, self.last_error = "reconnecting", _describe(exc)
                log.warning("broker %s call %s failed (attempt %d): %s", self.entry.id, tool, attempt, _describe(exc))
                if attempt == 2:
                    raise BrokerUnavailable(f"{self.entry.name} did not answer {tool}: {_describe(exc)}") from exc
                await self.reconnect(generation)
                continue
            self.latency_ms = (time.perf_counter() - started) * 1000
            preview = confirmation_preview(result, arguments)
            if preview is not None:
                # a broker that confirms in the server (TRADING_CONFIRM_ORDERS=token, or elicit falling back to it
                # for a client that cannot be asked) sent a preview: the person already approved this very call
                # on its card, so it is confirmed with the token, for exactly the arguments the preview names
                confirmed = {**preview["arguments"], "confirmation_token": preview["confirmation_token"]}
                log.info("broker %s %s: confirmed the preview the person approved", self.entry.id, tool)
                if via is not None:
                    return await via(tool, confirmed, meta)
                return await self.session.call_tool(tool, confirmed, meta=meta)
            return result
        raise AssertionError("unreachable")


@functools.cache
def _server_classes() -> dict[str, type[MCPServer]]:
    """SDK MCP server classes that use their BrokerLink's session and route tool calls through it (reconnect,
    latency). Built on first use: importing the agents SDK takes seconds, and no broker waits for it."""
    from agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp

    def linked(base: type[MCPServer]) -> type[MCPServer]:
        class Linked(base):  # type: ignore[misc, valid-type]
            link: BrokerLink

            @property
            def session(self):
                return self.link.session if getattr(self, "link", None) is not None else None

            @session.setter
            def session(self, _value) -> None:
                pass  # the link owns the session; the SDK's own connect and cleanup never run

            async def connect(self) -> None:
                await self.link.wait_ready()

            async def cleanup(self) -> None:
                pass

            async def call_tool(self, tool_name: str, arguments: dict | None, meta: dict | None = None):
                return await self.link.call(tool_name, arguments, meta, via=super().call_tool)

        Linked.__name__ = f"Linked{base.__name__}"
        return Linked

    return {"stdio": linked(MCPServerStdio), "sse": linked(MCPServerSse), "streamable-http": linked(MCPServerStreamableHttp)}


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


@dataclass(frozen=True)
class BrokerCommand:
    """How a local broker subprocess is started (MCP's StdioServerParameters without importing MCP to say it)."""

    command: str
    args: list[str]
    env: dict[str, str]
    cwd: str


def stdio_params(entry: BrokerEntry, settings: AgentSettings) -> BrokerCommand:
    """How a local broker is started: `python -m brokers serve <id> --practice-clock` with the app's data dir, clock
    and limits (the practice clock is the local console's: its brokers follow it, a gateway's never do)."""
    return BrokerCommand(command=sys.executable, args=["-m", "brokers", "serve", entry.id, "--practice-clock"],
                         env=broker_env(settings), cwd=str(PROJECT_ROOT))


def transport_of(settings: AgentSettings) -> str:
    if not settings.remote:
        return "stdio"
    if settings.api_key is None:
        raise ConfigurationError("a gateway URL is set but no API key: set TRADING_API_KEY or store one in Settings")
    if settings.gateway_transport not in ("sse", "streamable-http"):
        raise ConfigurationError(f"gateway transport must be 'sse' or 'streamable-http', got {settings.gateway_transport!r}")
    return settings.gateway_transport


def _remote_url(entry: BrokerEntry, settings: AgentSettings, transport: str) -> tuple[str, dict[str, str]]:
    path = "mcp" if transport == "streamable-http" else "sse"
    return f"{settings.gateway_url.rstrip('/')}/{entry.id}/{path}", {"X-API-Key": settings.api_key.get_secret_value()}


def session_opener(entry: BrokerEntry, settings: AgentSettings,
                   before_import: Callable[[], Awaitable[Any]] | None = None, launch: LocalLaunch | None = None) -> Opener:
    """How the owner task opens this broker's MCP session: spawn it (stdio) or reach the gateway (SSE, HTTP).

    A local broker is spawned before the MCP client is imported (in a worker thread, so the other broker spawns
    meanwhile): the broker's own start-up (about as long) and the import overlap instead of queueing. Its first
    session takes the process `launch` forked for it, if any; a reconnect spawns it on its own.
    `before_import` is awaited first (the console waits for its first page to be drawn: the import would slow it)."""
    transport = transport_of(settings)

    def remote_streams():
        url, headers = _remote_url(entry, settings, transport)
        if transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(url, headers=headers)
        from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

        return streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))

    async def open_session(stack: contextlib.AsyncExitStack) -> Any:
        if transport == "stdio":
            process = await launch.claim(entry.id) if launch is not None else None
            if process is None:
                command = stdio_params(entry, settings)
                process = await anyio.open_process([command.command, *command.args], env=command.env, cwd=command.cwd,
                                                   stderr=sys.stderr, start_new_session=True)
            streams = process_streams(process)
        if before_import is not None:
            await before_import()
        await anyio.to_thread.run_sync(importlib.import_module, "mcp")  # off the loop: the other broker spawns now
        from mcp import Client

        if transport != "stdio":
            streams = remote_streams()
        return await stack.enter_async_context(Client(streams, mode="auto", cache=None, read_timeout_seconds=CALL_TIMEOUT_S))

    return open_session


@contextlib.asynccontextmanager
async def process_streams(process: anyio.abc.Process) -> AsyncIterator[tuple]:
    """MCP's stdio transport over a broker process already running: newline-delimited JSON-RPC on its stdin and
    stdout. On the way out its stdin closes, it gets PROCESS_EXIT_S to exit, then its process group is terminated
    (and killed PROCESS_EXIT_S later); shielded, so a cancelled caller never leaks a broker."""
    import mcp_types
    from anyio.streams.text import TextReceiveStream
    from mcp.shared.message import SessionMessage

    incoming_writer, incoming = anyio.create_memory_object_stream(0)
    outgoing, outgoing_reader = anyio.create_memory_object_stream(0)
    gone = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError)

    async def read_stdout() -> None:
        async with incoming_writer:
            with contextlib.suppress(*gone):
                buffer = ""
                async for chunk in TextReceiveStream(process.stdout):
                    *lines, buffer = (buffer + chunk).split("\n")
                    for line in filter(str.strip, lines):
                        try:
                            message = SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
                        except ValueError as exc:  # the session reports it; the stream goes on
                            message = exc
                        await incoming_writer.send(message)

    async def write_stdin() -> None:
        async with outgoing_reader:
            with contextlib.suppress(*gone):
                async for message in outgoing_reader:
                    line = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(line.encode())
        await incoming_writer.aclose()  # the broker stopped reading: the session sees the end, not a hang

    async with anyio.create_task_group() as pipes:
        pipes.start_soon(read_stdout)
        pipes.start_soon(write_stdin)
        try:
            yield incoming, outgoing
        finally:
            with anyio.CancelScope(shield=True):
                await _stop_process(process)
                for stream in (incoming, outgoing):
                    await stream.aclose()
            pipes.cancel_scope.cancel()


async def _stop_process(process: anyio.abc.Process | ForkedBroker) -> None:
    with contextlib.suppress(*(OSError, anyio.ClosedResourceError, anyio.BrokenResourceError)):
        await process.stdin.aclose()
    pid = await process.known_pid() if isinstance(process, ForkedBroker) else process.pid
    if pid is None:  # its launch never said which process it is: nothing to signal
        return
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
        with anyio.move_on_after(PROCESS_EXIT_S):
            while process.returncode is None:
                await anyio.sleep(0.01)
        if process.returncode is not None:
            return
    log.warning("broker process %d did not exit", process.pid)



def _exited(pid: int) -> bool:
    """Whether a process that is not our child has ended (gone, or a zombie its parent has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


class ForkedBroker:
    """One broker forked by a LocalLaunch, seen as process_streams() and _stop_process() see a spawned one: MCP on
    its stdin and stdout (one socket), its pid (once the launch reports it) and whether it has ended."""

    def __init__(self, broker_id: str, stream: anyio.abc.ByteStream, launch: LocalLaunch):
        self.broker_id = broker_id
        self.stdin = self.stdout = stream
        self._launch = launch

    async def known_pid(self) -> int | None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PROCESS_EXIT_S):
                await self._launch.reported.wait()
        return self._launch.pids.get(self.broker_id)

    @property
    def returncode(self) -> int | None:
        pid = self._launch.pids.get(self.broker_id)
        return None if pid is not None and not _exited(pid) else 0


class LocalLaunch:
    """Every local broker from one `python -m brokers launch` (brokers/launch.py): one start-up imports what they all
    need (most of a broker's start-up, CPU the console's first page shares), then forks one process per broker, each
    its own MCP server and database on a socket of ours as its stdio. Each broker's first session claims its fork;
    a reconnect spawns `python -m brokers serve <id>` as usual."""

    def __init__(self, entries: list[BrokerEntry], settings: AgentSettings):
        self.entries = entries
        self.settings = settings
        self.pids: dict[str, int] = {}
        self.reported = asyncio.Event()
        """The launch has said every broker's pid (or ended without)."""
        self._process: anyio.abc.Process | None = None
        self._ends: dict[str, socket.socket] = {}
        self._claimed: set[str] = set()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task | None = None

    @staticmethod
    def fits(entries: list[BrokerEntry], transport: str) -> bool:
        return transport == "stdio" and len(entries) > 1 and sys.platform == "linux"

    async def claim(self, broker_id: str) -> ForkedBroker | None:
        """This broker's forked process, the first time it is asked for (None after, or if the launch failed)."""
        if broker_id in self._claimed or broker_id not in {entry.id for entry in self.entries}:
            return None
        self._claimed.add(broker_id)
        async with self._lock:
            if self._process is None:
                await self._start()
        end = self._ends.pop(broker_id, None)
        if end is None:
            return None
        return ForkedBroker(broker_id, await anyio.abc.UNIXSocketStream.from_socket(end), self)

    async def _start(self) -> None:
        pairs = {entry.id: socket.socketpair() for entry in self.entries}
        command = stdio_params(self.entries[0], self.settings)
        channels = [f"{broker_id}={theirs.fileno()}" for broker_id, (_, theirs) in pairs.items()]
        try:
            self._process = await anyio.open_process(
                [command.command, "-m", "brokers", "launch", *channels, "--practice-clock"], env=command.env,
                cwd=command.cwd, stdin=subprocess.DEVNULL, stderr=sys.stderr, start_new_session=True,
                pass_fds=[theirs.fileno() for _, theirs in pairs.values()])
        except OSError as exc:
            log.warning("local brokers: launch failed (%s); each is spawned on its own", _describe(exc))
            for mine, _ in pairs.values():
                mine.close()
            self.reported.set()
            return
        finally:
            for _, theirs in pairs.values():
                theirs.close()
        self._ends = {broker_id: mine for broker_id, (mine, _) in pairs.items()}
        self._reader = asyncio.get_running_loop().create_task(self._read_pids())

    async def _read_pids(self) -> None:
        from anyio.streams.text import TextReceiveStream

        text = ""
        with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            async for chunk in TextReceiveStream(self._process.stdout):
                text += chunk
        for line in text.splitlines():
            broker_id, _, pid = line.partition(" ")
            if pid.isdigit():
                self.pids[broker_id] = int(pid)
        self.reported.set()

    async def aclose(self) -> None:
        """After every broker's session has closed: the launch exits once its brokers have; else it is ended."""
        for end in self._ends.values():
            end.close()  # a broker no session claimed sees its end of the socket close, and exits
        self._ends.clear()
        if self._process is None:
            return
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._process.pid, sig)
            with anyio.move_on_after(PROCESS_EXIT_S):
                await self._process.wait()
            if self._process.returncode is not None:
                break
        if self._reader is not None:
            self._reader.cancel()
        with contextlib.suppress(Exception):
            await self._process.aclose()


def build_server(link: BrokerLink, settings: AgentSettings) -> MCPServer:
    """The SDK MCP server object for one broker's link: the agent's view of it (tool names, approval policy), on
    the link's session. The practice clock tool is the console's, never the model's."""
    from agents.mcp import create_static_tool_filter

    common = {"name": link.entry.id, "cache_tools_list": True, "use_structured_content": True,
              "client_session_timeout_seconds": CALL_TIMEOUT_S, "require_approval": needs_approval,
              "tool_filter": create_static_tool_filter(blocked_tool_names=[PRACTICE_CLOCK_TOOL])}
    cls = _server_classes()[link.transport]
    if link.transport == "stdio":
        params = stdio_params(link.entry, settings)
        server = cls(params={"command": params.command, "args": params.args, "env": params.env, "cwd": params.cwd},
                     **common)
    else:
        url, headers = _remote_url(link.entry, settings, link.transport)
        server = cls(params={"url": url, "headers": headers}, **common)
    server.link = link
    return server


class BrokerConnections:
    """Keeps every broker's MCP session open on one event loop, run by an anyio blocking portal in its own thread."""

    def __init__(self, settings: AgentSettings, brokers: list[BrokerEntry] | None = None, *, paint_first: bool = False):
        """`paint_first`: the console's manager spawns its brokers at once but imports the MCP client only after
        `page_painted()`, or PAINT_WAIT_S after `page_started()` (a manager started with the server waits for its
        first page): a seconds-long import beside the first page would slow its paint."""
        self.settings = settings
        self.entries = brokers or configured_brokers(settings)
        if not self.entries:
            raise ConfigurationError("no brokers configured")
        transport = transport_of(settings)
        self._page_started = asyncio.Event()
        self._painted = asyncio.Event()
        if not paint_first:
            self._page_started.set()
            self._painted.set()
        self._launch = LocalLaunch(self.entries, settings) if LocalLaunch.fits(self.entries, transport) else None
        self.links: dict[str, BrokerLink] = {
            entry.id: BrokerLink(entry, transport, session_opener(entry, settings, self._after_paint, self._launch))
            for entry in self.entries
        }
        self._portal_context = start_blocking_portal(name="broker-connections")
        self.portal = self._portal_context.__enter__()
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ sync API (any thread but the loop's)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the connections' loop and wait for its result (cancelled when the time is up)."""

        async def awaited() -> T:
            return await coro

        future = self.portal.start_task_soon(awaited)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def start(self, wait: bool = True) -> None:
        """Connect every broker in parallel (local ones are spawned now); with wait, return once each is connected
        or failed. Without, the console paints at once and the sidebar follows each broker's state."""
        if not self._started:
            self._started = True
            for link in self.links.values():
                self.portal.start_task_soon(link.own, name=f"broker-{link.entry.id}")
        if wait:
            self.wait_ready()

    def page_started(self) -> None:
        """A page of the console is being drawn: from now on the MCP client waits at most PAINT_WAIT_S for its paint."""
        if not self._page_started.is_set() and not self._closed:
            self.portal.call(self._page_started.set)

    def page_painted(self) -> None:
        """The console's first page is drawn: the brokers' MCP client may be imported now."""
        if not self._painted.is_set() and not self._closed:
            self.portal.call(lambda: (self._page_started.set(), self._painted.set()))

    def wait_ready(self, timeout: float = CONNECT_TIMEOUT_S + 5) -> None:
        self.run(self._wait_all(), timeout=timeout)

    @property
    def ready(self) -> bool:
        """Every broker has connected or failed (none still connecting)."""
        return all(link.state not in ("connecting", "reconnecting") for link in self.links.values())

    def call(self, broker_id: str, tool: str, arguments: dict | None = None, timeout: float = CALL_TIMEOUT_S) -> dict:
        """Call one broker tool and return its structured result; a tool error raises BrokerToolError."""
        return self.run(self.acall(broker_id, tool, arguments), timeout=timeout)

    def call_all(self, tool: str, arguments: dict | None = None) -> dict[str, dict | BrokerToolError | Exception]:
        """The same tool on every broker, in parallel; failures are returned per broker, not raised."""
        return self.run(self._call_all(tool, arguments))

    def statuses(self) -> list[BrokerStatus]:
        return [link.status() for link in self.links.values()]

    def servers(self) -> list[MCPServer]:
        """The agents SDK's server objects (imports the SDK on first use), one per broker, on the links' sessions."""
        for link in self.links.values():
            if link.server is None:
                link.server = build_server(link, self.settings)
        return [link.server for link in self.links.values()]

    def close(self) -> None:
        """Close every session (ending local broker subprocesses) and stop the loop."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            try:
                self.run(self._close_all(), timeout=20)
            except Exception as exc:
                log.warning("closing broker connections: %s", _describe(exc))
        with contextlib.suppress(RuntimeError):
            self.portal.call(self.portal.stop, True)  # cancel whatever is left: a closed console never hangs
        self._portal_context.__exit__(None, None, None)

    # ------------------------------------------------------------------ async side (the loop)

    async def _after_paint(self) -> None:
        await self._page_started.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PAINT_WAIT_S):
                await self._painted.wait()

    async def _wait_all(self) -> None:
        await asyncio.gather(*(link.wait_ready() for link in self.links.values()))

    async def acall(self, broker_id: str, tool: str, arguments: dict | None = None) -> dict:
        link = self.links.get(broker_id)
        if link is None:
            raise ConfigurationError(f"unknown broker {broker_id!r}; connected brokers: {', '.join(self.links)}")
        result = await link.call(tool, arguments or {})
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
        if self._launch is not None:
            await self._launch.aclose()
