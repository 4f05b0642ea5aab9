"""Shared fixtures: every test gets its own data dir and, unless it says otherwise, a frozen open market."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from market_times import CLOSED, EARLY_CLOSE_DAY, HOLIDAY, NEXT_OPEN, OPEN  # noqa: E402,F401  (re-exported)


@pytest.fixture(autouse=True)
def trading_env(tmp_path, monkeypatch):
    """A fresh TRADING_DATA_DIR and a frozen open clock; tests change TRADING_NOW as they need."""
    monkeypatch.setenv("TRADING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRADING_NOW", OPEN)
    # Tests of everything but confirmation play the console, which asks the person itself; the confirmation tests
    # set TRADING_CONFIRM_ORDERS (or pass confirm_orders) themselves.
    monkeypatch.setenv("TRADING_CONFIRM_ORDERS", "off")
    for name in ("TRADING_DATABASE_URL", "TRADING_MAX_ORDER_NOTIONAL", "TRADING_READ_ONLY", "TRADING_SYMBOL_ALLOWLIST",
                 "TRADING_PROFILES", "OPENAI_API_KEY", "OPENAI_BASE_URL", "API_KEY", "TRADING_API_KEY", "TRADING_GATEWAY_URL",
                 # no test reaches Alpaca with a developer's own keys, nor prices the simulated brokers from it
                 "TRADING_QUOTES", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"
