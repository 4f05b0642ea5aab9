"""`python -m bench [--quick] [--out bench-results.json] [--only FIGURE ...]`, `python -m bench nl [...]` (the language corpus): every figure side by side with its
baseline in one run; a table on stdout, then the JSON object (also written to --out) as the last line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import agent_turn, console_start, engine_throughput, gateway_load, memory, nl_parse, tool_roundtrip
from bench.environment import BenchConfig
from bench.report import FigureResult, not_measured, skipped, table

FIGURES: dict[str, tuple[Callable[[BenchConfig], FigureResult], str, bool]] = {
    # key: (run, what it measures, part of --quick)
    "agent_turn": (agent_turn.run, "agent turn vs the seed's pattern", True),
    "tool_roundtrip": (tool_roundtrip.run, "tool round trip vs a bare MCP server", True),
    "engine_throughput": (engine_throughput.run, "engine orders/s vs plain sqlite3", True),
    "gateway_load": (gateway_load.run, "gateway calls/s with and without auth", True),
    "nl_parse": (nl_parse.run, "offline model parse time", True),
    "console_start": (console_start.run, "console cold start and first page renders", False),
    "memory": (memory.run, "memory growth after orders", False),
}
"""--quick skips the two slowest figures (a browser and streamlit per start; a thousand orders)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["nl"]:
        from bench import nl_corpus

        return nl_corpus.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: the whole run in under a minute")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"), help="where the JSON goes")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="FIGURE",
                        help=f"run only these figures: {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    started = time.perf_counter()
    results: list[FigureResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        config = BenchConfig(quick=args.quick, workdir=Path(workdir))
        for key in args.only or FIGURES:
            run, what, quick = FIGURES[key]
            if args.quick and not quick and not args.only:
                results.append(skipped(key, what))
                continue
            print(f"measuring {what} ...", file=sys.stderr, flush=True)
            figure_started = time.perf_counter()
            try:
                result = run(config)
            except Exception as exc:  # one broken figure must not hide the others
                traceback.print_exc(file=sys.stderr)
                result = not_measured(key, key.replace("_", " "), "", f"failed: {type(exc).__name__}: {exc}"[:200])
            result.data["seconds"] = round(time.perf_counter() - figure_started, 1)
            results.append(result)

    document = {key: value for result in results for key, value in [(result.key, result.data)]}
    document["run"] = {"quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
                       "python": sys.version.split()[0]}
    line = json.dumps(document, separators=(",", ":"))
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(table(results))
    print(f"\nJSON written to {args.out}; the same object is the next line.")
    print(line, flush=True)
    failed = [r.key for r in results if r.data.get("reason", "").startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
