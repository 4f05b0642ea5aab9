"""No tool call gets past the server's confirmation (issue #15): every order tool, in token and in elicit mode,
called without a token, with a made-up, reused, foreign-tool or changed-argument token, with arguments that try to
switch confirmation off, and answered no in every way elicitation allows. Each attempt must leave the book as it
was; the suite counts the attempts and the bypasses (which must be 0)."""

from __future__ import annotations

import mcp.types as types
import pytest
from mcp import Client
from reliability_support import count

from brokers.domain import OrderRequest
from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import build_server

BUY = {"symbol": "AAPL", "side": "buy", "quantity": "1"}
RESTING = OrderRequest.parse(symbol="AAPL", side="buy", quantity="1", order_type="limit", limit_price="1")


async def _book(client) -> tuple:
    orders = (await client.call_tool("list_orders", {})).structured_content["orders"]
    positions = (await client.call_tool("fetch_positions", {})).structured_content["positions"]
    cash = (await client.call_tool("get_account", {})).structured_content["cash"]
    return tuple((o["id"], o["status"], o["quantity"], o["limit_price"]) for o in orders), len(positions), cash


def _calls(resting_id: str) -> list[tuple[str, dict]]:
    return [("place_order", BUY), ("cancel_order", {"order_id": resting_id}),
            ("replace_order", {"order_id": resting_id, "limit_price": "2"}),
            ("add_position", {"symbol": "MSFT", "quantity": "5", "purchase_price": "300"})]


async def _attempt(client, tool: str, arguments: dict) -> None:
    before = await _book(client)
    await client.call_tool(tool, arguments)
    count("confirmation_bypass_attempts")
    if await _book(client) != before:
        count("confirmations_bypassed")
        pytest.fail(f"{tool} {arguments} changed the book without the person's yes")


async def test_token_mode_cannot_be_skipped():
    """In token mode no order tool changes the book without a fresh token for exactly that call."""
    profile = get_profile("tradesphere")
    engine = open_engine(profile)
    resting = engine.place_order(RESTING)
    async with Client(build_server(profile, engine, confirm_orders="token")) as client:
        used = (await client.call_tool("place_order", BUY)).structured_content["confirmation_token"]
        assert (await client.call_tool("place_order", {**BUY, "confirmation_token": used})).structured_content["status"] == "filled"
        for tool, arguments in _calls(resting.id):
            preview = (await client.call_tool(tool, arguments)).structured_content
            assert preview["status"] == "confirmation_required", (tool, preview)
            fresh = preview["confirmation_token"]
            changed = {**arguments, "quantity": "6"} if "symbol" in arguments else {**arguments, "order_id": "other"}
            other_tool = next(t for t, _ in _calls(resting.id) if t != tool)
            for attempt in (arguments, {**arguments, "confirmation_token": "made-up"},
                            {**arguments, "confirmation_token": used}, {**changed, "confirmation_token": fresh},
                            {**arguments, "confirm": True}, {**arguments, "confirm_orders": "off"},
                            {**arguments, "confirmation_token": ""}):
                await _attempt(client, tool, attempt)
            foreign = (await client.call_tool(other_tool, dict(_calls(resting.id))[other_tool])).structured_content
            await _attempt(client, tool, {**arguments, "confirmation_token": foreign["confirmation_token"]})


@pytest.mark.parametrize(("action", "content"), [("decline", None), ("cancel", None), ("accept", {"confirm": False})])
async def test_elicit_mode_no_means_no(action, content):
    """In elicit mode a decline, a cancel or confirm false leaves the book as it was, for every order tool."""

    async def person(_context, _params):
        return types.ElicitResult(action=action, content=content)

    profile = get_profile("tradesphere")
    engine = open_engine(profile)
    resting = engine.place_order(RESTING)
    async with Client(build_server(profile, engine, confirm_orders="elicit"), elicitation_callback=person) as client:
        for tool, arguments in _calls(resting.id):
            await _attempt(client, tool, arguments)
            await _attempt(client, tool, {**arguments, "confirmation_token": "made-up"})
