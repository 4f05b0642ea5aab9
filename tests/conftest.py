"""Shared fixtures: every test gets its own data dir and, unless it says otherwise, a frozen open market."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OPEN = "2026-11-24T10:30:00-05:00"  # Tuesday, NYSE open
CLOSED = "2026-11-24T20:00:00-05:00"  # Tuesday evening
NEXT_OPEN = "2026-11-25T09:30:00-05:00"
HOLIDAY = "2026-11-26T11:00:00-05:00"  # Thanksgiving
EARLY_CLOSE_DAY = "2026-11-27T12:00:00-05:00"  # the day after Thanksgiving closes at 13:00


@pytest.fixture(autouse=True)
def trading_env(tmp_path, monkeypatch):
    """A fresh TRADING_DATA_DIR and a frozen open clock; tests change TRADING_NOW as they need."""
    monkeypatch.setenv("TRADING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRADING_NOW", OPEN)
    for name in ("TRADING_DATABASE_URL", "TRADING_MAX_ORDER_NOTIONAL", "TRADING_READ_ONLY", "TRADING_SYMBOL_ALLOWLIST",
                 "TRADING_PROFILES", "OPENAI_API_KEY", "OPENAI_BASE_URL", "API_KEY", "TRADING_API_KEY", "TRADING_GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"
