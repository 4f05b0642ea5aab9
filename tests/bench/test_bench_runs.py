"""`python -m bench --quick` still runs: the real entry point, the agent-turn figure (real broker
subprocesses, both patterns) and the parse figure, ending with the JSON line. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_ends_with_json_holding_the_speedup(tmp_path):
    out = tmp_path / "bench-results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "agent_turn", "nl_parse", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    document = json.loads(last)
    assert document == json.loads(out.read_text())
    turn = document["agent_turn"]
    assert isinstance(turn["speedup_vs_seed"], float)
    assert turn["persistent_ms"] > 0 and turn["seed_pattern_ms"] > 0
    assert document["nl_parse"]["requests"] > 100
    assert "agent turn" in run.stdout  # the table came before the JSON line
