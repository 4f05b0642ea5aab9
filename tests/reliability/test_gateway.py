"""The gateway under hostile and heavy use: a real uvicorn on 127.0.0.1, raw HTTP and MCP clients, no agent.

One gateway process for the module, with named keys (trade and read scope) in a keys file plus
API_KEY, and a per-key rate limit. Every response body and header the tests see is kept, and the
last test scans them and the gateway's whole log for any key.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from gateway_process import GatewayProcess, process_env
from market_times import OPEN
from reliability_support import audit, count, lost_and_doubled, read_book

RATE = 60  # requests per minute per key
BROKERS = ("tradesphere", "velocity")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LOAD_KEYS = 8


@dataclass
class Gateway:
    url: str
    data: Path
    log: Path
    keys: dict[str, str]
    """Key name -> the key itself."""
    seen: list[str] = field(default_factory=list)
    """Every response status line, header and body the tests received, for the final key scan."""

    def auth(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[name]}

    def keep(self, response: httpx.Response) -> httpx.Response:
        count("server_errors", response.status_code >= 500)
        count("rate_limited", response.status_code == 429)
        self.seen.append(f"{response.status_code} {dict(response.headers)} {response.text if not response.is_stream_consumed or response.content else ''}")
        return response


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    from gateway.keys import KeyStore

    data = tmp_path_factory.mktemp("gateway-reliability")
    store = KeyStore(data / "keys.json")
    keys = {name: store.create(name, "trade") for name in ("alice", "bob", "hammer", *(f"load{i}" for i in range(LOAD_KEYS)))}
    keys["reader"] = store.create("reader", "read")
    keys["env:API_KEY"] = "env-key-" + secrets.token_urlsafe(24)
    log = data / "gateway.log"
    env = process_env(API_KEY=keys["env:API_KEY"], GATEWAY_KEYS_FILE=str(data / "keys.json"),
                      GATEWAY_RATE_LIMIT=f"{RATE}/minute", TRADING_DATA_DIR=str(data), TRADING_NOW=OPEN)
    with GatewayProcess.uvicorn(env, log) as process:  # ready once /health answers
        yield Gateway(process.url, data, log, keys)


def _call(tool: str, arguments: dict, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}


def _rpc_result(response: httpx.Response) -> dict:
    """The JSON-RPC message in a streamable-HTTP answer (JSON or one SSE 'message' event)."""
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[6:] for line in text.splitlines() if line.startswith("data: "))
    return json.loads(text)


# --------------------------------------------------------------------------- every route is locked


async def test_every_broker_route_is_protected_on_both_transports(gateway):
    """Without a valid key every broker route, both transports, any method or path variant, is refused (401/404)."""
    listed = {b["id"] for b in httpx.get(gateway.url + "/brokers").json()}
    assert listed == set(BROKERS)
    paths = []
    for broker in listed:
        paths += [f"/{broker}/sse", f"/{broker}/mcp", f"/{broker}/mcp/", f"/{broker}/messages/",
                  f"/{broker}/messages/?session_id={secrets.token_hex(16)}", f"/{broker}//mcp", f"/{broker}/sse/",
                  f"/{broker}/", f"/{broker}", f"/{broker}/anything", f"/%{ord(broker[0]):x}{broker[1:]}/mcp",
                  f"/{broker}/./mcp", f"/{broker}/mcp?api_key=wrong"]
    no_keys = [{}, {"X-API-Key": ""}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer"}, {"Authorization": "Bearer wrong"},
               {"Authorization": "Basic d3Jvbmc6d3Jvbmc="}, {"Cookie": "api_key=wrong"}, {"Mcp-Session-Id": secrets.token_hex(16)}]
    leaks = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        for path in paths:
            # Under the broker's mount the key guard answers first: exactly 401, never the router's 404 or 405.
            guarded = any(path.startswith(f"/{broker}/") for broker in listed)
            for method in ("GET", "POST", "DELETE", "PUT", "OPTIONS", "HEAD"):
                for headers in no_keys:
                    body = json.dumps(_call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})) if method == "POST" else None
                    count("wrong_key_requests")
                    response = gateway.keep(await client.request(method, path, headers={**MCP_HEADERS, **headers}, content=body))
                    redirect_to_lock = response.status_code == 307 and response.headers["location"].endswith(path + "/")
                    refused = response.status_code == 401 if guarded else response.status_code in (401, 404) or redirect_to_lock
                    count("wrong_key_successes", not refused)
                    if not refused:  # /broker -> /broker/ is fine; the encoded path never reaches a broker
                        leaks.append(f"{method} {path} {headers}: {response.status_code}")
        # Control: the same routes answer a valid key, so the 401s above came from the lock, not from a dead route.
        for broker in listed:
            count("gateway_requests")
            opened = gateway.keep(await client.post(f"/{broker}/mcp", json=_call("get_account", {}),
                                                    headers={**MCP_HEADERS, **gateway.auth("alice")}))
            assert opened.status_code == 200 and not _rpc_result(opened)["result"]["isError"], opened.text[:300]
    assert not leaks, leaks[:10]
    for broker in BROKERS:
        assert not read_book(gateway.data / f"{broker}.db", broker).orders


async def test_read_key_cannot_trade_on_either_transport(gateway):
    """A read-scope key reads, but every order tool on either transport is 403 and writes nothing."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        count("gateway_requests")
        read = gateway.keep(await client.post("/velocity/mcp", json=_call("get_account", {}), headers={**MCP_HEADERS, **gateway.auth("reader")}))
        assert read.status_code == 200 and not _rpc_result(read)["result"]["isError"]
        for path in ("/velocity/mcp", f"/velocity/messages/?session_id={secrets.token_hex(16)}"):
            for tool, arguments in (("place_order", {"symbol": "KO", "side": "buy", "quantity": "1"}),
                                    ("cancel_order", {"order_id": "x"}),
                                    ("add_position", {"symbol": "KO", "quantity": "1", "purchase_price": "1"})):
                count("orders_attempted" if tool == "place_order" else "other_writes_attempted")
                count("wrong_key_requests")  # a key without the trade scope
                response = gateway.keep(await client.post(path, json=_call(tool, arguments), headers={**MCP_HEADERS, **gateway.auth("reader")}))
                count("wrong_key_successes", response.status_code != 403)
                assert response.status_code == 403, (path, tool, response.status_code)
            batch = [_call("get_quote", {"symbol": "KO"}, 1), _call("place_order", {"symbol": "KO", "side": "buy", "quantity": "1"}, 2)]
            response = gateway.keep(await client.post(path, json=batch, headers={**MCP_HEADERS, **gateway.auth("reader")}))
            assert response.status_code in (403, 400), response.status_code  # an order hidden in a batch is still refused
    assert not read_book(gateway.data / "velocity.db", "velocity").orders


