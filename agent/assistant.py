"""The trading assistant: one request in, a reply, the tool calls made and any orders awaiting approval out.

Used by the CLI and the console. Runs the SDK's Runner on the connection manager's loop. Order tools
stop the run for the person's approval (the SDK's approval flow); `decide` approves or rejects and
resumes it. Conversations persist per chat in the SDK's SQLite session store under the data dir.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents import Runner, SQLiteSession
from agents.exceptions import AgentsException, MaxTurnsExceeded
from agents.items import ItemHelpers, MessageOutputItem, ToolApprovalItem, ToolCallItem, ToolCallOutputItem
from agents.run_state import RunState

from agent.builder import build_agent
from agent.connections import BrokerConnections
from agent.errors import AgentError, BrokerToolError
from agent.language import BrokerRef
from agent.models import build_model
from agent.offline_model import OfflineTradingModel
from agent.settings import AgentSettings
from agent.tool_protocol import REJECTED_BY_USER, split_tool_name

log = logging.getLogger(__name__)
MAX_TURNS = 12


@dataclass
class RunOptions:
    """Per-run context the approval policy reads."""

    autonomous: bool = False


@dataclass
class ToolCallRecord:
    call_id: str
    server: str
    tool: str
    arguments: dict
    output: Any
    is_error: bool


@dataclass
class PendingApproval:
    """An order tool call waiting for the person, with what it would cost."""

    call_id: str
    server: str
    broker_name: str
    tool: str
    arguments: dict
    estimate: dict | None = None
    """estimate_order for a place_order: expected price, fees, total."""
    note: str = ""
    """What the model said about this order when it asked, e.g. how it read a misspelt company."""
    company: str = ""
    """The company's name for the order's ticker (from get_quote), for the card: 'Apple Inc.'."""
    order: dict | None = None
    """For cancel_order / replace_order: the order it would change, as list_orders reports it."""


@dataclass
class StreamUpdate:
    """One step of a streamed turn, as it happens: text from the model, a tool called or answered, or the end."""

    kind: str
    """'text' (a piece of the reply), 'tool_called', 'tool_output', or 'done' (then `result` is the whole turn)."""
    text: str = ""
    call: ToolCallRecord | None = None
    result: TurnResult | None = None


@dataclass
class TurnResult:
    reply: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    pending_approvals: list[PendingApproval] = field(default_factory=list)
    model: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "reply": self.reply,
            "tool_calls": [
                {"server": c.server, "tool": c.tool, "arguments": c.arguments, "output": c.output, "is_error": c.is_error}
                for c in self.tool_calls
            ],
            "pending_approvals": [asdict(p) for p in self.pending_approvals],
            "model": self.model,
            "error": self.error,
        }


def _parse_output(output: Any) -> tuple[Any, bool]:
    text = output if isinstance(output, str) else (output.get("text") if isinstance(output, dict) else None)
    if isinstance(output, list):
        text = "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in output)
    if text is None:
        return output, False
    try:
        return json.loads(text), False
    except (json.JSONDecodeError, TypeError):
        return text, text.startswith("Error") or REJECTED_BY_USER in text


class TradingAssistant:
    """Natural-language trading over the connected brokers."""

    def __init__(self, connections: BrokerConnections, settings: AgentSettings, model=None, model_name: str | None = None):
        self.connections = connections
        self.settings = settings
        statuses = connections.statuses()
        refs = [BrokerRef(s.id, s.name) for s in statuses]
        if model is None:
            model, model_name = build_model(settings, refs)
        self.model_name = model_name or type(model).__name__
        self.streams = not isinstance(model, OfflineTradingModel)
        """Whether the model streams its reply token by token (an LLM); the offline model answers whole turns."""
        self.agent = build_agent(connections.servers(), statuses, model, settings.default_broker)
        self._pending: dict[str, tuple[RunState, list[ToolApprovalItem], dict[str, ToolCallRecord], str]] = {}
        self.sessions_path = Path(settings.data_dir) / "conversations.db" if settings.data_dir else None

    def session(self, session_id: str | None) -> SQLiteSession | None:
        if not session_id:
            return None
        if self.sessions_path:
            self.sessions_path.parent.mkdir(parents=True, exist_ok=True)
            return SQLiteSession(session_id, str(self.sessions_path))
        return SQLiteSession(session_id)

    def ask(self, text: str, session_id: str | None = None, autonomous: bool | None = None) -> TurnResult:
        """Run one request until it answers or stops for approval."""
        text = (text or "").strip()
        if not text:
            return TurnResult(reply="Type a request, for example: Buy 10 shares of Apple through TradeSphere.", model=self.model_name)
        options = RunOptions(autonomous=self.settings.autonomous if autonomous is None else autonomous)
        key = session_id or "_default"
        self._pending.pop(key, None)
        return self._run(text, session_id, options, key, {})

    def pending(self, session_id: str | None = None) -> list[PendingApproval]:
        entry = self._pending.get(session_id or "_default")
        return [self._describe(item, entry[3]) for item in entry[1]] if entry else []

    def decide(self, session_id: str | None, decisions: dict[str, bool]) -> TurnResult:
        """Approve (True) or reject (False) pending calls by call_id, then let the run finish."""
        key = session_id or "_default"
        if key not in self._pending:
            return TurnResult(reply="There is nothing waiting for approval.", model=self.model_name)
        state, records = self._resume(key, decisions)
        return self._run(state, session_id, RunOptions(autonomous=False), key, records)

    def ask_streaming(self, text: str, session_id: str | None = None) -> Iterator[StreamUpdate]:
        """`ask`, streamed: the reply's text and each tool call as they happen, then 'done' with the whole turn.

        The offline model answers at once (one 'done'); an LLM runs through `Runner.run_streamed`."""
        text = (text or "").strip()
        if not text or not self.streams:
            yield StreamUpdate("done", result=self.ask(text, session_id))
            return
        key = session_id or "_default"
        self._pending.pop(key, None)
        yield from self._stream(text, session_id, RunOptions(autonomous=self.settings.autonomous), key, {})

    def decide_streaming(self, session_id: str | None, decisions: dict[str, bool]) -> Iterator[StreamUpdate]:
        """`decide`, streamed like `ask_streaming`."""
        key = session_id or "_default"
        if not self.streams or key not in self._pending:
            yield StreamUpdate("done", result=self.decide(session_id, decisions))
            return
        state, records = self._resume(key, decisions)
        yield from self._stream(state, session_id, RunOptions(autonomous=False), key, records)

    def _stream(self, run_input, session_id, options, key, records: dict[str, ToolCallRecord]) -> Iterator[StreamUpdate]:
        """Drive `Runner.run_streamed` on the connections' loop from a worker thread; hand its events over a queue.

        The worker, not the caller, records the outcome (pending approvals included), so a page that stops reading
        halfway loses nothing."""
        updates: queue.Queue[StreamUpdate | None] = queue.Queue()
        session = self.session(session_id)

        async def drive():
            result = Runner.run_streamed(self.agent, run_input, context=options, session=session, max_turns=MAX_TURNS)
            async for event in result.stream_events():
                if event.type == "raw_response_event":
                    if getattr(event.data, "type", "") == "response.output_text.delta" and event.data.delta:
                        updates.put(StreamUpdate("text", text=event.data.delta))
                elif event.type == "run_item_stream_event" and event.name in ("tool_called", "tool_output"):
                    self._collect([event.item], records)
                    raw = event.item.raw_item
                    call_id = getattr(raw, "call_id", None) or (raw.get("call_id") if isinstance(raw, dict) else None)
                    if call_id in records:
                        updates.put(StreamUpdate(event.name, call=records[call_id]))
            return result

        def work() -> None:
            try:
                turn = self._finish(lambda: self.connections.run(drive(), timeout=180), key, records)
            except Exception as exc:  # a streaming failure the SDK did not type: the page still gets a turn to show
                log.warning("streamed agent run failed: %s", type(exc).__name__)
                turn = TurnResult(reply=f"Sorry, that failed: {_safe(exc)}", model=self.model_name,
                                  tool_calls=list(records.values()), error=_safe(exc))
            try:
                updates.put(StreamUpdate("done", result=turn))
            finally:
                updates.put(None)

        threading.Thread(target=work, name="agent-stream", daemon=True).start()
        while (update := updates.get()) is not None:
            yield update

    def _resume(self, key: str, decisions: dict[str, bool]) -> tuple[RunState, dict[str, ToolCallRecord]]:
        state, items, records, _note = self._pending.pop(key)
        for item in items:
            if decisions.get(_call_id(item), False):
                state.approve(item)
            else:
                state.reject(item, rejection_message=f"{REJECTED_BY_USER}: the person rejected this call; nothing was done.")
        return state, records

    def _run(self, run_input, session_id, options, key, records: dict[str, ToolCallRecord]) -> TurnResult:
        session = self.session(session_id)
        return self._finish(lambda: self.connections.run(
            Runner.run(self.agent, run_input, context=options, session=session, max_turns=MAX_TURNS), timeout=180
        ), key, records)

    def _finish(self, execute, key, records: dict[str, ToolCallRecord]) -> TurnResult:
        """Run `execute` (a whole Runner run) and turn its result into a TurnResult, keeping interruptions pending."""
        try:
            result = execute()
        except MaxTurnsExceeded:
            return TurnResult(reply="That took too many steps; please ask in a simpler way.", model=self.model_name,
                              tool_calls=list(records.values()), error="max turns exceeded")
        except (AgentsException, AgentError, TimeoutError, OSError) as exc:
            log.warning("agent run failed: %s", exc)
            return TurnResult(reply=f"Sorry, that failed: {_safe(exc)}", model=self.model_name,
                              tool_calls=list(records.values()), error=_safe(exc))
        self._collect(result.new_items, records)
        interruptions = list(result.interruptions or [])
        if interruptions:
            notes = [ItemHelpers.text_message_output(i) for i in result.new_items if isinstance(i, MessageOutputItem)]
            note = " ".join(n for n in notes if n.strip())
            self._pending[key] = (result.to_state(), interruptions, records, note)
            pending = [self._describe(item, note) for item in interruptions]
            lines = [f"Waiting for your approval: {_summary(p)}" for p in pending]
            return TurnResult(reply="\n".join([note, *lines] if note else lines), tool_calls=list(records.values()),
                              pending_approvals=pending, model=self.model_name)
        reply = str(result.final_output or "")
        return TurnResult(reply=reply, tool_calls=list(records.values()), model=self.model_name)

    def _collect(self, items, records: dict[str, ToolCallRecord]) -> None:
        for item in items:
            if isinstance(item, ToolCallItem):
                raw = item.raw_item
                call_id = getattr(raw, "call_id", None) or (raw.get("call_id") if isinstance(raw, dict) else None)
                name = getattr(raw, "name", None) or (raw.get("name") if isinstance(raw, dict) else "")
                arguments = getattr(raw, "arguments", None) or (raw.get("arguments") if isinstance(raw, dict) else "{}")
                server, tool = split_tool_name(name or "")
                try:
                    args = json.loads(arguments or "{}")
                except json.JSONDecodeError:
                    args = {"_raw": arguments}
                records.setdefault(call_id, ToolCallRecord(call_id, server, tool, args, None, False))
            elif isinstance(item, ToolCallOutputItem):
                raw = item.raw_item
                call_id = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
                if call_id in records:
                    output, is_error = _parse_output(item.output)
                    records[call_id].output = output
                    records[call_id].is_error = is_error

    def _describe(self, item: ToolApprovalItem, note: str = "") -> PendingApproval:
        raw = item.raw_item
        name = getattr(raw, "name", None) or (raw.get("name") if isinstance(raw, dict) else "")
        server, tool = split_tool_name(name or "")
        try:
            arguments = json.loads(getattr(raw, "arguments", None) or (raw.get("arguments") if isinstance(raw, dict) else "{}") or "{}")
        except json.JSONDecodeError:
            arguments = {}
        status = {s.id: s for s in self.connections.statuses()}.get(server)
        pending = PendingApproval(_call_id(item), server, status.name if status else server, tool, arguments)
        symbol = str(arguments.get("symbol") or "")
        if note and symbol and f"({symbol})" in note:
            pending.note = note
        if tool == "place_order":
            estimate_args = {k: v for k, v in arguments.items() if k != "client_order_id"}
            try:
                pending.estimate = self.connections.call(server, "estimate_order", estimate_args)
            except (BrokerToolError, AgentError, TimeoutError) as exc:
                pending.estimate = {"error": _safe(exc)}
            ticker = (pending.estimate or {}).get("symbol") or symbol
            if ticker:
                try:
                    pending.company = str(self.connections.call(server, "get_quote", {"symbol": ticker}).get("name") or "")
                except (BrokerToolError, AgentError, TimeoutError):
                    pending.company = ""  # the card shows the ticker alone
        elif tool in ("cancel_order", "replace_order") and arguments.get("order_id"):
            try:
                orders = self.connections.call(server, "list_orders", {"status": "active", "limit": 500}).get("orders", [])
            except (BrokerToolError, AgentError, TimeoutError):
                orders = []
            wanted = str(arguments["order_id"])
            pending.order = next((o for o in orders if wanted in (o.get("id"), o.get("client_order_id"))), None)
        return pending


def _call_id(item: ToolApprovalItem) -> str:
    raw = item.raw_item
    return getattr(raw, "call_id", None) or (raw.get("call_id") if isinstance(raw, dict) else "") or ""


def _summary(p: PendingApproval) -> str:
    a = p.arguments
    if p.tool == "place_order":
        if p.estimate and p.estimate.get("message"):
            return p.estimate["message"]  # the broker's own line: price, fees and total in full, and when it executes
        size = a.get("quantity") or f"{a.get('notional')} dollars of"
        problem = f" (no estimate: {p.estimate['error']})" if p.estimate and p.estimate.get("error") else ""
        return f"{a.get('side')} {size} {a.get('symbol')} on {p.broker_name}{problem}"
    if p.tool == "cancel_order":
        return f"cancel order {a.get('order_id')} on {p.broker_name}"
    return f"{p.tool} {a} on {p.broker_name}"


def _safe(exc: BaseException) -> str:
    """An error message without secrets (keys are never part of exceptions we raise, but be strict)."""
    text = str(exc) or type(exc).__name__
    for marker in ("sk-", "Bearer "):
        if marker in text:
            return type(exc).__name__
    return text[:300]
