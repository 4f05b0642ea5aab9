"""Alpaca broker fixtures: the fake Alpaca on 127.0.0.1, a profile pointing at it, and engines on it."""

from __future__ import annotations

import pytest
from alpaca_fake import FAST, KEY_ID, SECRET, FakeAlpaca, FakeAlpacaServer
from pydantic import SecretStr

from brokers.alpaca.client import AlpacaClient
from brokers.alpaca.config import AlpacaKeys
from brokers.alpaca.engine import AlpacaEngine
from brokers.persistence import BrokerDatabase
from brokers.profiles import AlpacaProfile, RiskLimits
from brokers.symbols import get_directory


@pytest.fixture(autouse=True)
def no_alpaca_keys(monkeypatch):
    """No test sees a real key: the environment's are removed and keyring answers nothing unless a test sets one."""
    import keyring
    from keyring.backends.null import Keyring

    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TRADING_QUOTES"):
        monkeypatch.delenv(name, raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture(scope="module")
def alpaca_server():
    with FakeAlpacaServer(FakeAlpaca()) as server:
        yield server


@pytest.fixture
def fake(alpaca_server) -> FakeAlpaca:
    """The fake's state, fresh for each test (the server keeps running)."""
    state = FakeAlpaca()
    alpaca_server.fake.__dict__.update(state.__dict__)
    return alpaca_server.fake


@pytest.fixture
def keys() -> AlpacaKeys:
    return AlpacaKeys(SecretStr(KEY_ID), SecretStr(SECRET), "environment")


@pytest.fixture
def profile(alpaca_server) -> AlpacaProfile:
    return AlpacaProfile(id="alpaca", kind="alpaca", name="Alpaca (paper)", base_url=alpaca_server.url,
                         data_url=alpaca_server.url, fill_wait_ms=0)


@pytest.fixture
def alpaca_engine(tmp_path, profile, keys, fake):
    """engine(limits=None, problem=None) -> an AlpacaEngine on the fake, its safety state in a tmp database."""
    opened = []

    def open_engine(limits: RiskLimits | None = None, problem: str | None = None) -> AlpacaEngine:
        database = BrokerDatabase(f"sqlite:///{tmp_path / 'alpaca'}.db", profile.id)
        opened.append(database)
        return AlpacaEngine(profile, database, directory=get_directory(), limits=limits, keys=keys, problem=problem,
                            client=AlpacaClient(profile, keys, FAST))

    yield open_engine
    for database in opened:
        database.dispose()
