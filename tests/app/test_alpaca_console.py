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


def test_settings_store_the_alpaca_keys_where_the_broker_reads_them(memory_keyring):
    from brokers.alpaca.config import find_keys

    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("pages/settings.py").run()
    for name, value in (("alpaca_key_id", KEY_ID), ("alpaca_secret_key", SECRET)):
        at.text_input(key=f"input-{name}-0").input(value)
        at.button(key=f"store-{name}").click().run()
    assert not at.exception
    keys = find_keys({})  # what `python -m brokers serve alpaca` finds without APCA_* in its environment
    assert (keys.source, keys.key_id.get_secret_value(), keys.secret_key.get_secret_value()) == ("keyring", KEY_ID, SECRET)
    at.switch_page("pages/settings.py").run()
    assert SECRET not in texts(at) and all(getattr(w, "value", None) != SECRET for w in at.text_input)


def test_without_a_keyring_the_alpaca_keys_are_not_kept_where_the_broker_cannot_see_them():
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    from console.keys import read_secret, store_secret

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        where = store_secret("alpaca_secret_key", SECRET)
        assert where.startswith("nowhere") and "APCA_API_SECRET_KEY" in where
        assert read_secret("alpaca_secret_key") == (None, "not set")
    finally:
        keyring.set_keyring(previous)
