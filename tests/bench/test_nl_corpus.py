"""`python -m bench nl`: the corpus runner scores cases through the real assistant, with the offline model and
with an LLM behind an OpenAI-compatible server (a fake one on 127.0.0.1). No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    {"name": "buy", "category": "order", "request": "buy 4 shares of Microsoft",
     "expect": [{"broker": "tradesphere", "tool": "place_order", "symbol": "MSFT", "side": "buy", "quantity": "4"}]},
    {"name": "advice", "category": "no_trade", "request": "should I buy Tesla?", "expect": "none"},
    {"name": "quote", "category": "question", "request": "what is Apple at?", "expect": "none",
     "expect_tools_any": ["get_quote"], "reply_any": ["AAPL"]},
    {"name": "wrong on purpose", "category": "order", "request": "buy 4 shares of Microsoft",
     "expect": [{"broker": "velocity", "tool": "place_order", "symbol": "MSFT", "side": "buy", "quantity": "4"}]},
]


def run_bench(tmp_path, *args, env=None):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES))
    environment = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")} | (env or {})
    return subprocess.run([sys.executable, "-m", "bench", "nl", "--cases", str(cases), *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_offline_model_is_scored_per_category_and_failures_are_shown(tmp_path):
    run = run_bench(tmp_path, "--brokers", "memory", "--jobs", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    document = json.loads(run.stdout.strip().splitlines()[-1])
    scores = document["accuracy_pct"]["cases"]
    assert scores["question"] == 100.0 and scores["no_trade"] == 100.0
    assert scores["order"] == 50.0  # the case that expects Velocity for an unnamed broker fails, as it should
    assert "FAIL [cases] wrong on purpose" in run.stdout and document["model"] == "offline"


def test_the_same_cases_run_through_an_llm_behind_an_openai_compatible_server(tmp_path):
    """The fake server buys 4 MSFT on TradeSphere whatever it is asked: the buy case passes, the advice case fails
    (it placed an order it should not have): the runner judges the LLM like the offline model."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(body["model"])
            if any(m.get("role") == "tool" for m in body["messages"]):
                message, finish = {"role": "assistant", "content": "done"}, "stop"
            else:
                message = {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                    "name": "mcp_tradesphere__place_order",
                    "arguments": json.dumps({"symbol": "MSFT", "side": "buy", "quantity": "4"})}}]}
                finish = "tool_calls"
            payload = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                  "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = run_bench(tmp_path, "--brokers", "memory", "--jobs", "1", "--model", "fake-model",
                        env={"OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1"})
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr[-2000:]
    document = json.loads(run.stdout.strip().splitlines()[-1])
    assert document["model"] == "fake-model" and set(calls) == {"fake-model"}
    scores = document["accuracy_pct"]["cases"]
    assert scores["no_trade"] == 0.0 and scores["order"] == 50.0
