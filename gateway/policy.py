"""Who may call which tool, decided on the MCP tool call itself, and the audit line for each order tool call.

The gateway's ASGI guard (gateway/security.py) authenticates each HTTP request and leaves the key
in the request scope's state. This MCP middleware runs for every message the broker server handles
and reads that key from the HTTP request the message arrived with (for SSE, the POST to
/messages/; for streamable HTTP, the POST to /mcp). A `tools/call` of an order tool from a read
key, or from a request with no key at all, is refused here whatever the HTTP layer saw, so no
difference between two JSON parsers can slip an order past the scope check.
"""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, InputRequiredResult, TextContent

from brokers.server import ORDER_TOOLS, PRACTICE_CLOCK_TOOL
from gateway.audit import AuditLog
from gateway.keys import ApiKey

CALLER = "gateway.api_key"
"""Key under the ASGI scope's `state` where the guard leaves the authenticated ApiKey."""
CLOCK_REFUSAL = (f"forbidden: {PRACTICE_CLOCK_TOOL} is the local console's; a gateway's brokers keep the market's "
                 "clock and no client may move it")
FORBIDDEN = -32003
"""JSON-RPC error code of a scope refusal (in the range JSON-RPC leaves to servers)."""


def forbidden_reason(caller: ApiKey | None, tool: Any) -> str | None:
    """Why `caller` may not call `tool`, or None when it may."""
    if tool not in ORDER_TOOLS:
        return None
    if caller is None:
        return f"forbidden: {tool} needs an API key with trade scope"
    if not caller.can_trade:
        return f"forbidden: key {caller.name!r} has read scope; {tool} needs a key with trade scope"
    return None


def caller_of(scope: dict | None) -> ApiKey | None:
    state = (scope or {}).get("state") or {}
    caller = state.get(CALLER)
    return caller if isinstance(caller, ApiKey) else None


def key_name(ctx: Any) -> str | None:
    """The caller a confirmation token is bound to at the gateway: the API key's name."""
    request = getattr(getattr(ctx, "request_context", None), "request", None)
    caller = caller_of(getattr(request, "scope", None))
    return f"key:{caller.name}" if caller is not None else None


def transport_of(path: str) -> str:
    return "streamable-http" if path.endswith("/mcp") else "sse"


def client_of(scope: dict | None) -> str | None:
    client = (scope or {}).get("client")
    return client[0] if client else None


def result_status(result: Any) -> tuple[str, str | None]:
    """The audit status and order id of an order tool's result."""
    if isinstance(result, dict):
        is_error = result.get("isError") or result.get("is_error")
        structured = result.get("structuredContent") or result.get("structured_content")
    else:
        is_error = getattr(result, "is_error", False)
        structured = getattr(result, "structured_content", None)
    structured = structured if isinstance(structured, dict) else {}
    order_id = structured.get("id") if isinstance(structured.get("id"), str) else None
    if isinstance(structured.get("status"), str):
        return structured["status"], order_id
    return ("error" if is_error else "ok"), order_id


def _asks_for_input(result: Any) -> bool:
    if isinstance(result, InputRequiredResult):
        return True
    kind = result.get("resultType") if isinstance(result, dict) else getattr(result, "result_type", None)
    return kind == "input_required" or (isinstance(result, dict) and "inputRequests" in result)


def order_tool_policy(broker_id: str, audit: AuditLog):
    """MCP server middleware for one broker: scope check and audit line on every order tool call."""

    async def middleware(ctx, call_next):
        params = ctx.params if isinstance(ctx.params, dict) else {}
        tool = params.get("name")
        if ctx.method == "tools/call" and tool == PRACTICE_CLOCK_TOOL:  # its brokers never serve it; refuse it anyway
            return CallToolResult(content=[TextContent(type="text", text=CLOCK_REFUSAL)], is_error=True)
        if ctx.method != "tools/call" or tool not in ORDER_TOOLS:
            return await call_next(ctx)
        scope = getattr(ctx.request, "scope", None)
        caller = caller_of(scope)
        line = {"key": caller.name if caller else None, "broker": broker_id, "tool": tool,
                "arguments": params.get("arguments"), "transport": transport_of((scope or {}).get("path", "")),
                "client": client_of(scope)}
        reason = forbidden_reason(caller, tool)
        if reason is not None:
            audit.record(**line, status="forbidden")
            return CallToolResult(content=[TextContent(type="text", text=reason)], is_error=True)
        try:
            result = await call_next(ctx)
        except BaseException:
            audit.record(**line, status="error")
            raise
        status, order_id = result_status(result)
        if _asks_for_input(result):  # protocol 2026-07-28: the person is being asked
            status = "confirmation_asked"
        structured = (result.get("structuredContent") or result.get("structured_content") if isinstance(result, dict)
                      else getattr(result, "structured_content", None))
        confirmation = structured.get("confirmation") if isinstance(structured, dict) else None
        if confirmation:  # the person's yes: elicited or by token ("declined", "confirmation_expired" are statuses)
            status = f"{status} (confirmed: {confirmation})"
        audit.record(**line, status=status, order_id=order_id)
        return result

    return middleware
