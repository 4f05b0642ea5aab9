"""The LLM path: the same Agent, tools and approvals driven by an OpenAI-compatible server.

The server is a real HTTP server on 127.0.0.1 that speaks the chat-completions API and answers
with tool calls, so the SDK's own OpenAI client and model class run unmocked.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from agent.assistant import TradingAssistant


class FakeChatServer:
    """Answers the first request with a place_order tool call, later ones with a summary."""

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                payload = json.dumps(outer.respond(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def respond(self, body: dict) -> dict:
        tool_results = [m for m in body["messages"] if m.get("role") == "tool"]
        if not tool_results:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_llm_1", "type": "function",
                "function": {"name": "mcp_tradesphere__place_order",
                             "arguments": json.dumps({"symbol": "MSFT", "side": "buy", "quantity": "4"})}}]}
            finish = "tool_calls"
        else:
            content = str(tool_results[-1]["content"])
            with contextlib.suppress(ValueError, KeyError, TypeError):
                content = json.loads(content)["message"]
            message = {"role": "assistant", "content": "LLM says: " + content}
            finish = "stop"
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


@pytest.fixture
def fake_llm():
    server = FakeChatServer()
    server.thread.start()
    yield server
    server.server.shutdown()


def test_llm_tool_calls_go_through_approval_and_place_the_order(connections, fake_llm):
    """With a base URL configured the LLM's tool call stops for approval, then places the order."""
    settings = connections.settings.model_copy(update={
        "openai_base_url": fake_llm.url, "openai_api_key": SecretStr("test-key-not-real"), "model": "local-model"})
    llm = TradingAssistant(connections, settings)
    assert llm.model_name.startswith("local-model")
    result = llm.ask("buy 4 microsoft on tradesphere", session_id="llm")
    [pending] = result.pending_approvals
    assert (pending.server, pending.tool, pending.arguments["symbol"]) == ("tradesphere", "place_order", "MSFT")
    done = llm.decide("llm", {pending.call_id: True})
    assert done.reply.startswith("LLM says:") and "Bought 4 MSFT" in done.reply

    first = fake_llm.requests[0]
    tool_names = {t["function"]["name"] for t in first["tools"]}
    assert {"mcp_tradesphere__place_order", "mcp_velocity__place_order", "mcp_velocity__estimate_order"} <= tool_names
    system = first["messages"][0]["content"]
    assert "VelocityBrokers" in system and "Ultra-fast execution" in system and "approval" in system
    assert fake_llm.headers[0]["authorization"] == "Bearer test-key-not-real"


def test_llm_rejected_order_is_not_placed(connections, fake_llm):
    """Rejecting the LLM's order sends the rejection back and nothing reaches the broker."""
    settings = connections.settings.model_copy(update={"openai_base_url": fake_llm.url, "model": "local-model"})
    llm = TradingAssistant(connections, settings)
    before = connections.call("tradesphere", "list_orders", {"status": "all"})["orders"]
    result = llm.ask("buy 4 microsoft on tradesphere", session_id="llm-reject")
    done = llm.decide("llm-reject", {result.pending_approvals[0].call_id: False})
    assert "REJECTED_BY_USER" in done.reply
    assert connections.call("tradesphere", "list_orders", {"status": "all"})["orders"] == before
