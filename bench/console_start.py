"""Console: `streamlit run app.py` until a browser shows both brokers connected, and the first render of
each page (AppTest), against two sequential broker server spawns (spawn + MCP initialize, one after
the other: what a console that connects its brokers one by one would wait for).

The cold start is timed from spawning streamlit to the sidebar of a headless Debian Chromium page
(opened as soon as the server answers its health check) reading "TradeSphere connected" and
"VelocityBrokers connected": what a person who runs the command and opens the page waits for. The
page renders run under AppTest in a fresh subprocess (`python -m bench.console_start pages ...`),
so the first run is cold: it starts both brokers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import sys
import time
import urllib.request
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bench.environment import (
    LOOPBACK,
    PROJECT_ROOT,
    BenchConfig,
    free_port,
    python_module,
    run_env,
    run_json,
    start,
    stop,
)
from bench.report import NOT_MEASURED, FigureResult, Row, not_measured, verdict
from bench.stats import ratio, summarize

FIGURE = "console: streamlit run -> both brokers connected; first render per page"
TARGET_START_S, TARGET_PAGE_S = 3.0, 1.5
BROKERS = (("tradesphere", "TradeSphere"), ("velocity", "VelocityBrokers"))
PAGES = ("pages/trade.py", "pages/portfolio.py", "pages/orders.py", "pages/brokers.py", "pages/settings.py")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SUBPROCESS_TIMEOUT_S = 180


async def _spawn_sequentially(env: dict[str, str]) -> float:
    """Seconds until both brokers, spawned one after the other, have answered `initialize`."""
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        for broker, _ in BROKERS:
            params = StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", broker], env=env,
                                           cwd=str(PROJECT_ROOT))
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
        return time.perf_counter() - started


def _chromium() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        return None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    return path


def _cold_start(chromium: str, data_dir: Path) -> dict:
    """streamlit run -> health check answers -> page shows both brokers connected, in seconds from the spawn."""
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    command = python_module("streamlit", "run", "app.py", "--server.headless", "true", "--server.address", LOOPBACK,
                            "--server.port", str(port), "--browser.gatherUsageStats", "false")
    process = None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            process = start(command, run_env(data_dir))
            deadline = started + 60
            while True:  # bounded poll of the server's own health endpoint
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                    break
                except OSError:
                    if time.perf_counter() > deadline or process.poll() is not None:
                        raise RuntimeError("streamlit did not answer its health check within 60 s") from None
                    time.sleep(0.02)
            serving = time.perf_counter() - started
            page.goto(url)
            for _, name in BROKERS:
                expect(page.locator("p", has_text=re.compile(rf"{name}\s+connected")).first).to_be_visible(timeout=60_000)
            connected = time.perf_counter() - started
        finally:
            browser.close()
            stop(process)
    return {"serving_s": serving, "connected_s": connected}


def _page_renders(data_dir: Path) -> dict:
    """In this (fresh) process: app.py cold, then each page's first render, in seconds."""
    from streamlit.testing.v1 import AppTest

    timings: dict[str, float] = {}
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    started = time.perf_counter()
    at.run()
    timings["cold"] = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"app.py raised under AppTest: {at.exception}")
    for page in PAGES:
        started = time.perf_counter()
        at.switch_page(page).run()
        timings[page] = time.perf_counter() - started
        if at.exception:
            raise RuntimeError(f"{page} raised under AppTest: {at.exception}")
    return timings


def _measure_pages(data_dir: Path) -> dict:
    return run_json(python_module("bench.console_start", "pages", "--data-dir", str(data_dir)), run_env(data_dir),
                    SUBPROCESS_TIMEOUT_S, "AppTest page renders")


def run(config: BenchConfig) -> FigureResult:
    if not (PROJECT_ROOT / "app.py").exists():
        return not_measured("console_start", FIGURE, f"< {TARGET_START_S:g} s; < {TARGET_PAGE_S:g} s per page",
                            "console not available: no app.py")
    reps = config.reps(1, 3)
    result = FigureResult("console_start")
    spawns = [asyncio.run(_spawn_sequentially(run_env(config.data_dir("console-spawns")))) for _ in range(reps)]
    baseline = summarize(spawns)
    result.data["two_sequential_spawns_s"] = round(baseline.median, 3)
    result.data["two_sequential_spawns_s_spread"] = baseline.to_json(3)

    chromium = _chromium()
    if chromium is None:
        result.rows.append(Row("console cold start: streamlit run -> both brokers connected",
                               "not measured (no Debian chromium or playwright)", baseline.text("s", 2),
                               target=f"< {TARGET_START_S:g} s", verdict=NOT_MEASURED))
    else:
        starts = [_cold_start(chromium, config.data_dir("console-start")) for _ in range(reps)]
        connected, serving = summarize([s["connected_s"] for s in starts]), summarize([s["serving_s"] for s in starts])
        result.data.update({
            "cold_start_s": round(connected.median, 3), "cold_start_s_spread": connected.to_json(3),
            "streamlit_serving_s": round(serving.median, 3),
            "cold_start_vs_two_spawns": ratio(connected.median, baseline.median),
        })
        result.rows.append(Row(
            "console cold start: streamlit run -> browser shows both brokers connected", connected.text("s", 2),
            f"two sequential broker spawns: {baseline.text('s', 2)}", f"{result.data['cold_start_vs_two_spawns']}x",
            f"< {TARGET_START_S:g} s", verdict(connected.median < TARGET_START_S),
        ))

    renders = [_measure_pages(config.data_dir("console-pages")) for _ in range(reps)]
    cold = summarize([r["cold"] for r in renders])
    result.data["apptest_cold_app_s"] = round(cold.median, 3)
    result.rows.append(Row("  app.py + Trade under AppTest, cold (starts both brokers)", cold.text("s", 2),
                           f"two sequential spawns: {baseline.median:.2f} s"))
    pages = {}
    for page in PAGES:
        summary = summarize([r[page] for r in renders])
        pages[page] = round(summary.median, 3)
        result.rows.append(Row(f"  first render of {page} (AppTest, brokers up)", summary.text("s", 3),
                               target=f"< {TARGET_PAGE_S:g} s", verdict=verdict(summary.median < TARGET_PAGE_S)))
    result.data["page_first_render_s"] = pages
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console_start")
    parser.add_argument("command", choices=["pages"])
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(_page_renders(args.data_dir)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
