"""The embedded offline language model: the SDK's `Model` interface without any key or network.

It reads the conversation the Runner hands it (the person's messages, earlier replies, this turn's
tool calls and their outputs), reads the person's words with `agent.language`, and lets
`agent.offline_planner` choose the next tool calls or the final reply. The Agent, Runner, sessions,
approvals and MCP servers all run for real around it. Deterministic: the same conversation gives
the same response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import Model, ModelResponse, Usage
from agents.models.interface import ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from agent.language import BrokerRef, conversation_intents
from agent.offline_planner import Reply, ToolCall, ToolResult, TurnContext, plan, understood
from agent.tool_protocol import split_tool_name, tool_name

MODEL_NAME = "offline"


def _get(item: Any, key: str, default: Any = None) -> Any:
    return item.get(key, default) if isinstance(item, dict) else getattr(item, key, default)


def _text(content: Any) -> str:
    """Plain text of a message's or a tool output's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(_get(part, "text", "") or "") for part in content)
    if content is None:
        return ""
    return str(_get(content, "text", content))


class OfflineTradingModel(Model):
    """A rule-based trading model for the Agents SDK; needs no API key."""

    def __init__(self, brokers: Sequence[BrokerRef], default_broker: str):
        self.brokers = list(brokers)
        self.default_broker = default_broker

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        tool_names = {t.name for t in tools if hasattr(t, "name")}
        step, note = self.step(items, tool_names)
        return ModelResponse(output=self._output(step, items, note), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the offline model answers whole turns; use Runner.run, not run_streamed")

    # ------------------------------------------------------------------------------------------

    def decide(self, items: list[Any], tool_names: set[str]) -> list[ToolCall] | Reply:
        """The next step for this conversation: tool calls or the final reply."""
        return self.step(items, tool_names)[0]

    def step(self, items: list[Any], tool_names: set[str]) -> tuple[list[ToolCall] | Reply, str]:
        """The next step, and a note to show with it (what a misspelt company was read as)."""
        turns = _turns(items)
        if not turns:
            return Reply("How can I help? Ask me to buy, sell, or show your portfolio."), ""
        brokers = [b for b in self.brokers if any(n.startswith(tool_name(b.id, "")) for n in tool_names)] or self.brokers
        ctx = TurnContext(brokers=brokers, default_broker=self.default_broker, user_text=turns[-1][0])
        ctx.results.extend(turns[-1][1])
        intents = conversation_intents([(text, results) for text, results in turns[:-1]] + [(turns[-1][0], [])], brokers)
        step = plan(intents, ctx)
        if isinstance(step, list):
            step = [c for c in step if tool_name(c.broker, c.tool) in tool_names] or Reply(
                "The broker I need is not connected right now; check the broker status and try again."
            )
        writes = isinstance(step, list) and any(c.tool in ("place_order", "cancel_order", "replace_order") for c in step)
        return step, understood(intents) if writes else ""

    def _output(self, step: list[ToolCall] | Reply, items: list[Any], note: str = "") -> list[Any]:
        if isinstance(step, Reply):
            return [_message(step.text)]
        seen = sum(1 for item in items if _get(item, "type") == "function_call")
        return ([_message(note)] if note else []) + [
            ResponseFunctionToolCall(
                id=f"fc_offline_{seen + n}",
                call_id=f"call_offline_{seen + n}",
                type="function_call",
                status="completed",
                name=tool_name(call.broker, call.tool),
                arguments=json.dumps(call.arguments),
            )
            for n, call in enumerate(step, start=1)
        ]


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(id="msg_offline", type="message", role="assistant", status="completed",
                                 content=[ResponseOutputText(type="output_text", text=text, annotations=[])])


def _turns(items: Sequence[Any]) -> list[tuple[str, list[ToolResult]]]:
    """The conversation as the person's messages, each with the tool results that answered it."""
    turns: list[tuple[str, list[ToolResult]]] = []
    calls: dict[str, Any] = {}
    for item in items:
        kind = _get(item, "type", "message")
        if _get(item, "role") == "user" and kind == "message":
            turns.append((_text(_get(item, "content")), []))
        elif kind == "function_call":
            calls[_get(item, "call_id")] = item
        elif kind == "function_call_output" and _get(item, "call_id") in calls and turns:
            turns[-1][1].append(_result(calls[_get(item, "call_id")], item))
    return turns


def _result(call: Any, output: Any) -> ToolResult:
    broker, tool = split_tool_name(_get(call, "name", ""))
    try:
        arguments = json.loads(_get(call, "arguments") or "{}")
    except json.JSONDecodeError:
        arguments = {}
    text = _text(_get(output, "output"))
    try:
        data = json.loads(text)
        ok = isinstance(data, dict)
    except json.JSONDecodeError:
        data, ok = {}, False
    return ToolResult(broker, tool, arguments, ok, data if ok else {}, text)