# --------------------------------------------------------------------------- sessions are not credentials


async def _open_sse(client: httpx.AsyncClient, gateway: Gateway, broker: str, name: str):
    """Open an SSE stream as key `name`; returns (stream context, messages URL)."""
    stream = client.stream("GET", f"/{broker}/sse", headers=gateway.auth(name))
    response = await stream.__aenter__()
    assert response.status_code == 200
    lines = response.aiter_lines()
    async for line in lines:
        if line.startswith("data: "):
            return stream, line[6:], lines
    raise AssertionError("no endpoint event on the SSE stream")


async def test_a_key_cannot_use_another_keys_sse_session(gateway):
    """Bob's valid key cannot post into Alice's SSE session, nor can no key: the session id is not a credential."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        stream, endpoint, lines = await _open_sse(client, gateway, "tradesphere", "alice")
        try:
            assert "session_id=" in endpoint, endpoint
            init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "alice", "version": "0"}}}
            own = gateway.keep(await client.post(endpoint, json=init, headers=gateway.auth("alice")))
            assert own.status_code == 202, own.status_code  # control: the owner can use it
            async for line in lines:  # the initialize answer comes back on Alice's stream
                if line.startswith("data: ") and '"id":0' in line.replace(" ", ""):
                    break
            await client.post(endpoint, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=gateway.auth("alice"))
            intruder_call = _call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1", "client_order_id": "bob-in-alice"}, 7)
            for who, headers in (("bob", gateway.auth("bob")), ("env key", gateway.auth("env:API_KEY")),
                                 ("reader", gateway.auth("reader")), ("no key", {})):
                count("session_hijack_attempts")
                count("orders_attempted")
                response = gateway.keep(await client.post(endpoint, json=intruder_call, headers=headers))
                count("wrong_key_successes", response.status_code not in (401, 403, 404))
                assert response.status_code in (401, 403, 404), f"{who} used Alice's session: {response.status_code}"
            other_broker = endpoint.replace("/tradesphere/", "/velocity/")
            count("session_hijack_attempts")
            response = gateway.keep(await client.post(other_broker, json=intruder_call, headers=gateway.auth("alice")))
            count("wrong_key_successes", response.status_code not in (400, 403, 404))
            assert response.status_code in (400, 403, 404), f"Alice's session id worked at another broker: {response.status_code}"
        finally:
            await stream.__aexit__(None, None, None)
    book = read_book(gateway.data / "tradesphere.db", "tradesphere")
    assert "bob-in-alice" not in {o["client_order_id"] for o in book.orders.values()}


async def test_a_streamable_http_session_id_is_not_a_credential(gateway):
    """On /mcp a session id is not a credential: with Alice's (or a made-up) Mcp-Session-Id and no or a wrong key an order is 401 and never placed; with Bob's key it is Bob's order, never Alice's."""
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "alice", "version": "0"}}}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        count("gateway_requests")
        opened = gateway.keep(await client.post("/velocity/mcp", json=init, headers={**MCP_HEADERS, **gateway.auth("alice")}))
        assert opened.status_code == 200, opened.status_code
        # Stateless today (no id is issued); if that changes, the id Alice got is the one an intruder would replay.
        sessions = [opened.headers.get("mcp-session-id") or secrets.token_hex(16), secrets.token_hex(16)]
        for n, session_id in enumerate(sessions):
            for headers in ({}, {"X-API-Key": "not-" + gateway.keys["alice"]}, {"Authorization": "Bearer " + session_id}):
                count("session_hijack_attempts")
                count("wrong_key_requests")
                count("orders_attempted")
                call = _call("place_order", {"symbol": "KO", "side": "buy", "quantity": "1", "client_order_id": f"nokey-session-{n}"})
                response = gateway.keep(await client.post("/velocity/mcp", json=call,
                                                          headers={**MCP_HEADERS, "Mcp-Session-Id": session_id, **headers}))
                count("wrong_key_successes", response.status_code != 401)
                assert response.status_code == 401, (headers.keys(), response.status_code)
        count("session_hijack_attempts")
        count("orders_attempted")
        call = _call("place_order", {"symbol": "KO", "side": "buy", "quantity": "1", "client_order_id": "bob-with-alice-session"})
        bobs = gateway.keep(await client.post("/velocity/mcp", json=call,
                                              headers={**MCP_HEADERS, "Mcp-Session-Id": sessions[0], **gateway.auth("bob")}))
        assert bobs.status_code in (200, 400, 403, 404), bobs.status_code
    book = read_book(gateway.data / "velocity.db", "velocity")
    placed = {o["client_order_id"] for o in book.orders.values()}
    assert not {"nokey-session-0", "nokey-session-1"} & placed
    audited = [json.loads(line) for line in (gateway.data / "gateway_audit.jsonl").read_text().splitlines()]
    owners = {e["key"] for e in audited if (e.get("arguments") or {}).get("client_order_id") == "bob-with-alice-session"}
    if "bob-with-alice-session" in placed:
        assert owners == {"bob"}, owners  # Bob's order, on Bob's key: the session id carried nobody's identity
    assert "alice" not in owners


# --------------------------------------------------------------------------- wrong keys, rate limit


def _wrong_keys(gateway: Gateway, count: int) -> list[dict[str, str]]:
    """Near misses of real keys and plain junk, in every header a client might use."""
    rng = random.Random(8)
    real = list(gateway.keys.values())
    wrong: list[dict[str, str]] = []
    while len(wrong) < count:
        key = rng.choice(real)
        position = rng.randrange(len(key))
        candidate = rng.choice([
            key[:position] + chr(ord(key[position]) ^ 1) + key[position + 1:],  # one character off
            key[:-1], key + "x", key.upper() if key.upper() != key else key.lower() + "x", key[::-1],
            "tk_" + secrets.token_urlsafe(32), secrets.token_hex(rng.randint(1, 64)), "null", "undefined", "*",
            key[:16], " ".join(key), f"{key},{key}", f"{key}\t", "Bearer " + key[:-2],
        ])
        if candidate.strip() in real:
            continue
        header = rng.choice(["x", "bearer", "basic", "lower"])
        wrong.append({"x": {"X-API-Key": candidate}, "bearer": {"Authorization": f"Bearer {candidate}"},
                      "basic": {"Authorization": f"Basic {candidate}"}, "lower": {"x-api-key": candidate}}[header])
    return wrong


async def test_a_thousand_wrong_keys_get_nothing(gateway):
    """1,000 requests with wrong keys (near misses of real ones included), both transports: 0 succeed, 0 5xx, nothing written."""
    wrong = _wrong_keys(gateway, 1000)
    limit = asyncio.Semaphore(32)
    statuses: dict[int, int] = {}

    async def attempt(client: httpx.AsyncClient, i: int, headers: dict[str, str]) -> None:
        broker = BROKERS[i % 2]
        call = _call("place_order", {"symbol": "KO", "side": "buy", "quantity": "1", "client_order_id": f"wrong-{i}"})
        count("wrong_key_requests")
        async with limit:
            if i % 3 == 0:
                response = await client.get(f"/{broker}/sse", headers=headers)
            elif i % 3 == 1:
                response = await client.post(f"/{broker}/mcp", json=call, headers={**MCP_HEADERS, **headers})
            else:
                response = await client.post(f"/{broker}/messages/?session_id={secrets.token_hex(16)}", json=call, headers=headers)
        gateway.keep(response)
        count("wrong_key_successes", response.status_code != 401)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    assert len(wrong) == 1000
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        await asyncio.gather(*(attempt(client, i, h) for i, h in enumerate(wrong)))
    assert statuses == {401: 1000}, statuses
    for broker in BROKERS:
        assert not [o for o in read_book(gateway.data / f"{broker}.db", broker).orders.values()
                    if (o["client_order_id"] or "").startswith("wrong-")]


async def test_rate_limit_holds_per_key(gateway):
    """Past the per-key limit every request is 429 with Retry-After, concurrently too; other keys are unaffected."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        headers = {**MCP_HEADERS, **gateway.auth("hammer")}
        responses = await asyncio.gather(*(
            client.post("/tradesphere/mcp", json=_call("get_quote", {"symbol": "KO"}, i), headers=headers) for i in range(RATE + 40)
        ))
        for response in responses:
            gateway.keep(response)
        codes = [r.status_code for r in responses]
        count("gateway_requests", codes.count(200))
        assert codes.count(200) == RATE and codes.count(429) == 40, {c: codes.count(c) for c in set(codes)}
        assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
        for path in ("/tradesphere/sse", "/velocity/mcp", "/velocity/messages/?session_id=00"):
            assert gateway.keep(await client.post(path, json=_call("get_account", {}), headers=headers)).status_code == 429
        other = gateway.keep(await client.post("/tradesphere/mcp", json=_call("get_quote", {"symbol": "KO"}), headers={**MCP_HEADERS, **gateway.auth("bob")}))
        assert other.status_code == 200


