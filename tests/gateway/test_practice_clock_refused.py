"""A gateway never lets a client move its clock: its brokers serve no practice clock tool, a call to it is refused
before any broker sees it, and a practice clock file in the gateway's data dir changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway_support import MCP_HEADERS, TRADE_KEY, answers, call
from market_times import OPEN

from brokers.clock import PracticeClock


async def test_a_trade_key_cannot_move_a_gateway_brokers_clock(gateway_env, trading_env):
    from gateway_support import running

    from gateway.app import create_app

    PracticeClock(trading_env).write(datetime.fromisoformat(OPEN) + timedelta(days=3))  # as the console would
    headers = {**MCP_HEADERS, "X-API-Key": TRADE_KEY}
    async with running(create_app()) as client:
        for broker in ("tradesphere", "velocity"):
            listed = answers(await client.post(f"/{broker}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                               headers=headers))[0]["result"]["tools"]
            assert "move_practice_clock" not in {t["name"] for t in listed}
            moved = answers(await client.post(f"/{broker}/mcp", json=call("move_practice_clock", {"action": "next_open"}),
                                              headers=headers))[0]
            result = moved.get("result") or {}
            assert result.get("isError") is True or "error" in moved
            assert "forbidden" in str(moved) and "no client may move it" in str(moved)
            profile = answers(await client.post(f"/{broker}/mcp", json=call("get_broker_profile"), headers=headers))[0]
            market = profile["result"]["structuredContent"]["market"]
            assert market["practice"] is False and datetime.fromisoformat(market["now"]) == datetime.fromisoformat(OPEN)
