"""Public routes need no key: /, /brokers, /health (503 when a database is unreachable), the OpenAPI docs;
a schema-driven fuzzer (schemathesis) finds no 5xx on them."""

from __future__ import annotations

import pytest
import schemathesis
from gateway_support import running
from hypothesis import HealthCheck, settings
from sqlalchemy.exc import OperationalError


async def test_root_brokers_health_and_docs_are_open(gateway):
    client = gateway.client
    root = await client.get("/")
    assert root.status_code == 200 and root.json() == {"service": "trading-gateway", "version": "0.1.0",
                                                       "brokers": 2, "docs": "/docs"}
    brokers = {b["id"]: b for b in (await client.get("/brokers")).json()}
    assert set(brokers) == {"tradesphere", "velocity"}
    assert brokers["tradesphere"]["name"] == "TradeSphere" and brokers["tradesphere"]["fee_schedule"]
    assert brokers["velocity"]["fill_latency_ms"] < brokers["tradesphere"]["fill_latency_ms"]
    assert brokers["velocity"]["sse"] == "/velocity/sse" and brokers["velocity"]["streamable_http"] == "/velocity/mcp"
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "brokers": {"tradesphere": "ok", "velocity": "ok"}}
    assert (await client.get("/docs")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) == {"/", "/brokers", "/health"}  # the broker mounts are not REST routes


async def test_brokers_list_no_sse_path_when_several_workers_refuse_sse(gateway_env, monkeypatch):
    """With GATEWAY_WORKERS=2 SSE is refused, so /brokers offers only the streamable HTTP path."""
    monkeypatch.setenv("GATEWAY_WORKERS", "2")
    from gateway.app import create_app

    async with running(create_app()) as client:
        brokers = {b["id"]: b for b in (await client.get("/brokers")).json()}
    assert brokers["velocity"]["sse"] is None and brokers["velocity"]["streamable_http"] == "/velocity/mcp"


async def test_health_is_503_when_a_broker_database_is_unreachable(gateway_env, monkeypatch):
    from gateway.app import create_app

    app = create_app()

    def refuse(self):
        raise OperationalError("SELECT 1", {}, Exception("connection to postgresql://u:pw@db failed"))

    from brokers.persistence import BrokerDatabase

    monkeypatch.setattr(BrokerDatabase, "ping", refuse)
    async with running(app) as client:
        health = await client.get("/health")
    assert health.status_code == 503
    assert health.json() == {"status": "degraded", "brokers": {"tradesphere": "unreachable: OperationalError",
                                                               "velocity": "unreachable: OperationalError"}}
    assert "pw" not in health.text


async def test_public_routes_open_even_without_any_key(monkeypatch, tmp_path):
    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(tmp_path / "none.json"))
    from gateway.app import create_app

    async with running(create_app()) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/health")).status_code == 200


@pytest.fixture
def public_api(gateway_env):
    from gateway.app import create_app

    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


schema = schemathesis.pytest.from_fixture("public_api")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_public_routes_never_answer_5xx_unexpectedly(case):
    """Schema-driven requests (odd query strings, headers, methods): no server error, responses match the schema.
    /health's 503 is part of its schema (a database down); here the databases are up, so any 5xx fails."""
    response = case.call()
    assert response.status_code < 500, response.text
    case.validate_response(response)
