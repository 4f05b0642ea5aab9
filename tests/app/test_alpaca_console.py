"""The console with an Alpaca paper broker beside the simulated ones (TRADING_PROFILES with a `kind = "alpaca"`
entry): its own card on the Brokers page, its dashboard on Portfolio, and "not configured" without keys while the
simulated brokers work as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from alpaca_fake import KEY_ID, SECRET, FakeAlpaca, FakeAlpacaServer
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def fresh_connections(close_connections, monkeypatch):
    """Each test starts its own brokers and ends them; no real Alpaca key or keyring is ever read."""
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TRADING_QUOTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")  # the broker subprocesses'
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def texts(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "value", "")) for kind in ("markdown", "caption", "info", "warning", "error", "metric")
                     for e in getattr(at, kind, []))


def profiles(tmp_path: Path, url: str | None = None) -> str:
    extra = f'base_url = "{url}"\ndata_url = "{url}"\n' if url else ""
    path = tmp_path / "profiles.toml"
    path.write_text((ROOT / "brokers" / "profiles.toml").read_text()
                    + f'\n[[broker]]\nid = "alpaca"\nkind = "alpaca"\nname = "Alpaca (paper)"\n{extra}')
    return str(path)


def test_without_keys_the_alpaca_card_says_not_configured_and_the_others_trade(tmp_path, monkeypatch,
                                                                              memory_keyring):
    monkeypatch.setenv("TRADING_PROFILES", profiles(tmp_path))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("pages/brokers.py").run()
    assert not at.exception
    shown = texts(at)
    assert "Alpaca (paper)" in shown and "Paper account at Alpaca" in shown
    assert "not configured: no Alpaca API keys" in shown and "TradeSphere" in shown and "VelocityBrokers" in shown
    at.switch_page("pages/portfolio.py").run()
    assert not at.exception and "not configured" in texts(at)


def test_with_keys_the_alpaca_dashboard_shows_alpacas_account(tmp_path, monkeypatch, memory_keyring):
    with FakeAlpacaServer(FakeAlpaca()) as server:
        monkeypatch.setenv("TRADING_PROFILES", profiles(tmp_path, server.url))
        monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
        monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
        at = AppTest.from_file(APP, default_timeout=90).run()
        at.switch_page("pages/brokers.py").run()
        assert not at.exception
        shown = texts(at)
        assert "Paper account at Alpaca" in shown and "not configured" not in shown
        at.switch_page("pages/portfolio.py").run()
        assert not at.exception and "$25,000.00" in texts(at)
        assert server.fake.seen("GET", "/v2/account")