# --------------------------------------------------------------------------- bounded load, then the scan


async def test_bounded_loopback_load_has_no_5xx_and_loses_nothing(gateway):
    """400 raw streamable-HTTP calls (orders, quotes, lists) plus 4 SSE MCP sessions at once: 0 5xx, every order exactly once."""
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    per_key = 50  # under the per-key limit: every request must succeed
    limit = asyncio.Semaphore(32)
    statuses: dict[int, int] = {}
    placed: dict[str, set[str]] = {b: set() for b in BROKERS}

    async def raw(client: httpx.AsyncClient, key: str, i: int) -> None:
        broker = BROKERS[i % 2]
        if i % 2 == 0:
            cid = f"{key}-{i}"
            call = _call("place_order", {"symbol": "PLUG", "side": "buy", "quantity": "1", "client_order_id": cid}, i)
            placed[broker].add(cid)
            count("orders_attempted")
        else:
            call = _call(("get_quote", "list_orders", "get_account")[i % 3], {"symbol": "PLUG"} if i % 3 == 0 else {}, i)
        async with limit:
            count("gateway_requests")
            response = await client.post(f"/{broker}/mcp", json=call, headers={**MCP_HEADERS, **gateway.auth(key)})
        gateway.keep(response)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            assert not _rpc_result(response)["result"]["isError"], response.text[:300]

    async def session(name: str, broker: str) -> None:
        async with sse_client(f"{gateway.url}/{broker}/sse", headers=gateway.auth(name)) as (read, write), \
                ClientSession(read, write) as mcp:
            await mcp.initialize()
            for i in range(10):
                cid = f"{name}-sse-{broker}-{i}"
                count("orders_attempted")
                count("gateway_requests")
                result = await mcp.call_tool("place_order", {"symbol": "PLUG", "side": "buy", "quantity": "1", "client_order_id": cid})
                assert not result.is_error, result.content
                placed[broker].add(cid)

    async with httpx.AsyncClient(base_url=gateway.url, timeout=60, limits=httpx.Limits(max_connections=32)) as client:
        await asyncio.gather(
            *(raw(client, f"load{k}", i) for k in range(LOAD_KEYS) for i in range(per_key)),
            *(session(name, broker) for name in ("alice", "bob") for broker in BROKERS),
        )
    assert statuses == {200: LOAD_KEYS * per_key}, statuses
    for broker in BROKERS:
        book = audit(read_book(gateway.data / f"{broker}.db", broker))
        lost, doubled = lost_and_doubled(book, placed[broker])
        assert not lost and not doubled, (broker, lost[:5], doubled[:5])
        landed = [o["client_order_id"] for o in book.orders.values() if o["client_order_id"] in placed[broker]]
        assert sorted(landed) == sorted(placed[broker]), f"{broker}: {len(landed)} of {len(placed[broker])} orders, or doubles"
        assert {book.orders[i]["status"] for i in book.orders if book.orders[i]["client_order_id"] in placed[broker]} == {"filled"}


def test_no_key_in_any_log_or_response(gateway):
    """After everything above, neither the gateway's log nor any response the tests saw contains a key (or its first 12 characters)."""
    # Every file the gateway wrote (its log, any audit file, the keys file) except the databases.
    files = [p for p in sorted(gateway.data.rglob("*")) if p.is_file() and ".db" not in p.name]
    log = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    audited = [line for line in log.splitlines() if "place_order" in line and "load0" in line]
    assert audited, f"no audit line naming the key in {[p.name for p in files]}"
    seen = "\n".join(gateway.seen)
    assert len(gateway.seen) > 2000
    assert not [line[:200] for line in gateway.seen if line[:1] == "5"], "a 5xx answer during the suite"
    for name, key in gateway.keys.items():
        for fragment in (key, key[:12], key[-12:]):
            assert fragment not in log, f"{name}'s key is in the gateway log"
            assert fragment not in seen, f"{name}'s key is in a response"
