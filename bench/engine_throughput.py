"""Engine throughput: durable orders/s on SQLite WAL, one process and two processes writing the same
database, against plain sqlite3 inserts of the same order rows (same journal mode and pragmas, one
transaction per row). A second, diagnostic baseline writes everything the engine writes per order
(order and fill inserted, account and position updated) in one plain transaction.

Every scenario runs in worker subprocesses (`python -m bench.engine_throughput worker ...`) that get
ready, then run batches on a "go" line from the parent, so imports and start-up are never timed and
two workers start their batch together. Orders alternate buy 1 / sell 1 AAPL at market on a frozen
open market, so every order fills and the book stays small.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

from bench.environment import BenchConfig, python_module, run_env, start, stop
from bench.report import FigureResult, Row
from bench.stats import ratio, summarize

BROKER = "tradesphere"
# No target: the 2,000 orders/s one was retired with issue #14 (a paper broker behind an MCP tool call, ~3 ms a round
# trip over stdio, never needs it); the figure stays as a regression signal against plain sqlite3.
WORKER_TIMEOUT_S = 120
WARMUP_ORDERS = 40
"""Placed (or inserted) by each scenario before its timed batches, split among its workers: first-use costs."""


# ----------------------------------------------------------------------------- worker side


def _engine_batch_runner(data_dir: Path):
    from brokers.domain import OrderRequest
    from brokers.profiles import get_profile
    from brokers.runtime import open_engine
    from brokers.settings import get_settings

    settings = get_settings()
    if settings.data_dir != data_dir:
        raise RuntimeError(f"worker data dir {settings.data_dir} is not {data_dir}")
    engine = open_engine(get_profile(BROKER), settings)
    requests = [OrderRequest.parse(symbol="AAPL", side=side, quantity="1") for side in ("buy", "sell")]

    def batch(count: int) -> int:
        filled = 0
        for i in range(count):
            order = engine.place_order(requests[i % 2])
            filled += order.status == "filled"
        return filled

    return batch


def _plain_connection(path: Path) -> sqlite3.Connection:
    """sqlite3 with the engine's pragmas: WAL, synchronous NORMAL, the same busy timeout, explicit BEGIN IMMEDIATE."""
    from brokers.persistence import SQLITE_BUSY_TIMEOUT_MS

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def _plain_batch_runner(db: Path, rows_file: Path, worker: int, workers: int, same_writes: bool):
    rows = json.loads(rows_file.read_text())
    orders = rows["orders"][worker::workers]
    fills = {fill["order_id"]: fill for fill in rows["fills"]}
    connection = _plain_connection(db)
    columns = [c for c in rows["orders"][0] if c != "seq"]
    insert_order = f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    fill_columns = [c for c in rows["fills"][0] if c != "seq"]
    insert_fill = f"INSERT INTO fills ({', '.join(fill_columns)}) VALUES ({', '.join('?' * len(fill_columns))})"
    cursor = [0]

    def batch(count: int) -> int:
        done = 0
        for order in orders[cursor[0]:cursor[0] + count]:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(insert_order, [order[c] for c in columns])
            fill = fills.get(order["id"])
            if same_writes and fill is not None:
                connection.execute(insert_fill, [fill[c] for c in fill_columns])
                connection.execute("UPDATE accounts SET cash = ?, fees_paid = ? WHERE broker = ?",
                                   (fill["cash_after"], fill["fees"], BROKER))
                connection.execute("UPDATE positions SET quantity = ?, updated_at = ? WHERE symbol = ?",
                                   (fill["quantity"], fill["executed_at"], fill["symbol"]))
            connection.execute("COMMIT")
            done += 1
        cursor[0] += count
        return done

    return batch


