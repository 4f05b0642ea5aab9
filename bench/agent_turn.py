"""One agent turn with one order tool call (offline model, autonomous), on persistent stdio sessions,
against the seed's pattern: per request, spawn both broker servers, run the turn, close them.

The two patterns alternate (a seed-pattern request, then a block of persistent turns) so drift on the
machine hits both. Every turn must place its order, or the run fails: a fast turn that did nothing
would be a wrong figure.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.environment import MARKET_OPEN, BenchConfig, trading_environment
from bench.report import FigureResult, Row, verdict
from bench.stats import ratio, summarize

REQUEST = "buy 1 AAPL on velocity"
TARGET_SPEEDUP = 50
WARMUP_TURNS = 3


def agent_settings(data_dir: Path):
    from agent.settings import AgentSettings

    return AgentSettings(data_dir=data_dir, now=MARKET_OPEN, openai_api_key=None, openai_base_url=None,
                         gateway_url=None, autonomous=False)


def check_order_placed(result) -> None:
    placed = [c for c in result.tool_calls if c.tool == "place_order" and not c.is_error]
    if result.error or not placed:
        raise RuntimeError(f"the turn {REQUEST!r} placed no order: {result.reply!r} {result.error or ''}")


class PersistentAssistant:
    """The console's pattern: both brokers connected once, every turn on the open sessions."""

    def __init__(self, data_dir: Path):
        from agent.assistant import TradingAssistant
        from agent.connections import BrokerConnections

        settings = agent_settings(data_dir)
        self.connections = BrokerConnections(settings)
        try:
            started = time.perf_counter()
            self.connections.start()
            self.connect_s = time.perf_counter() - started
            if not all(s.connected for s in self.connections.statuses()):
                raise RuntimeError(f"brokers did not connect: {self.connections.statuses()}")
            self.assistant = TradingAssistant(self.connections, settings)
        except BaseException:
            self.connections.close()
            raise

    def turn(self) -> float:
        started = time.perf_counter()
        result = self.assistant.ask(REQUEST, autonomous=True)
        elapsed = time.perf_counter() - started
        check_order_placed(result)
        return elapsed

    def close(self) -> None:
        self.connections.close()


def seed_pattern_turn(data_dir: Path) -> tuple[float, float]:
    """Open both brokers (fresh subprocesses), run the turn, close them: (total seconds, connect seconds)."""
    from agent.assistant import TradingAssistant
    from agent.connections import BrokerConnections

    started = time.perf_counter()
    settings = agent_settings(data_dir)
    connections = BrokerConnections(settings)
    try:
        connections.start()
        connected = time.perf_counter() - started
        result = TradingAssistant(connections, settings).ask(REQUEST, autonomous=True)
    finally:
        connections.close()
    elapsed = time.perf_counter() - started
    check_order_placed(result)
    return elapsed, connected


def run(config: BenchConfig) -> FigureResult:
    seed_requests = config.reps(3, 10)
    turns_per_block = config.reps(8, 20)
    persistent_dir, seed_dir = config.data_dir("agent-persistent"), config.data_dir("agent-seed")
    persistent_samples, seed_samples, seed_connect = [], [], []
    with trading_environment(persistent_dir):
        persistent = PersistentAssistant(persistent_dir)
        try:
            for _ in range(WARMUP_TURNS):
                persistent.turn()
            for _ in range(seed_requests):
                total, connect = seed_pattern_turn(seed_dir)
                seed_samples.append(total)
                seed_connect.append(connect)
                persistent_samples.extend(persistent.turn() for _ in range(turns_per_block))
        finally:
            persistent.close()
    fast, seed = summarize(persistent_samples).scaled(1000), summarize(seed_samples).scaled(1000)
    connect = summarize(seed_connect).scaled(1000)
    speedup = ratio(seed.median, fast.median, 1)
    result = FigureResult("agent_turn", data={
        "request": REQUEST,
        "persistent_ms": round(fast.median, 2),
        "seed_pattern_ms": round(seed.median, 1),
        "speedup_vs_seed": speedup,
        "persistent_ms_spread": fast.to_json(2),
        "seed_pattern_ms_spread": seed.to_json(1),
        "seed_pattern_connect_ms": round(connect.median, 1),
        "persistent_connect_once_ms": round(persistent.connect_s * 1000, 1),
    })
    result.rows.append(Row(
        "agent turn, 1 order tool call, offline model, persistent stdio", fast.text("ms", 1),
        f"seed pattern (spawn both, turn, close): {seed.text('ms', 0)}", f"{speedup}x faster",
        f">= {TARGET_SPEEDUP}x faster", verdict(speedup is not None and speedup >= TARGET_SPEEDUP),
    ))
    return result
