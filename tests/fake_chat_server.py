"""A real HTTP server on 127.0.0.1 that speaks the chat-completions API like an OpenAI-compatible LLM, for tests.

It answers the first request of a conversation with a place_order tool call (4 MSFT on TradeSphere) and later ones
with a summary of the last tool result, so the SDK's own OpenAI client and model class run unmocked. A request with
`"stream": true` gets the same answer as server-sent chat.completion.chunk events, the text a few characters a chunk.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for chunk in outer.chunks(outer.respond(body)):
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
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

    @staticmethod
    def chunks(answer: dict, size: int = 6) -> list[dict]:
        """The answer as streamed deltas: the text `size` characters at a time, a tool call in one piece."""
        choice = answer["choices"][0]
        message = choice["message"]

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {"id": answer["id"], "object": "chat.completion.chunk", "created": 0, "model": answer["model"],
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": ""})]
        text = message.get("content") or ""
        out += [chunk({"content": text[i:i + size]}) for i in range(0, len(text), size)]
        for n, call in enumerate(message.get("tool_calls") or []):
            out.append(chunk({"tool_calls": [{"index": n, **call}]}))
        out.append(chunk({}, choice["finish_reason"]))
        return out

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
