"""The reliability suite's figures: what the tests did and what they found, printed as one block after the run
and written as JSON under the pytest cache (or the system temp dir when the cache is off), never into the repo."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from reliability_support import FIGURE_LABELS, FIGURES

FIGURES_FILE = "reliability-figures.json"


def _figures_path(config) -> Path:
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("reliability")) / FIGURES_FILE
    return Path(tempfile.gettempdir()) / FIGURES_FILE


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One 'reliability figures' block: every count the tests added, in the labels' order."""
    if not FIGURES:
        return
    stats = {outcome: len(terminalreporter.stats.get(outcome, [])) for outcome in ("passed", "failed", "error", "skipped")}
    figures = {name: FIGURES.get(name, 0) for name in FIGURE_LABELS}
    width = max(len(label) for label in FIGURE_LABELS.values())
    terminalreporter.section("reliability figures")
    for name, label in FIGURE_LABELS.items():
        terminalreporter.write_line(f"{label:<{width}}  {figures[name]:>8,}")
    tests = ", ".join(f"{n} {outcome}" for outcome, n in stats.items() if n)
    path = _figures_path(config)
    record = {"finished": datetime.now(UTC).isoformat(timespec="seconds"), "exit_status": int(exitstatus),
              "markexpr": config.getoption("markexpr", ""), "tests": stats, "figures": figures, "labels": FIGURE_LABELS}
    try:
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        where = f"; written to {path}"
    except OSError as exc:
        where = f"; not written ({type(exc).__name__})"
    terminalreporter.write_line(f"tests: {tests}{where}")
