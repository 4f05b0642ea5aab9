"""The embedded offline language model: the SDK's `Model` interface without any key or network.

It reads the conversation the Runner hands it (the person's messages, earlier replies, this turn's
tool calls and their outputs), parses the person's words with `agent.intents`, and lets
`agent.offline_planner` choose the next tool calls or the final reply. The Agent, Runner, sessions,
approvals and MCP servers all run for real around it. Deterministic: the same conversation gives
the same response.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import Model, ModelResponse, Usage
from agents.models.interface import ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from agent.intents import BrokerRef, conversation_intent
from agent.offline_planner import Reply, ToolCall, ToolResult, TurnContext, plan

MODEL_NAME = "offline"
TOOL_NAME = re.compile(r"^mcp_(?P<server>.+?)__(?P<tool>.+)$")


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


def split_tool_name(name: str) -> tuple[str, str]:
    """'mcp_tradesphere__place_order' -> ('tradesphere', 'place_order')."""
    match = TOOL_NAME.match(name)
    return (match["server"], match["tool"]) if match else ("", name)


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
        step = self.decide(items, tool_names)
        return ModelResponse(output=self._output(step, items), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the offline model answers whole turns; use Runner.run, not run_streamed")

    # ------------------------------------------------------------------------------------------

    def decide(self, items: list[Any], tool_names: set[str]) -> list[ToolCall] | Reply:
        """The next step for this conversation: tool calls or the final reply."""
        user_messages: list[str] = []
        last_user = -1
        for index, item in enumerate(items):
            if _get(item, "role") == "user" and _get(item, "type", "message") == "message":
                user_messages.append(_text(_get(item, "content")))
                last_user = index
        if not user_messages:
            return Reply("How can I help? Ask me to buy, sell, or show your portfolio.")
        brokers = [b for b in self.brokers if any(n.startswith(f"mcp_{b.id}__") for n in tool_names)] or self.brokers
        ctx = TurnContext(brokers=brokers, default_broker=self.default_broker, user_text=user_messages[-1])
        ctx.results.extend(_turn_results(items[last_user + 1 :]))
        intent = conversation_intent(user_messages, brokers)
        step = plan(intent, ctx)
        if isinstance(step, list):
            step = [c for c in step if f"mcp_{c.broker}__{c.tool}" in tool_names] or Reply(
                "The broker I need is not connected right now; check the broker status and try again."
            )
        return step

    def _output(self, step: list[ToolCall] | Reply, items: list[Any]) -> list[Any]:
        if isinstance(step, Reply):
            return [
                ResponseOutputMessage(
                    id="msg_offline",
                    type="message",
                    role="assistant",
                    status="completed",
                    content=[ResponseOutputText(type="output_text", text=step.text, annotations=[])],
                )
            ]
        seen = sum(1 for item in items if _get(item, "type") == "function_call")
        return [
            ResponseFunctionToolCall(
                id=f"fc_offline_{seen + n}",
                call_id=f"call_offline_{seen + n}",
                type="function_call",
                status="completed",
                name=f"mcp_{call.broker}__{call.tool}",
                arguments=json.dumps(call.arguments),
            )
            for n, call in enumerate(step, start=1)
        ]


def _turn_results(items: Sequence[Any]) -> list[ToolResult]:
    """Pair this turn's function calls with their outputs."""
    calls: dict[str, Any] = {}
    results: list[ToolResult] = []
    for item in items:
        kind = _get(item, "type")
        if kind == "function_call":
            calls[_get(item, "call_id")] = item
        elif kind == "function_call_output" and _get(item, "call_id") in calls:
            call = calls[_get(item, "call_id")]
            broker, tool = split_tool_name(_get(call, "name", ""))
            try:
                arguments = json.loads(_get(call, "arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            text = _text(_get(item, "output"))
            try:
                data = json.loads(text)
                ok = isinstance(data, dict)
            except json.JSONDecodeError:
                data, ok = {}, False
            results.append(ToolResult(broker, tool, arguments, ok, data if ok else {}, text))
    return results
