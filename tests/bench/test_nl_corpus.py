"""`python -m bench nl`: the corpus runner scores cases through the real assistant, with the offline model and
with an LLM behind an OpenAI-compatible server (a fake one on 127.0.0.1). No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fake_chat_server import FakeChatServer

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
    server = FakeChatServer()
    server.thread.start()
    try:
        run = run_bench(tmp_path, "--brokers", "memory", "--jobs", "1", "--model", "fake-model",
                        env={"OPENAI_BASE_URL": server.url})
    finally:
        server.server.shutdown()
    calls = [body["model"] for body in server.requests]
    assert run.returncode == 0, run.stderr[-2000:]
    document = json.loads(run.stdout.strip().splitlines()[-1])
    assert document["model"] == "fake-model" and set(calls) == {"fake-model"}
    scores = document["accuracy_pct"]["cases"]
    assert scores["no_trade"] == 0.0 and scores["order"] == 50.0
