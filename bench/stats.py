"""Summaries of repeated measurements: the median with its spread, and ratios between medians."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

PERCENTILE_SPREAD_MIN_SAMPLES = 10
"""With fewer samples than this the spread is min-max (percentiles of 3 numbers mean nothing)."""


@dataclass(frozen=True)
class Summary:
    """A median over repeated runs and the spread around it."""

    median: float
    low: float
    """p10, or the minimum with few samples."""
    high: float
    """p90, or the maximum with few samples."""
    n: int
    spread: str
    """"p10-p90" or "min-max": what `low` and `high` are."""

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (seconds -> milliseconds, ...)."""
        return Summary(self.median * factor, self.low * factor, self.high * factor, self.n, self.spread)

    def to_json(self, digits: int = 3) -> dict:
        return {"median": round(self.median, digits), "low": round(self.low, digits),
                "high": round(self.high, digits), "n": self.n, "spread": self.spread}

    def text(self, unit: str = "", digits: int = 1) -> str:
        """'12.3 ms (p10-p90 11.9-13.0, n=20)'."""
        sep = " " if unit and not unit.startswith("/") else ""
        return (f"{self.median:,.{digits}f}{sep}{unit} ({self.spread} {self.low:,.{digits}f}-{self.high:,.{digits}f}, "
                f"n={self.n})")


def summarize(samples: Sequence[float]) -> Summary:
    """Median and spread of `samples` (at least one)."""
    if not samples:
        raise ValueError("no samples to summarize")
    ordered = sorted(samples)
    if len(ordered) >= PERCENTILE_SPREAD_MIN_SAMPLES:
        deciles = statistics.quantiles(ordered, n=10, method="inclusive")
        return Summary(statistics.median(ordered), deciles[0], deciles[-1], len(ordered), "p10-p90")
    return Summary(statistics.median(ordered), ordered[0], ordered[-1], len(ordered), "min-max")


def percentile(samples: Sequence[float], pct: float) -> float:
    """The pct-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * pct / 100
    below = int(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def ratio(numerator: float, denominator: float, digits: int = 2) -> float | None:
    """numerator / denominator rounded, or None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, digits)
