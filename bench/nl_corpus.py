"""`python -m bench nl`: the language corpus (tests/agent/corpus) through the real assistant, scored per category.

Each case runs in its own fresh data dir on a frozen open market: its setup messages are asked and
approved in one chat, then its request is asked and every order it stages is approved, and the
orders that went through are compared with what the case expects (nothing else may be placed).

Brokers: `--brokers subprocess` (default) spawns the real `python -m brokers serve` processes over
stdio for each case; `--brokers memory` serves the same broker servers in this process over the MCP
SDK's in-memory transport (everything else, the Agent, Runner, sessions and approvals, is the
same), which is what makes tuning on the corpus quick. `--model NAME` runs the corpus through an
LLM instead of the offline model (OPENAI_API_KEY / OPENAI_BASE_URL as for the console).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bench.environment import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "tests" / "agent" / "corpus"
OPEN = "2026-11-24T10:30:00-05:00"
ORDER_TOOLS = ("place_order", "cancel_order", "replace_order", "add_position")
CATEGORIES = ("order", "sell", "cancel", "multi", "follow_up", "question", "no_trade", "advanced")
HALVES = ("tuning", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7")
"""`heldout` was frozen on the first morning of the language work, `heldout2` (with stops, brackets and replacements,
the `advanced` category) when the second began, `heldout3` (mixM-P) when the third began, `heldout4` (mixT-W) at the start of the fourth, `heldout5` (mixX-AA) at the end of the fifth, `heldout6`
(mixAB-AE) early in the sixth and `heldout7` (mixAF-AI) later in it; none is ever tuned on."""
PRICE_FIELDS = ("quantity", "notional", "limit_price", "stop_price", "trail_percent", "trail_price", "take_profit_price",
                "stop_loss_price")


def load(half: str) -> list[dict]:
    return [case | {"half": half} for path in sorted((CORPUS / half).glob("*.json")) for case in json.loads(path.read_text())]


# -------------------------------------------------------------------------------------------- judging


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _symbol(value: object) -> str:
    return str(value or "").upper().replace("-", ".").replace("/", ".")


def _refused(call: dict) -> bool:
    """True when an order tool's output says it did not go through: an error, a rejection, the person's no."""
    output = call["output"]
    if call.get("is_error"):
        return True
    if isinstance(output, dict):
        return str(output.get("status", "")).lower() == "rejected"
    text = str(output or "").lower()
    return text.startswith("error") or "rejected_by_user" in text or not text


def matches(expected: dict, call: dict) -> bool:
    if expected.get("tool", "place_order") != call["tool"] or expected["broker"] != call["server"]:
        return False
    args = call["arguments"]
    if call["tool"] == "replace_order":
        return all(_decimal(args.get(key)) == _decimal(expected[key]) for key in PRICE_FIELDS if key in expected)
    if call["tool"] != "place_order":
        return True
    if "symbol" in expected and _symbol(args.get("symbol")) != _symbol(expected["symbol"]):
        return False
    if "side" in expected and str(args.get("side", "")).lower() != expected["side"]:
        return False
    for key in PRICE_FIELDS:
        if key in expected and _decimal(args.get(key)) != _decimal(expected[key]):
            return False
    if str(args.get("order_type") or "market").lower() != expected.get("order_type", "market"):
        return False
    return str(args.get("time_in_force") or "day").lower() == expected.get("time_in_force", "day")


def judge(case: dict, result: dict) -> str:
    """'' when the case is right, else why not."""
    calls = [c for c in result["tool_calls"] if c["tool"] in ORDER_TOOLS]
    done = [c for c in calls if not _refused(c)]
    expected = case["expect"]
    if expected == "none":
        if done:
            return f"placed {[(c['server'], c['tool'], c['arguments']) for c in done]}"
    else:
        left = list(done)
        for want in expected:
            hit = next((c for c in left if matches(want, c)), None)
            if hit is None:
                return f"missing {want}; got {[(c['server'], c['tool'], c['arguments']) for c in calls]}"
            left.remove(hit)
        if left:
            return f"extra {[(c['server'], c['tool'], c['arguments']) for c in left]}"
    used = {c["tool"] for c in result["tool_calls"]}
    if case.get("expect_tools_any") and not used & set(case["expect_tools_any"]):
        return f"used none of {case['expect_tools_any']} (used {sorted(used)})"
    reply = result["reply"].lower()
    if case.get("reply_any") and not any(str(w).lower() in reply for w in case["reply_any"]):
        return f"reply lacks any of {case['reply_any']}"
    return ""


# -------------------------------------------------------------------------------------------- running


class _CaseEngine:
    """The engine of the case being run, for a broker server built once: attribute reads go to it. Cases run one at
    a time in a process (`run_cases` gives each worker process its own servers)."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __getattr__(self, name: str):
        return getattr(self.engine, name)


@contextlib.contextmanager
def _in_memory_brokers() -> Iterator[None]:
    """Serve `python -m brokers serve <id>` in this process: instead of spawning the link's subprocess, its session
    is an MCP client on the SDK's in-memory transport to the same server factory, on an engine built from the
    environment the link would give the subprocess (its data dir and clock)."""
    from mcp import Client
    from mcp.client._memory import InMemoryTransport  # what mcp.Client(server) uses for in-process servers
    from mcp.server.mcpserver import MCPServer

    import agent.connections as connections
    from brokers.profiles import load_profiles
    from brokers.runtime import confirm_mode, open_engine
    from brokers.server import build_server
    from brokers.settings import BrokerSettings

    opening = threading.Lock()  # migrations run at start-up and Alembic's context is one per process
    servers: dict[tuple, tuple[MCPServer, _CaseEngine]] = {}

    def serve_in_memory(params):
        env = params.env or {}
        fields = {k.removeprefix("TRADING_").lower(): v for k, v in env.items() if k.startswith("TRADING_")}
        settings = BrokerSettings(**{k: v for k, v in fields.items() if k in BrokerSettings.model_fields})
        broker_id = params.args[params.args.index("serve") + 1]
        profile = load_profiles(settings.profiles_path)[broker_id]
        practice = "--practice-clock" in params.args
        with opening:
            engine = open_engine(profile, settings, practice_clock=practice)
        # the confirmation mode of the environment the link gives its broker (the console's: off), not this process's
        mode = confirm_mode(profile, settings)
        # building a server registers its eleven tools (pydantic schemas: a third of a case's time); the server reads
        # its engine only through the reference it was built with, so one server a broker serves case after case
        if (broker_id, mode, practice) not in servers:
            holder = _CaseEngine(engine)
            servers[broker_id, mode, practice] = build_server(profile, holder, confirm_orders=mode), holder
        server, holder = servers[broker_id, mode, practice]
        holder.engine = engine
        return InMemoryTransport(server)

    def opener(entry, settings, before_import=None, launch=None):  # the launcher is not used in memory
        command = connections.stdio_params(entry, settings)

        async def open_session(stack: contextlib.AsyncExitStack):
            transport = serve_in_memory(command)
            return await stack.enter_async_context(
                Client(transport, mode="auto", cache=None, read_timeout_seconds=connections.CALL_TIMEOUT_S))

        return open_session

    original = connections.session_opener
    connections.session_opener = opener
    try:
        yield
    finally:
        connections.session_opener = original


@dataclass
class Outcome:
    case: dict
    why: str
    seconds: float
    reply: str = ""
    calls: list = field(default_factory=list)


def run_case(case: dict, model: str | None) -> Outcome:
    from agent.assistant import TradingAssistant
    from agent.connections import BrokerConnections
    from agent.settings import AgentSettings

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nl-case-") as data:
        llm = {"model": model} if model else {"openai_api_key": None, "openai_base_url": None}
        # with --model the key / base URL come from the environment, like the console's
        settings = AgentSettings(data_dir=data, now=OPEN, **llm)
        connections = BrokerConnections(settings)
        try:
            connections.start()
            assistant = TradingAssistant(connections, settings)
            session = "corpus"
            for message in case.get("setup", []):
                _approved(assistant, assistant.ask(message, session_id=session), session)
            result = _approved(assistant, assistant.ask(case["request"], session_id=session), session, collect=True)
        except Exception as exc:  # a crash is a wrong answer, with its reason
            return Outcome(case, f"crashed: {type(exc).__name__}: {exc}"[:300], time.perf_counter() - started)
        finally:
            connections.close()
    return Outcome(case, judge(case, result), time.perf_counter() - started, result["reply"], result["tool_calls"])


_WORKER_BROKERS: contextlib.ExitStack | None = None


def _start_worker(in_memory: bool) -> None:
    """A worker process of `run_cases`: its brokers stay served in memory (if asked) until the process ends."""
    global _WORKER_BROKERS
    import logging

    logging.disable(logging.INFO)  # every case creates two databases; their start-up lines would drown the report
    _WORKER_BROKERS = contextlib.ExitStack()
    if in_memory:
        _WORKER_BROKERS.enter_context(_in_memory_brokers())


