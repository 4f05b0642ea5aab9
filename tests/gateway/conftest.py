"""Gateway fixtures: an app per test (keys, audit file, rate limit in its own data dir) with its lifespan
running and an httpx client on it over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gateway_support import TRADE_KEY, Gateway, running


@pytest.fixture
def gateway_env(monkeypatch, tmp_path):
    """Environment for one gateway: the trade key, a keys file with a read and a second trade key, audit file."""
    from gateway.keys import KeyStore

    keys_path, audit_path = tmp_path / "keys.json", tmp_path / "audit.jsonl"
    monkeypatch.setenv("API_KEY", TRADE_KEY)
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(keys_path))
    monkeypatch.setenv("GATEWAY_AUDIT_LOG", str(audit_path))
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "1000/minute")
    store = KeyStore(keys_path)
    read_key = store.create("reader", "read")
    desk_key = store.create("desk", "trade")
    return {"read_key": read_key, "desk_key": desk_key, "keys_path": keys_path, "audit_path": audit_path}


@pytest.fixture
async def gateway(gateway_env) -> AsyncIterator[Gateway]:
    from gateway.app import create_app

    app = create_app()
    async with running(app) as client:
        yield Gateway(app, client, gateway_env["read_key"], gateway_env["desk_key"], gateway_env["audit_path"],
                      gateway_env["keys_path"])
