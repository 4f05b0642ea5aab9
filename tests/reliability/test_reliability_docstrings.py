"""The suite documents itself: every reliability test says, in a one-line docstring, which promise it checks."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_every_reliability_test_states_its_promise_in_one_line():
    """Every test function in tests/reliability has a docstring of exactly one line."""
    missing = []
    for module in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                docstring = ast.get_docstring(node)
                if not docstring or "\n" in docstring.strip():
                    missing.append(f"{module.name}::{node.name}: {docstring!r:.60}")
    assert not missing, "\n".join(missing)