def run_cases(cases: list[dict], model: str | None, *, in_memory: bool, jobs: int = 2) -> list[Outcome]:
    """Every case through the assistant, in order, on `jobs` worker processes (the offline model is pure Python: one
    process is one core, threads would share it). Workers are spawned, not forked, so no lock or event-loop thread
    of this process is copied into them; they inherit this process's environment (keys removed or set)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context, initializer=_start_worker,
                             initargs=(in_memory,)) as pool:
        return list(pool.map(run_case, cases, [model] * len(cases), chunksize=4))


def _approved(assistant, turn, session: str, collect: bool = False) -> dict:
    calls = [c.__dict__ | {} for c in turn.tool_calls]
    for _ in range(8):
        if not turn.pending_approvals:
            break
        turn = assistant.decide(session, {p.call_id: True for p in turn.pending_approvals})
        calls += [c.__dict__ | {} for c in turn.tool_calls]
    unique = {}
    for call in calls:
        unique[call["call_id"]] = call
    return {"reply": turn.reply, "tool_calls": list(unique.values())}


def report(outcomes: list[Outcome], show: set[str]) -> dict:
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for o in outcomes:
        for category in (o.case["category"], "all"):
            table[o.case["half"]][category]["n"] += 1
            table[o.case["half"]][category]["ok"] += not o.why
    figures = {}
    print(f"{'category':<11}" + "".join(f"{half:>18}" for half in table))
    for category in (*CATEGORIES, "all"):
        cells = []
        for half in table:
            c = table[half][category]
            cells.append(f"{c['ok']:>4}/{c['n']:<4} {100 * c['ok'] / c['n']:5.1f} %" if c["n"] else f"{'-':>18}")
            figures.setdefault(half, {})[category] = round(100 * c["ok"] / c["n"], 1) if c["n"] else None
        print(f"{category:<11}" + "".join(f"{cell:>18}" for cell in cells))
    for o in outcomes:
        if o.why and o.case["half"] in show:
            setup = " / ".join(o.case.get("setup", []))
            print(f"\nFAIL [{o.case['half']}] {o.case['name']} ({o.case['category']})\n  setup: {setup}\n  "
                  f"request: {o.case['request']}\n  why: {o.why}\n  reply: {o.reply[:300]!r}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench nl", description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=[*HALVES, "both", "all"], default="all",
                        help="which half to run ('both': tuning and heldout, as before heldout2 existed)")
    parser.add_argument("--cases", type=Path, help="a JSON file of cases in the corpus format, instead of the corpus")
    parser.add_argument("--brokers", choices=["subprocess", "memory"], default="subprocess")
    parser.add_argument("--model", help="an LLM model name (with OPENAI_API_KEY or OPENAI_BASE_URL) instead of the offline model")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes running cases side by side (one core each)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only the cases with these names (tuning half)")
    parser.add_argument("--failures", choices=[*HALVES, "both", "none"], default="tuning",
                        help="print the failed cases of this half (default: tuning only; never tune on held-out)")
    args = parser.parse_args(argv)
    if args.model and not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        print("--model needs OPENAI_API_KEY or OPENAI_BASE_URL", file=sys.stderr)
        return 2
    if not args.model:
        os.environ.pop("OPENAI_API_KEY", None)
        os.environ.pop("OPENAI_BASE_URL", None)
    if args.cases:
        cases = [c | {"half": "cases"} for c in json.loads(args.cases.read_text())]
    else:
        halves = HALVES if args.half == "all" else ("tuning", "heldout") if args.half == "both" else (args.half,)
        cases = [c for half in halves for c in load(half)]
    if args.only:
        cases = [c for c in cases if c["name"] in args.only and c["half"] == "tuning"]
    if not cases:
        print("no cases selected", file=sys.stderr)
        return 2
    started = time.perf_counter()
    outcomes = run_cases(cases, args.model, in_memory=args.brokers == "memory", jobs=args.jobs)
    show = set(HALVES) if args.failures == "both" else set() if args.failures == "none" else {args.failures}
    show.add("cases")
    figures = report(outcomes, show)
    print(json.dumps({"figure": "nl_corpus", "model": args.model or "offline", "brokers": args.brokers,
                      "accuracy_pct": figures, "cases": len(cases),
                      "seconds": round(time.perf_counter() - started, 1)}))
    return 0
