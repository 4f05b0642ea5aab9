"""A read key may not call an order tool: the check reads the MCP tool call itself, on both transports.
Over streamable HTTP the refusal is an HTTP 403 with a JSON-RPC error body; over SSE it is the tool
call's error result on the stream (the session stays usable). Every order tool call leaves one audit
line with the key's name, never the key. An SSE session id is useless to any other key."""

from __future__ import annotations

import pytest
from gateway_support import MCP_HEADERS, ORDER, TRADE_KEY, AsgiSse, answers, call

ORDER_CALLS = [("place_order", ORDER), ("cancel_order", {"order_id": "nope"}),
               ("replace_order", {"order_id": "nope", "quantity": "2"}),
               ("add_position", {"symbol": "MSFT", "quantity": "3", "purchase_price": "100"})]


async def _cash(gateway, broker: str) -> str:
    response = await gateway.client.post(f"/{broker}/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
    return answers(response)[0]["result"]["structuredContent"]["cash"]


@pytest.mark.parametrize(("tool", "arguments"), ORDER_CALLS, ids=[t for t, _ in ORDER_CALLS])
@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_read_key_calling_an_order_tool_over_streamable_http_is_403(gateway, broker, tool, arguments):
    response = await gateway.client.post(f"/{broker}/mcp", json=call(tool, arguments, request_id=7),
                                         headers={**MCP_HEADERS, "X-API-Key": gateway.read_key})
    assert response.status_code == 403
    error = response.json()
    assert error["id"] == 7 and error["error"]["code"] == -32003
    assert f"key 'reader' has read scope; {tool} needs a key with trade scope" in error["error"]["message"]
    assert gateway.read_key not in response.text
    assert [(a["key"], a["broker"], a["tool"], a["status"]) for a in gateway.audit_lines()] == [("reader", broker, tool, "forbidden")]
    assert await _cash(gateway, broker) == "100000.00"


async def test_read_key_calling_an_order_tool_outside_its_own_sse_session_is_403(gateway):
    """Posting to a session that is not its own (made up, or another instance's) gives a read key the same 403."""
    response = await gateway.client.post("/tradesphere/messages/?session_id=" + "a" * 32, json=call("place_order", ORDER, 3),
                                         headers={"X-API-Key": gateway.read_key})
    assert response.status_code == 403 and response.json()["id"] == 3
    assert [(a["tool"], a["status"], a["transport"]) for a in gateway.audit_lines()] == [("place_order", "forbidden", "sse")]


async def test_read_key_may_call_read_tools_and_a_refused_call_hidden_in_a_batch_is_still_403(gateway):
    headers = {**MCP_HEADERS, "X-API-Key": gateway.read_key}
    quote = await gateway.client.post("/velocity/mcp", json=call("get_quote", {"symbol": "AAPL"}), headers=headers)
    assert quote.status_code == 200 and answers(quote)[0]["result"]["structuredContent"]["symbol"] == "AAPL"
    batch = [call("get_account", request_id=1), call("place_order", ORDER, request_id=2)]
    assert (await gateway.client.post("/velocity/mcp", json=batch, headers=headers)).status_code == 403


@pytest.mark.parametrize("caller", ["none", "read"])
async def test_the_mcp_level_check_refuses_even_when_the_http_check_is_bypassed(gateway, caller):
    """Behind the HTTP check, the broker's MCP server checks the call itself: a request that reaches it with
    no key, or with a read key, cannot place an order (as if the HTTP layer had misread the body)."""
    import httpx
    from starlette.routing import Mount

    from gateway.keys import ApiKey, Scope
    from gateway.policy import CALLER
    from gateway.security import BrokerGuard

    guard = next(r.app for r in gateway.app.router.routes if isinstance(r, Mount) and isinstance(r.app, BrokerGuard)
                 and r.path == "/tradesphere")
    reader = ApiKey("reader", Scope.READ, "0" * 64)

    async def unguarded(scope, receive, send):
        if caller == "read":
            scope.setdefault("state", {})[CALLER] = reader
        scope = {**scope, "root_path": "", "path": scope["path"].removeprefix("/tradesphere")}
        await guard.app(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unguarded), base_url="http://127.0.0.1:8000") as client:
        response = await client.post("/tradesphere/mcp", json=call("place_order", ORDER), headers=MCP_HEADERS)
    result = answers(response)[0]["result"]
    assert result["isError"] is True and "forbidden: " in result["content"][0]["text"]
    assert [(a["key"], a["status"]) for a in gateway.audit_lines()] == [(None if caller == "none" else "reader", "forbidden")]
    assert await _cash(gateway, "tradesphere") == "100000.00"


async def test_read_key_over_sse_gets_the_refusal_on_the_stream_and_keeps_its_session(gateway):
    async with AsgiSse(gateway.app, gateway.client, "tradesphere", gateway.read_key) as sse:
        await sse.initialize()
        refused = await sse.request("tools/call", {"name": "place_order", "arguments": ORDER})
        assert refused["result"]["isError"] is True
        assert "key 'reader' has read scope; place_order needs a key with trade scope" in refused["result"]["content"][0]["text"]
        account = await sse.request("tools/call", {"name": "get_account", "arguments": {}})
        assert account["result"]["structuredContent"]["cash"] == "100000.00"
    assert [(a["key"], a["tool"], a["status"], a["transport"]) for a in gateway.audit_lines()] == [
        ("reader", "place_order", "forbidden", "sse")]


