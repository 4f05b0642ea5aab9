"""Memory: resident size of the console with both brokers after 1,000 orders, against after start.

The console (app.py) runs under AppTest in its own subprocess (`python -m bench.memory measure ...`):
the same process model as `streamlit run` (the page scripts, the cached BrokerConnections with its two
broker subprocesses, session state), without a browser. Autonomous mode is saved in the console's
settings so each chat message places its order in one rerun; a new chat is started every 50 orders,
as a person would. Resident size is read from /proc for the console process and its subprocesses.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys

from bench.environment import PROJECT_ROOT, BenchConfig, python_module, run_env, run_json
from bench.report import FigureResult, Row, not_measured, verdict

TARGET_GROWTH_MB = 50
REQUESTS = ("buy 1 AAPL on velocity", "sell 1 AAPL on velocity", "buy 1 AAPL on tradesphere", "sell 1 AAPL on tradesphere")
MEASURE_TIMEOUT_S = 900
ORDERS_PER_CHAT = 50


def rss_mb(pid: int) -> float:
    """Resident set size of one process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every live child, grandchild, ... of pid."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
            except FileNotFoundError:
                continue
            found.extend(kids)
            queue.extend(kids)
    return found


def snapshot(pid: int) -> dict:
    """RSS of the process, of its subprocesses, and the total, in MB."""
    own = rss_mb(pid)
    children = {}
    for child in descendants(pid):
        with contextlib.suppress(FileNotFoundError):
            children[child] = rss_mb(child)
    return {"process_mb": round(own, 1), "brokers_mb": round(sum(children.values()), 1),
            "total_mb": round(own + sum(children.values()), 1), "subprocesses": len(children)}


def _measure(orders: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from console import services

    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    try:
        app.run()
        if app.exception:
            raise RuntimeError(f"app.py raised under AppTest: {app.exception}")
        gc.collect()
        after_start = snapshot(os.getpid())
        placed = 0
        for i in range(orders):
            if i and i % ORDERS_PER_CHAT == 0:
                next(b for b in app.button if b.label == "New chat").click().run()
            app.chat_input[0].set_value(REQUESTS[i % len(REQUESTS)]).run()
            if app.exception:
                raise RuntimeError(f"order {i} raised under AppTest: {app.exception}")
            placed += app.session_state["messages"][-1]["content"].startswith(("Bought", "Sold"))
        gc.collect()
        after_orders = snapshot(os.getpid())
    finally:
        for close in services._CLOSERS:
            close()
    return {"after_start": after_start, "after_orders": after_orders, "orders": orders, "placed": placed}


def run(config: BenchConfig) -> FigureResult:
    orders = config.reps(100, 1000)
    figure = f"memory: console + both brokers after {orders:,} orders vs after start"
    target = f"grows < {TARGET_GROWTH_MB} MB"
    if not (PROJECT_ROOT / "app.py").exists():
        return not_measured("memory", figure, target, "console not available: no app.py")
    data_dir = config.data_dir("memory")
    (data_dir / "console_settings.json").write_text(json.dumps({"autonomous": True}))
    try:
        measured = run_json(python_module("bench.memory", "measure", "--orders", str(orders)), run_env(data_dir),
                            MEASURE_TIMEOUT_S, "measuring process")
    except subprocess.TimeoutExpired:
        return not_measured("memory", figure, target, f"did not finish in {MEASURE_TIMEOUT_S} s")
    except RuntimeError as exc:
        return not_measured("memory", figure, target, str(exc))
    start_, end = measured["after_start"], measured["after_orders"]
    growth = round(end["total_mb"] - start_["total_mb"], 1)
    result = FigureResult("memory", data={
        "subject": "console app.py under AppTest, autonomous, new chat every 50 orders",
        "orders": orders,
        "placed": measured["placed"],
        "after_start_mb": start_["total_mb"],
        "after_orders_mb": end["total_mb"],
        "growth_mb": growth,
        "process_growth_mb": round(end["process_mb"] - start_["process_mb"], 1),
        "brokers_growth_mb": round(end["brokers_mb"] - start_["brokers_mb"], 1),
        "detail": measured,
    })
    result.rows.append(Row(
        figure, f"{end['total_mb']:.0f} MB (+{growth} MB: console {result.data['process_growth_mb']:+}, "
        f"brokers {result.data['brokers_growth_mb']:+})", f"after start: {start_['total_mb']:.0f} MB", "",
        target, verdict(growth < TARGET_GROWTH_MB),
    ))
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("command", choices=["measure"])
    parser.add_argument("--orders", type=int, default=1000)
    args = parser.parse_args(argv)
    print(json.dumps(_measure(args.orders)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
