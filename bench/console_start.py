"""Console: `streamlit run app.py` from the spawn to the first paint, both brokers connected and the first answer,
beside a bare `st.title` app started the same way in the same run; and the first render of each page (AppTest).

Each start is timed step by step in a headless Debian Chromium page opened as soon as the server answers its
health check: the server answering, the page's heading painted, the sidebar reading "TradeSphere connected" and
"VelocityBrokers connected", then (app only) a request typed into the chat until its answer shows. The goals are
ratios to the bare app's paint in the same run (absolute times on a shared 2-CPU machine swing 2-3x): first paint
within 1.25x, both brokers connected within 1.6x. The page renders run under AppTest in a fresh subprocess
(`python -m bench.console_start pages ...`), so the first run is cold: it starts both brokers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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
from bench.stats import summarize

FIGURE = "console: streamlit run -> first paint, brokers connected, first answer; first render per page"
PAINT_GOAL_X, CONNECTED_GOAL_X = 1.25, 1.6
"""First paint and both brokers connected, as multiples of a bare st.title app's paint in the same run."""
TARGET_PAGE_S = 1.5
FIRST_REQUEST = "What's Apple at?"
BROKERS = (("tradesphere", "TradeSphere"), ("velocity", "VelocityBrokers"))
PAGES = ("pages/trade.py", "pages/portfolio.py", "pages/orders.py", "pages/brokers.py", "pages/settings.py")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SUBPROCESS_TIMEOUT_S = 180


def _chromium() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        return None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    return path


def _timed_start(browser, script: Path, data_dir: Path, heading: str, app: bool) -> dict:
    """One start, in seconds from the spawn: serving, heading painted, and for the app both brokers connected and
    the first answer (also timed from the moment the request is sent)."""
    from playwright.sync_api import expect

    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    command = python_module("streamlit", "run", str(script), "--server.headless", "true", "--server.address", LOOPBACK,
                            "--server.port", str(port), "--browser.gatherUsageStats", "false")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    started = time.perf_counter()
    process = start(command, run_env(data_dir))
    steps: dict[str, float] = {}
    try:
        deadline = started + 60
        while True:  # bounded poll of the server's own health endpoint
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                if time.perf_counter() > deadline or process.poll() is not None:
                    raise RuntimeError("streamlit did not answer its health check within 60 s") from None
                time.sleep(0.02)
        steps["serving_s"] = time.perf_counter() - started
        page.goto(url)
        expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible(timeout=60_000)
        steps["paint_s"] = time.perf_counter() - started
        if app:
            sidebar = page.locator("[data-testid=stSidebar]")
            for _, name in BROKERS:
                expect(sidebar.get_by_text(re.compile(rf"{name}\s+connected"))).to_be_visible(timeout=60_000)
            steps["connected_s"] = time.perf_counter() - started
            answers = page.locator("[data-testid=stChatMessage]")
            before = answers.count()
            box = page.locator("[data-testid=stChatInputTextArea]")
            box.fill(FIRST_REQUEST)
            asked = time.perf_counter()
            box.press("Enter")
            expect(answers.nth(before + 1)).to_contain_text(re.compile(r"\$\d"), timeout=60_000)
            steps["first_answer_s"] = time.perf_counter() - started
            steps["answer_after_request_s"] = time.perf_counter() - asked
    finally:
        context.close()
        stop(process)
    return steps


def _cold_starts(chromium: str, config: BenchConfig, reps: int) -> tuple[list[dict], list[dict]]:
    """Alternating bare app and console starts (one process at a time), each on a fresh data dir."""
    from playwright.sync_api import sync_playwright

    bare, console = [], []
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as folder, sync_playwright() as pw:
        hello = Path(folder) / "hello.py"
        hello.write_text('import streamlit as st\n\nst.title("Hello")\n')
        browser = pw.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            for i in range(reps):
                bare.append(_timed_start(browser, hello, config.data_dir(f"console-bare-{i}"), r"^Hello$", app=False))
                console.append(_timed_start(browser, PROJECT_ROOT / "app.py", config.data_dir(f"console-start-{i}"),
                                            r"^\W*Trade\b", app=True))
        finally:
            browser.close()
    return bare, console


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
    from console.services import connections

    connections().wait_ready()  # the first run paints without them; the pages below are timed with them up
    timings["brokers_up"] = time.perf_counter() - started
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
        return not_measured("console_start", FIGURE, f"paint <= {PAINT_GOAL_X}x, connected <= {CONNECTED_GOAL_X}x",
                            "console not available: no app.py")
    reps = config.reps(1, 3)
    result = FigureResult("console_start")
    chromium = _chromium()
    if chromium is None:
        result.rows.append(Row("console cold start", "not measured (no Debian chromium or playwright)",
                               target=f"paint <= {PAINT_GOAL_X}x, connected <= {CONNECTED_GOAL_X}x the bare app",
                               verdict=NOT_MEASURED))
    else:
        bare, console = _cold_starts(chromium, config, reps)
        base = summarize([b["paint_s"] for b in bare])
        steps = {key: summarize([c[key] for c in console]) for key in console[0]}
        # the goals are medians of per-start ratios, each start beside the bare start just before it
        paint_x = summarize([c["paint_s"] / b["paint_s"] for b, c in zip(bare, console, strict=True)]).median
        connected_x = summarize([c["connected_s"] / b["paint_s"] for b, c in zip(bare, console, strict=True)]).median
        result.data.update({
            "bare_app_paint_s": round(base.median, 3), "bare_app_serving_s": round(summarize([b["serving_s"] for b in bare]).median, 3),
            **{key: round(summary.median, 3) for key, summary in steps.items()},
            "paint_vs_bare": round(paint_x, 2), "connected_vs_bare": round(connected_x, 2),
            "starts": {"bare": bare, "console": console},
        })
        bare_text = f"bare st.title app paints in {base.text('s', 2)}"
        result.rows += [
            Row("console start: server answers its health check", steps["serving_s"].text("s", 2),
                f"bare app: {summarize([b['serving_s'] for b in bare]).text('s', 2)}"),
            Row("console start: Trade heading painted", steps["paint_s"].text("s", 2), bare_text, f"{paint_x:.2f}x",
                f"<= {PAINT_GOAL_X}x", verdict(paint_x <= PAINT_GOAL_X)),
            Row("console start: both brokers connected (sidebar)", steps["connected_s"].text("s", 2), bare_text,
                f"{connected_x:.2f}x", f"<= {CONNECTED_GOAL_X}x", verdict(connected_x <= CONNECTED_GOAL_X)),
            Row("console start: first answer shown (from the spawn)", steps["first_answer_s"].text("s", 2)),
            Row(f"  the answer to {FIRST_REQUEST!r} after Enter", steps["answer_after_request_s"].text("s", 2)),
        ]

    renders = [_measure_pages(config.data_dir("console-pages")) for _ in range(reps)]
    cold = summarize([r["cold"] for r in renders])
    result.data["apptest_cold_app_s"] = round(cold.median, 3)
    result.rows.append(Row("  app.py + Trade under AppTest, cold (paints; brokers start behind it)", cold.text("s", 2)))
    up = summarize([r["brokers_up"] for r in renders])
    result.data["apptest_brokers_up_s"] = round(up.median, 3)
    result.rows.append(Row("  ... both brokers up, under AppTest", up.text("s", 2)))
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