@pytest.mark.parametrize("transport", ["sse", "streamable-http"])
async def test_order_tool_call_is_audited_with_key_name_and_result_never_the_key(gateway, transport):
    arguments = {**ORDER, "client_order_id": "audit-1"}
    if transport == "sse":
        async with AsgiSse(gateway.app, gateway.client, "velocity", gateway.other_trade_key) as sse:
            await sse.initialize()
            placed = (await sse.request("tools/call", {"name": "place_order", "arguments": arguments}))["result"]
            await sse.request("tools/call", {"name": "get_account", "arguments": {}})  # read tools are not audited
    else:
        response = await gateway.client.post("/velocity/mcp", json=call("place_order", arguments),
                                             headers={**MCP_HEADERS, "Authorization": f"Bearer {gateway.other_trade_key}"})
        placed = answers(response)[0]["result"]
    order = placed["structuredContent"]
    assert order["status"] == "filled"
    (line,) = gateway.audit_lines()
    assert line["key"] == "desk" and line["broker"] == "velocity" and line["tool"] == "place_order"
    assert line["arguments"] == arguments and line["status"] == "filled" and line["order_id"] == order["id"]
    assert line["transport"] == transport and line["client"] == "127.0.0.1" and line["time"].endswith("+00:00")
    raw = gateway.audit_path.read_text()
    assert gateway.other_trade_key not in raw and TRADE_KEY not in raw and gateway.read_key not in raw


async def test_a_rejected_order_and_a_failed_cancel_are_audited_with_their_outcome(gateway):
    headers = {**MCP_HEADERS, "X-API-Key": TRADE_KEY}
    await gateway.client.post("/tradesphere/mcp", json=call("place_order", {**ORDER, "quantity": "100000"}), headers=headers)
    await gateway.client.post("/tradesphere/mcp", json=call("cancel_order", {"order_id": "no-such-order"}), headers=headers)
    assert [(a["key"], a["tool"], a["status"]) for a in gateway.audit_lines()] == [
        ("env:API_KEY", "place_order", "rejected"), ("env:API_KEY", "cancel_order", "error")]


async def test_an_sse_session_is_bound_to_the_key_that_opened_it(gateway):
    async with AsgiSse(gateway.app, gateway.client, "tradesphere", gateway.read_key) as sse:
        await sse.initialize()
        # A trade key that learns the read key's session id cannot use it (nor learn that it exists).
        hijack = await sse.post(call("place_order", ORDER), key=gateway.other_trade_key)
        assert hijack.status_code == 404
        assert (await sse.post(call("get_account"), key=TRADE_KEY)).status_code == 404
        made_up = await gateway.client.post("/tradesphere/messages/?session_id=" + "f" * 32, json=call("get_account"),
                                            headers={"X-API-Key": gateway.read_key})
        assert made_up.status_code == 404
        assert (await sse.post(call("get_account", request_id=99))).status_code == 202  # its own key still works
        session_id = sse.session_id
    gone = await gateway.client.post(f"/tradesphere/messages/?session_id={session_id}", json=call("get_account"),
                                     headers={"X-API-Key": gateway.read_key})
    assert gone.status_code == 404  # a closed session is forgotten
    assert await _cash(gateway, "tradesphere") == "100000.00"


@pytest.mark.parametrize("repeated", [
    b'"arguments": {"symbol": "AAPL", "side": "buy", "quantity": "1", "quantity": "1000"}',
    b'"name": "get_quote", "name": "place_order", "arguments": {"symbol": "AAPL", "side": "buy", "quantity": "1"}',
])
@pytest.mark.parametrize("key", ["trade", "read"])
async def test_a_body_repeating_a_key_is_400_and_places_nothing(gateway, repeated, key):
    """'"quantity":"1","quantity":"1000"' is refused, naming the key, whichever value a parser would keep."""
    body = b'{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {' + repeated + b'}}'
    if b'"name": "get_quote"' not in repeated:
        body = body.replace(b'"params": {', b'"params": {"name": "place_order", ')
    api_key = TRADE_KEY if key == "trade" else gateway.read_key
    response = await gateway.client.post("/velocity/mcp", content=body,
                                         headers={**MCP_HEADERS, "X-API-Key": api_key})
    assert response.status_code == 400
    error = response.json()
    assert error["id"] == 9 and error["error"]["code"] == -32600
    assert "repeats the key" in error["error"]["message"] and ("'quantity'" in error["error"]["message"]
                                                            or "'name'" in error["error"]["message"])
    assert await _cash(gateway, "velocity") == "100000.00"
    listed = await gateway.client.post("/velocity/mcp", json=call("list_orders"), headers={**MCP_HEADERS, "X-API-Key": TRADE_KEY})
    assert answers(listed)[0]["result"]["structuredContent"]["orders"] == []
