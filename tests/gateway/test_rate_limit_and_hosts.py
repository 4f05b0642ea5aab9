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


class _Clock:
    """Stands in for the `time` module of both rate limiters: time moves only when told."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


def test_the_in_process_rate_limit_decides_as_the_limits_library_does_without_a_thread(monkeypatch):
    import limits.storage.memory
    import limits.strategies
    from limits.storage import MemoryStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    import gateway.ratelimit
    from gateway.ratelimit import KeyRateLimiter

    clock = _Clock(1_000_000.25)
    for module in (limits.storage.memory, limits.strategies, gateway.ratelimit):
        monkeypatch.setattr(module, "time", clock)
    ours = KeyRateLimiter("4/second")
    threads = threading.active_count()
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    steps = [0, 0, 0, 0, 0, 0.3, 0.3, 0.5, 0.1, 0.1, 0.9, 0.05, 0.05, 0.05, 2.5, 0, 0, 0, 0, 0, 1.0, 0.2]
    for step in steps:
        clock.now += step
        for key in ("desk", "reader") if step else ("desk",):
            decision = ours.hit(key)
            allowed = reference.hit(ours.item, key)
            reset_at, remaining = reference.get_window_stats(ours.item, key)
            assert (decision.allowed, decision.remaining) == (allowed, remaining), (clock.now, key)
            assert decision.reset_at == pytest.approx(reset_at), (clock.now, key)
    assert ours.hit("desk").limit == 4
    assert threading.active_count() - threads <= 1  # only the reference's own timer thread, never ours
