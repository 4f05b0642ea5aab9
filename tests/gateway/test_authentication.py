"""401 for a missing or unknown key on every broker route and transport; the key from X-API-Key or
Authorization: Bearer; no key configured -> the broker routes refuse and the log says how to open them;
a placeholder API_KEY is refused without being echoed; a revoked key gets 401 at once."""

from __future__ import annotations

import logging

import pytest
from gateway_support import MCP_HEADERS, ORDER, TRADE_KEY, answers, call, running

ROUTES = [("GET", "/tradesphere/sse"), ("GET", "/velocity/sse"), ("POST", "/tradesphere/mcp"), ("POST", "/velocity/mcp"),
          ("POST", "/tradesphere/messages/?session_id=" + "0" * 32), ("POST", "/velocity/messages/?session_id=" + "0" * 32)]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic " + TRADE_KEY}, {"X-API-Key": ""}],
                         ids=["none", "unknown-x-api-key", "unknown-bearer", "basic-scheme", "empty"])
async def test_missing_or_unknown_key_is_401(gateway, method, path, headers):
    response = await gateway.client.request(method, path, json=call("place_order", ORDER), headers={**MCP_HEADERS, **headers})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "wrong" not in response.text and TRADE_KEY not in response.text
    assert gateway.audit_lines() == []  # nothing reached a broker


@pytest.mark.parametrize("header", ["X-API-Key", "Authorization"])
async def test_a_known_key_is_accepted_from_either_header(gateway, header):
    value = TRADE_KEY if header == "X-API-Key" else f"bearer {TRADE_KEY}"
    response = await gateway.client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, header: value})
    assert response.status_code == 200
    assert answers(response)[0]["result"]["structuredContent"]["cash"] == "100000.00"


async def test_no_key_configured_refuses_broker_routes_and_logs_how_to_create_one(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(tmp_path / "none.json"))
    from gateway.app import create_app

    caplog.set_level(logging.INFO)
    async with running(create_app()) as client:
        for method, path in ROUTES:
            response = await client.request(method, path, json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": "anything"})
            assert response.status_code == 503 and "no API key is configured" in response.json()["error"]["message"]
    assert "python -m gateway keys create --name NAME --scope trade" in caplog.text
    assert "API_KEY" in caplog.text


async def test_a_key_created_while_running_opens_the_routes_and_revoking_it_closes_them(monkeypatch, tmp_path):
    """The keys file is re-read when it changes: no restart to add or revoke a key."""
    keys_path = tmp_path / "keys.json"
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(keys_path))
    from gateway.app import create_app
    from gateway.keys import KeyStore

    async with running(create_app()) as client:
        async def status(key):
            response = await client.post("/tradesphere/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": key})
            return response.status_code

        store = KeyStore(keys_path)
        key = store.create("late", "read")
        assert await status(key) == 200
        assert store.revoke("late")
        other = store.create("other", "read")  # the routes stay open for the other key
        assert await status(key) == 401
        assert await status(other) == 200


@pytest.mark.parametrize("value", ["changeme", "your-api-key", "short-key-123"])
def test_a_placeholder_or_short_api_key_is_refused_without_echoing_it(monkeypatch, value):
    from pydantic import ValidationError

    from gateway.settings import GatewaySettings

    monkeypatch.setenv("API_KEY", value)
    with pytest.raises(ValidationError) as refused:
        GatewaySettings()
    assert "API_KEY" in str(refused.value) and value not in str(refused.value)


def test_keys_are_stored_as_hashes_compared_by_digest(tmp_path):
    from gateway.keys import KeyStore, Scope

    store = KeyStore(tmp_path / "keys.json", env_key=TRADE_KEY)
    key = store.create("alice", Scope.READ)
    assert key.startswith("tk_") and len(key) > 40
    record = store.authenticate(key)
    assert record.name == "alice" and record.scope is Scope.READ and not record.can_trade
    assert key not in (tmp_path / "keys.json").read_text() and record.sha256 in (tmp_path / "keys.json").read_text()
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert store.authenticate(TRADE_KEY).name == "env:API_KEY" and store.authenticate(TRADE_KEY).can_trade
    assert store.authenticate(key[:-1]) is None and store.authenticate("") is None and store.authenticate(None) is None