def _worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_throughput worker")
    parser.add_argument("kind", choices=["engine", "plain", "plain-same-writes"])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rows", type=Path, help="JSON rows to insert (plain kinds)")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.kind == "engine":
        batch = _engine_batch_runner(args.data_dir)
    else:
        batch = _plain_batch_runner(args.data_dir / f"{BROKER}.db", args.rows, args.worker, args.workers,
                                    same_writes=args.kind == "plain-same-writes")
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "go":
            break
        started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
        done = batch(int(command[1]))
        ended = time.monotonic()
        print(json.dumps({"start": started, "end": ended, "done": done}), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent side


def _run_workers(kind: str, data_dir: Path, workers: int, per_worker: int, batches: int,
                 rows: Path | None = None) -> tuple[list[float], int]:
    """Orders (or rows) per second of all workers together, one sample per batch; and how many succeeded."""
    env = run_env(data_dir)
    processes = []
    try:
        for index in range(workers):
            command = python_module("bench.engine_throughput", "worker", kind, "--data-dir", str(data_dir),
                                    "--worker", str(index), "--workers", str(workers))
            if rows is not None:
                command += ["--rows", str(rows)]
            processes.append(start(command, env, stdin=-1, stdout=-1, text=True, bufsize=1))
        for process in processes:
            _expect_line(process, "ready")
        _batch(processes, WARMUP_ORDERS // workers)
        samples, done = [], 0
        for _ in range(batches):
            results = _batch(processes, per_worker)
            wall = max(r["end"] for r in results) - min(r["start"] for r in results)
            samples.append(workers * per_worker / wall)
            done += sum(r["done"] for r in results)
        for process in processes:
            process.stdin.close()
            process.wait(WORKER_TIMEOUT_S)
        return samples, done
    finally:
        for process in processes:
            stop(process)


def _batch(processes: list, count: int) -> list[dict]:
    for process in processes:
        process.stdin.write(f"go {count}\n")
        process.stdin.flush()
    return [json.loads(_expect_line(process)) for process in processes]


def _expect_line(process, wanted: str | None = None) -> str:
    line = process.stdout.readline().strip()
    if not line or (wanted is not None and line != wanted):
        process.wait(5)
        raise RuntimeError(f"engine worker ended or misbehaved (exit {process.returncode}), said {line!r}")
    return line


def _export_rows(engine_db: Path, rows_file: Path) -> int:
    """The order and fill rows the engine wrote, for the plain inserts to write again."""
    with sqlite3.connect(engine_db) as connection:
        connection.row_factory = sqlite3.Row
        orders = [dict(r) for r in connection.execute("SELECT * FROM orders ORDER BY seq")]
        fills = [dict(r) for r in connection.execute("SELECT * FROM fills WHERE kind = 'trade' ORDER BY seq")]
    rows_file.write_text(json.dumps({"orders": orders, "fills": fills}))
    return len(orders)


def _clone_schema(engine_db: Path, target_dir: Path) -> None:
    """An empty database with the engine's tables, indexes, account and position rows (not timed)."""
    with sqlite3.connect(engine_db) as source:
        ddl = [sql for (sql,) in source.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
        accounts = source.execute("SELECT * FROM accounts").fetchall()
        positions = source.execute("SELECT * FROM positions").fetchall()
    target = _plain_connection_parent(target_dir / f"{BROKER}.db")
    with target:
        for statement in ddl:
            target.execute(statement)
        for row in accounts:
            target.execute(f"INSERT INTO accounts VALUES ({', '.join('?' * len(row))})", row)
        for row in positions:
            target.execute(f"INSERT INTO positions VALUES ({', '.join('?' * len(row))})", row)
    target.close()


def _plain_connection_parent(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def run(config: BenchConfig) -> FigureResult:
    per_batch = config.reps(150, 1000)
    batches = config.reps(3, 7)
    result = FigureResult("engine_throughput")
    scenarios: dict[str, dict] = {}

    one_dir = config.data_dir("engine-1p")
    samples, done = _run_workers("engine", one_dir, 1, per_batch, batches)
    scenarios["engine_1p"] = {"samples": samples, "done": done, "total": per_batch * batches}
    two_dir = config.data_dir("engine-2p")
    samples, done = _run_workers("engine", two_dir, 2, per_batch // 2, batches)
    scenarios["engine_2p"] = {"samples": samples, "done": done, "total": per_batch * batches}

    rows_file = config.workdir / "engine-rows.json"
    exported = _export_rows(one_dir / f"{BROKER}.db", rows_file)
    plain_runs = [("plain_1p", "plain", 1), ("plain_2p", "plain", 2)]
    if not config.quick:
        plain_runs.append(("plain_same_writes_1p", "plain-same-writes", 1))
    for key, kind, workers in plain_runs:
        target = config.data_dir(f"engine-{key}")
        _clone_schema(one_dir / f"{BROKER}.db", target)
        samples, done = _run_workers(kind, target, workers, per_batch // workers, batches, rows_file)
        scenarios[key] = {"samples": samples, "done": done, "total": per_batch * batches}

    summaries = {key: summarize(s["samples"]) for key, s in scenarios.items()}
    for key, summary in summaries.items():
        result.data[f"{key}_per_s"] = round(summary.median, 1)
        result.data[f"{key}_per_s_spread"] = summary.to_json(1)
    result.data["orders_per_batch"] = per_batch
    result.data["filled"] = {key: f"{s['done']}/{s['total']}" for key, s in scenarios.items() if key.startswith("engine")}
    result.data["rows_exported"] = exported
    for processes in ("1p", "2p"):
        engine, plain = summaries[f"engine_{processes}"], summaries[f"plain_{processes}"]
        share = ratio(engine.median, plain.median, 3)
        result.data[f"engine_vs_plain_{processes}"] = share
        label = "one process" if processes == "1p" else "two processes, same db"
        result.rows.append(Row(
            f"engine durable orders/s, SQLite WAL, {label}", engine.text("/s", 0),
            f"plain sqlite3 inserts, same rows: {plain.text('/s', 0)}", f"{share}x plain",
        ))
    if "plain_same_writes_1p" in summaries:
        same = summaries["plain_same_writes_1p"]
        result.data["engine_vs_plain_same_writes_1p"] = ratio(summaries["engine_1p"].median, same.median, 3)
        result.rows.append(Row(
            "  (diagnostic) plain sqlite3, all the engine's writes per order, one process", same.text("/s", 0),
            "", f"engine {result.data['engine_vs_plain_same_writes_1p']}x this",
        ))
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        sys.exit(_worker(sys.argv[2:]))
    sys.exit("usage: python -m bench.engine_throughput worker KIND --data-dir D (started by python -m bench)")
