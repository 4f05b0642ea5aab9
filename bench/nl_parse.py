"""Offline model: time to parse one request (agent.language.parse_request) over the phrasing tables the
agent's tests use (tests/agent/test_language.py and test_offline_phrasings.py), read as data."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from bench.environment import PROJECT_ROOT, BenchConfig
from bench.report import FigureResult, Row, not_measured, verdict
from bench.stats import percentile, summarize

TABLE_FILES = ("tests/agent/test_language.py", "tests/agent/test_offline_phrasings.py")
TARGET_MS = 1.0
FIGURE = "offline model parse per request"


def request_table(root: Path = PROJECT_ROOT) -> list[str]:
    """Every single-message phrasing in the test tables (first item of each row), without repeats."""
    messages: dict[str, None] = {}
    for relative in TABLE_FILES:
        path = root / relative
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location(f"_bench_table_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, list):
                for row in value:
                    if isinstance(row, tuple) and row and isinstance(row[0], str):
                        messages.setdefault(row[0], None)
    return list(messages)


def run(config: BenchConfig) -> FigureResult:
    try:
        from agent.language import BrokerRef, parse_request
    except ImportError as exc:
        return not_measured("nl_parse", FIGURE, f"< {TARGET_MS:g} ms", f"agent.language not importable: {exc}")
    messages = request_table()
    if not messages:
        return not_measured("nl_parse", FIGURE, f"< {TARGET_MS:g} ms", "no phrasing tables under tests/agent")
    brokers = (BrokerRef("tradesphere", "TradeSphere"), BrokerRef("velocity", "VelocityBrokers"))
    repeats = config.reps(20, 200)
    per_message: dict[str, float] = {}
    for message in messages:
        parse_request(message, brokers)  # first use: lazily built tables, caches
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            parse_request(message, brokers)
            samples.append((time.perf_counter() - started) * 1000)
        per_message[message] = summarize(samples).median
    spread = summarize(list(per_message.values()))
    slowest = max(per_message, key=per_message.get)
    worst = per_message[slowest]
    result = FigureResult("nl_parse", data={
        "requests": len(messages),
        "repeats_per_request": repeats,
        "parse_ms": round(spread.median, 4),
        "parse_ms_spread": spread.to_json(4),
        "parse_ms_p99": round(percentile(list(per_message.values()), 99), 4),
        "parse_ms_max": round(worst, 4),
        "slowest_request": slowest,
    })
    result.rows.append(Row(
        f"{FIGURE} ({len(messages)} phrasings from the agent tests)", spread.text("ms", 3),
        "", f"slowest {worst:.3f} ms", f"< {TARGET_MS:g} ms each", verdict(worst < TARGET_MS),
    ))
    return result
