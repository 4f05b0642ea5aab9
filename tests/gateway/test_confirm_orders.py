"""Confirmation at the gateway (issue #15): the default mode is elicit and GET /brokers says so; a client over the
stateless /mcp mount that cannot be asked gets a token preview bound to its API key; the audit log records the
preview, the confirmed order and a refused token with the key's name."""

from __future__ import annotations

import pytest
from gateway_support import MCP_HEADERS, ORDER, TRADE_KEY, Gateway, answers, call, running


@pytest.fixture
async def confirming_gateway(gateway_env, monkeypatch):
    """A gateway as deployed: TRADING_CONFIRM_ORDERS unset, so every broker confirms by elicitation (or token)."""
    from gateway.app import create_app

    monkeypatch.delenv("TRADING_CONFIRM_ORDERS", raising=False)
    app = create_app()
    async with running(app) as client:
        yield Gateway(app, client, gateway_env["read_key"], gateway_env["desk_key"], gateway_env["audit_path"],
                      gateway_env["keys_path"])


async def _place(gateway: Gateway, key: str, arguments: dict) -> dict:
    response = await gateway.client.post("/tradesphere/mcp", json=call("place_order", arguments),
                                         headers={**MCP_HEADERS, "X-API-Key": key})
    return answers(response)[0]["result"]


async def test_get_brokers_says_each_brokers_confirmation_mode(confirming_gateway):
    brokers = (await confirming_gateway.client.get("/brokers")).json()
    assert {b["id"]: b["confirm_orders"] for b in brokers} == {"tradesphere": "elicit", "velocity": "elicit"}
    assert all("confirmation_token" in b["confirm_orders_note"] for b in brokers)


async def test_a_client_that_cannot_be_asked_gets_a_token_bound_to_its_key(confirming_gateway):
    gateway = confirming_gateway
    preview = (await _place(gateway, TRADE_KEY, ORDER))["structuredContent"]
    assert preview["status"] == "confirmation_required" and preview["environment"] == "paper"
    token = preview["confirmation_token"]
    other = await _place(gateway, gateway.other_trade_key, {**ORDER, "confirmation_token": token})
    assert other["isError"] and other["structuredContent"]["status"] == "confirmation_other_caller"
    placed = await _place(gateway, TRADE_KEY, {**ORDER, "confirmation_token": token})
    assert placed["structuredContent"]["status"] == "filled" and placed["structuredContent"]["confirmation"] == "token"
    lines = [(a["key"], a["status"]) for a in gateway.audit_lines()]
    assert lines == [("env:API_KEY", "confirmation_required"), ("desk", "confirmation_other_caller"),
                     ("env:API_KEY", "filled (confirmed: token)")]



async def test_a_client_on_protocol_2026_07_28_is_asked_over_the_stateless_mount(confirming_gateway):
    import mcp.types as types
    from gateway_support import BASE_URL
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    asked = []

    async def person(_context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    gateway = confirming_gateway
    gateway.client.headers["X-API-Key"] = TRADE_KEY
    transport = streamable_http_client(f"{BASE_URL}/tradesphere/mcp", http_client=gateway.client)
    async with Client(transport, elicitation_callback=person) as client:
        placed = (await client.call_tool("place_order", ORDER)).structured_content
    assert (placed["status"], placed["confirmation"]) == ("filled", "elicited") and "AAPL" in asked[0]
    assert [a["status"] for a in gateway.audit_lines()] == ["confirmation_asked", "filled (confirmed: elicited)"]
