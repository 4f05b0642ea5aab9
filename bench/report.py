"""What a figure hands back (table rows and JSON) and how the table is printed."""

from __future__ import annotations

from dataclasses import dataclass, field

MET, MISSED, NOT_MEASURED, SKIPPED, INFO = "met", "MISSED", "not measured", "skipped", "-"


@dataclass
class Row:
    """One line of the printed table."""

    figure: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = INFO
    """met, MISSED, not measured, or - (no target)."""


@dataclass
class FigureResult:
    """One figure: its table rows and its part of the JSON object."""

    key: str
    """The JSON key, e.g. "agent_turn"."""
    rows: list[Row] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def verdict(ok: bool | None) -> str:
    return NOT_MEASURED if ok is None else (MET if ok else MISSED)


def not_measured(key: str, figure: str, target: str, reason: str) -> FigureResult:
    """A figure whose subject does not exist (yet) or could not run: said in the table and the JSON."""
    return FigureResult(key, [Row(figure, f"not measured ({reason})", target=target, verdict=NOT_MEASURED)],
                        {"measured": False, "reason": reason})


def skipped(key: str, what: str) -> FigureResult:
    """A figure --quick leaves out (it runs without --quick)."""
    return FigureResult(key, [Row(what, "skipped in --quick (run python -m bench)", verdict=SKIPPED)],
                        {"measured": False, "reason": "skipped in --quick"})


COLUMNS = (("figure", 44), ("measured", 44), ("baseline (same run)", 40), ("ratio", 14), ("target", 26), ("verdict", 12))


def table(results: list[FigureResult]) -> str:
    """A plain-text table, one row per measured line, wrapped cells kept in their column."""
    header = " | ".join(name.ljust(width) for name, width in COLUMNS)
    lines = [header, "-+-".join("-" * width for _, width in COLUMNS)]
    for result in results:
        for row in result.rows:
            cells = [row.figure, row.measured, row.baseline, row.ratio, row.target, row.verdict]
            wrapped = [_wrap(cell, width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)]
            for i in range(max(len(w) for w in wrapped)):
                lines.append(" | ".join((w[i] if i < len(w) else "").ljust(width)
                                        for w, (_, width) in zip(wrapped, COLUMNS, strict=True)).rstrip())
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines
