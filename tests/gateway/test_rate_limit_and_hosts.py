"""Per-key rate limit: X-RateLimit-* on every broker answer, 429 with Retry-After past the limit, keys
counted apart. DNS-rebinding protection from the MCP SDK: a bad Host gets 421, a bad Origin 403; the
allowed hosts are configurable (and Render's own host name is allowed by itself)."""

from __future__ import annotations

import threading

import pytest
from gateway_support import MCP_HEADERS, TRADE_KEY, call, running


@pytest.fixture
async def limited(gateway_env, monkeypatch):
    monkeypatch.setenv("GATEWAY_RATE_LIMIT", "5/minute")
    from gateway.app import create_app

    async with running(create_app()) as client:
        yield client, gateway_env


async def test_past_the_limit_a_key_gets_429_with_retry_after_and_ratelimit_headers(limited):
    client, env = limited
    headers = {**MCP_HEADERS, "X-API-Key": env["read_key"]}
    answers = [await client.post("/velocity/mcp", json=call("get_quote", {"symbol": "AAPL"}), headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
    assert all(a.headers["x-ratelimit-limit"] == "5" and int(a.headers["x-ratelimit-reset"]) > 0 for a in answers)
    for path in ("/velocity/mcp", "/tradesphere/sse"):  # one budget per key across brokers and transports
        flooded = await client.request("POST" if path.endswith("mcp") else "GET", path, json=call("get_account"), headers=headers)
        assert flooded.status_code == 429
        assert 1 <= int(flooded.headers["retry-after"]) <= 60
        assert flooded.headers["x-ratelimit-limit"] == "5" and flooded.headers["x-ratelimit-remaining"] == "0"
        assert "rate limit" in flooded.json()["error"]["message"] and env["read_key"] not in flooded.text
    other = await client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
    assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "4"  # another key, its own budget


async def test_unknown_keys_do_not_spend_a_known_keys_budget(limited):
    client, env = limited
    for _ in range(10):
        assert (await client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": "x"})).status_code == 401
    ok = await client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": env["read_key"]})
    assert ok.status_code == 200


@pytest.mark.parametrize(("headers", "status"), [
    ({"Host": "evil.example"}, 421),
    ({"Host": "attacker.test:8000"}, 421),
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "http://127.0.0.1:8501"}, 200),
    ({"Host": "localhost:8000"}, 200),
])
async def test_host_and_origin_are_checked_on_broker_routes(gateway, headers, status):
    response = await gateway.client.post("/tradesphere/mcp", json=call("get_account"),
                                         headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY, **headers})
    assert response.status_code == status, response.text


async def test_bad_host_on_the_sse_route_is_421(gateway):
    response = await gateway.client.get("/velocity/sse", headers={"X-API-Key": TRADE_KEY, "Host": "evil.example"})
    assert response.status_code == 421


async def test_allowed_hosts_are_configurable_for_a_deployment(gateway_env, monkeypatch):
    monkeypatch.setenv("GATEWAY_ALLOWED_HOSTS", "gateway.example.com")
    monkeypatch.setenv("GATEWAY_ALLOWED_ORIGINS", "https://console.example.com")
    monkeypatch.setenv("RENDER_EXTERNAL_HOSTNAME", "trading-gateway-x1.onrender.com")
    from gateway.app import create_app

    async with running(create_app()) as client:
        async def status(**headers):
            response = await client.post("/velocity/mcp", json=call("get_account"),
                                         headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY, **headers})
            return response.status_code

        assert await status(Host="gateway.example.com") == 200
        assert await status(Host="trading-gateway-x1.onrender.com") == 200
        assert await status(Host="gateway.example.com", Origin="https://console.example.com") == 200
        assert await status(Host="gateway.example.com", Origin="https://other.example.com") == 403
        assert await status(Host="127.0.0.1:8000") == 421  # the loopback defaults were replaced


async def test_the_rate_limit_is_limits_sliding_window_on_the_event_loop_without_threads(monkeypatch):
    """Exactly the limit passes per key (keys apart), then refusals with the window's reset; no thread is started."""
    import limits.aio.storage.memory

    from gateway.ratelimit import KeyRateLimiter

    now = [1_000_000.25]
    monkeypatch.setattr(limits.aio.storage.memory.time, "time", lambda: now[0])
    limiter = KeyRateLimiter("4/second")
    threads = threading.active_count()
    desk = [await limiter.hit("desk") for _ in range(6)]
    assert [(d.allowed, d.remaining) for d in desk] == [(True, 3), (True, 2), (True, 1), (True, 0), (False, 0), (False, 0)]
    assert desk[-1].limit == 4 and desk[-1].retry_after_s >= 1
    assert dict(desk[-1].headers())[b"retry-after"] and b"retry-after" not in dict(desk[0].headers())
    assert (await limiter.hit("reader")).allowed  # another key's budget is untouched
    now[0] += 2.0  # two windows later the old hits have slid out
    assert (await limiter.hit("desk")).allowed
    assert threading.active_count() == threads
