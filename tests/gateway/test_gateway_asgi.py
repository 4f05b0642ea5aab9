"""The gateway over ASGI: public routes, 401, 403 on a read key's order tool call, 429, audit, keys CLI."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TRADE_KEY = "trade-key-for-tests-0123456789"
PLACE = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "place_order", "arguments": {"symbol": "AAPL", "side": "buy", "quantity": "1"}}}


@pytest.fixture
def gateway(monkeypatch, tmp_path):
    monkeypatch.setenv("API_KEY", TRADE_KEY)
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "5/minute")
    from gateway.app import create_app
    from gateway.keys import KeyStore

    read_key = KeyStore(tmp_path / "keys.json").create("reader", "read")
    app = create_app()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"), read_key


async def test_public_routes_are_open(gateway):
    """/, /brokers, /health and the OpenAPI docs need no key."""
    client, _ = gateway
    root = (await client.get("/")).json()
    assert root["brokers"] == 2 and root["version"]
    names = {b["name"] for b in (await client.get("/brokers")).json()}
    assert names == {"TradeSphere", "VelocityBrokers"}
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["brokers"] == {"tradesphere": "ok", "velocity": "ok"}
    assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("path", ["/tradesphere/sse", "/velocity/sse", "/tradesphere/mcp", "/velocity/mcp"])
async def test_missing_or_unknown_key_is_401(gateway, path):
    """Every broker route on both transports refuses a request without a valid key."""
    client, _ = gateway
    assert (await client.post(path, json=PLACE)).status_code == 401
    assert (await client.post(path, json=PLACE, headers={"X-API-Key": "wrong"})).status_code == 401
    response = await client.post(path, json=PLACE, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and "wrong" not in response.text


@pytest.mark.parametrize("path", ["/tradesphere/mcp", "/velocity/messages/?session_id=abc"])
async def test_read_key_calling_an_order_tool_is_403(gateway, path, caplog):
    """A read-scope key may not call place_order, on either transport; the check reads the MCP call itself."""
    client, read_key = gateway
    response = await client.post(path, json=PLACE, headers={"X-API-Key": read_key})
    assert response.status_code == 403 and "trade scope" in response.text
    assert read_key not in response.text


async def test_rate_limit_gives_429_with_retry_after(gateway):
    """Past the per-key limit the gateway answers 429 with Retry-After and X-RateLimit headers."""
    client, read_key = gateway
    statuses = []
    for _ in range(7):
        response = await client.post("/tradesphere/messages/?session_id=0", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                     headers={"X-API-Key": read_key})
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert int(response.headers["retry-after"]) >= 1 and response.headers["x-ratelimit-remaining"] == "0"


async def test_order_tool_call_is_audited_without_the_key(gateway, caplog):
    """An order tool call writes one JSON audit line naming the key, never containing it."""
    client, _ = gateway
    caplog.set_level(logging.INFO, logger="gateway.audit")
    await client.post("/velocity/messages/?session_id=00000000000000000000000000000000", json=PLACE,
                      headers={"X-API-Key": TRADE_KEY})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.audit"]
    assert lines and lines[0]["key"] == "env:API_KEY" and lines[0]["tool"] == "place_order" and lines[0]["broker"] == "velocity"
    assert TRADE_KEY not in caplog.text


async def test_no_key_configured_refuses_broker_routes(monkeypatch, tmp_path):
    """Without any key configured, broker routes refuse instead of opening."""
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(tmp_path / "none.json"))
    from gateway.app import create_app

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://127.0.0.1:8000")
    assert (await client.post("/tradesphere/mcp", json=PLACE, headers={"X-API-Key": "anything"})).status_code == 503


def test_keys_cli_create_list_revoke(tmp_path, monkeypatch):
    """keys create prints a key once and stores only its hash; list names it; revoke removes it."""
    env = {"GATEWAY_KEYS_FILE": str(tmp_path / "keys.json"), "PATH": "/usr/bin:/bin"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "gateway", "keys", *args], cwd=ROOT, env=env, capture_output=True, text=True)

    created = cli("create", "--name", "ci", "--scope", "trade")
    key = created.stdout.strip()
    assert created.returncode == 0 and key.startswith("tk_")
    assert key not in (tmp_path / "keys.json").read_text()
    assert "ci\ttrade" in cli("list").stdout
    assert cli("revoke", "ci").returncode == 0
    from gateway.keys import KeyStore

    assert KeyStore(tmp_path / "keys.json").authenticate(key) is None
