"""Confirmation in the server (issue #15): elicitation, confirmation tokens, the kill switch, paper labels and the
daily limit, through `mcp.Client` in memory (protocol 2026-07-28) and one real stdio process (the older protocol)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import mcp.types as types
import pytest
from broker_support import ROOT
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from brokers.profiles import RiskLimits, get_profile
from brokers.runtime import open_engine
from brokers.server import build_server

BUY = {"symbol": "AAPL", "side": "buy", "quantity": "1"}


class Person:
    """An elicitation callback: records each question and answers as told."""

    def __init__(self, action: str = "accept", confirm: bool = True):
        self.action, self.confirm, self.asked = action, confirm, []

    async def __call__(self, _context, params):
        self.asked.append(params)
        if self.action != "accept":
            return types.ElicitResult(action=self.action)
        return types.ElicitResult(action="accept", content={"confirm": self.confirm})


class Clock:
    """A wall clock the test moves by hand (token expiry), never by sleeping."""

    def __init__(self):
        self.now = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def broker(mode: str, **options):
    profile = get_profile("tradesphere")
    engine = open_engine(profile)
    return engine, build_server(profile, engine, confirm_orders=mode, **options)


async def orders_and_cash(client) -> tuple[int, str]:
    orders = (await client.call_tool("list_orders", {})).structured_content["orders"]
    return len(orders), (await client.call_tool("get_account", {})).structured_content["cash"]


@pytest.mark.parametrize(("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_elicit_a_no_places_nothing_and_says_declined(action, confirm):
    person = Person(action, confirm)
    _engine, server = broker("elicit")
    async with Client(server, elicitation_callback=person) as client:
        before = await orders_and_cash(client)
        result = await client.call_tool("place_order", BUY)
        assert not result.is_error and result.structured_content["status"] == "declined"
        assert "declined" in result.content[0].text or "cancelled" in result.content[0].text
        assert await orders_and_cash(client) == before and len(person.asked) == 1


async def test_elicit_yes_fills_and_the_question_says_what_where_price_fees_total_when():
    person = Person()
    _engine, server = broker("elicit")
    async with Client(server, elicitation_callback=person) as client:
        result = await client.call_tool("place_order", BUY)
        order = result.structured_content
        assert (order["status"], order["confirmation"], order["environment"]) == ("filled", "elicited", "paper")
        [question] = person.asked
        for words in ("AAPL", "TradeSphere", "tradesphere", "a share", "fees", "total", "fills now", "paper"):
            assert words in question.message
        assert question.requested_schema["properties"]["confirm"]["type"] == "boolean"


async def test_every_order_tool_asks_first():
    person = Person(action="decline")
    engine, server = broker("elicit")
    async with Client(server, elicitation_callback=person) as client:
        assert (await client.call_tool("add_position", {"symbol": "MSFT", "quantity": "5", "purchase_price": "300"})
                ).structured_content["status"] == "declined"
        person.action = "accept"
        resting = (await client.call_tool("place_order", dict(BUY, order_type="limit", limit_price="1"))).structured_content
        person.action = "decline"
        for tool, arguments in (("cancel_order", {"order_id": resting["id"]}),
                                ("replace_order", {"order_id": resting["id"], "limit_price": "2"})):
            result = await client.call_tool(tool, arguments)
            assert result.structured_content["status"] == "declined", tool
        assert engine.find_order(resting["id"]).status.value == "open" and engine.positions() == []
        assert [q.message.split(" ", 1)[0] for q in person.asked] == ["Import", "Buying", "Cancel", "Replace"]


async def test_a_client_without_elicitation_gets_a_token_preview_then_executes_with_the_token():
    _engine, server = broker("elicit")
    async with Client(server) as client:
        before = await orders_and_cash(client)
        preview = (await client.call_tool("place_order", BUY)).structured_content
        assert preview["status"] == "confirmation_required" and preview["environment"] == "paper"
        assert preview["arguments"] == {**BUY, "order_type": "market", "time_in_force": "day"} and Decimal(preview["estimate"]["total"]) > 0
        assert await orders_and_cash(client) == before
        placed = await client.call_tool("place_order", dict(BUY, confirmation_token=preview["confirmation_token"]))
        assert placed.structured_content["status"] == "filled" and placed.structured_content["confirmation"] == "token"


async def test_a_token_is_single_use_bound_to_the_arguments_and_the_caller_and_expires():
    clock, caller = Clock(), {"name": "key:alice"}
    _engine, server = broker("token", token_clock=clock, caller_of=lambda _ctx: caller["name"])
    async with Client(server) as client:
        async def token(arguments=BUY) -> str:
            return (await client.call_tool("place_order", arguments)).structured_content["confirmation_token"]

        async def refused(status: str, arguments: dict) -> str:
            before = await orders_and_cash(client)
            result = await client.call_tool("place_order", arguments)
            assert result.is_error and result.structured_content["status"] == status, result.content[0].text
            assert await orders_and_cash(client) == before
            return result.content[0].text

        used = await token()
        assert (await client.call_tool("place_order", dict(BUY, confirmation_token=used))).structured_content["status"] == "filled"
        assert "already used" in await refused("confirmation_used", dict(BUY, confirmation_token=used))
        text = await refused("confirmation_mismatch", dict(BUY, quantity="2", confirmation_token=await token()))
        assert "quantity '1' in the preview, '2' now" in text
        stale = await token()
        clock.now += timedelta(seconds=120)
        assert "expired" in await refused("confirmation_expired", dict(BUY, confirmation_token=stale))
        alices = await token()
        caller["name"] = "key:bob"
        assert "another caller" in await refused("confirmation_other_caller", dict(BUY, confirmation_token=alices))
        assert "not one this broker issued" in await refused("confirmation_unknown", dict(BUY, confirmation_token="made-up"))


async def test_a_retry_with_a_placed_client_order_id_returns_the_order_without_asking_again():
    _engine, server = broker("token")
    async with Client(server) as client:
        arguments = dict(BUY, client_order_id="retry-1")
        preview = (await client.call_tool("place_order", arguments)).structured_content
        first = (await client.call_tool("place_order", dict(arguments, confirmation_token=preview["confirmation_token"])))
        again = await client.call_tool("place_order", arguments)
        assert again.structured_content["id"] == first.structured_content["id"] and "nothing new" in again.content[0].text
        assert (await orders_and_cash(client))[0] == 1


async def test_halt_from_another_process_refuses_order_tools_keeps_reads_and_fills_nothing(trading_env):
    engine, server = broker("off")
    async with Client(server) as client:
        queued = (await client.call_tool("place_order", dict(BUY, time_in_force="opg"))).structured_content
        assert queued["status"] == "queued"
        cli = [sys.executable, "-m", "brokers"]
        subprocess.run([*cli, "halt", "tradesphere", "--reason", "fat finger drill"], cwd=ROOT, check=True,
                       capture_output=True)
        refused = await client.call_tool("place_order", BUY)
        assert refused.is_error and "fat finger drill" in refused.content[0].text
        assert not (await client.call_tool("get_account", {})).is_error
        profile = (await client.call_tool("get_broker_profile", {})).structured_content
        assert (profile["halted"], profile["halt_reason"], profile["environment"]) == (True, "fat finger drill", "paper")
        # The next open comes and goes while halted: the queued order waits.
        later = open_engine(get_profile("tradesphere"), _settings_at("2026-11-25T10:00:00-05:00"))
        assert later.find_order(queued["id"]).status.value == "queued"
        subprocess.run([*cli, "resume", "tradesphere"], cwd=ROOT, check=True, capture_output=True)
        assert (await client.call_tool("place_order", BUY)).structured_content["status"] == "filled"
        assert later.find_order(queued["id"]).status.value == "filled"


def _settings_at(now: str):
    from brokers.settings import BrokerSettings

    return BrokerSettings(now=datetime.fromisoformat(now))


def test_the_daily_limit_counts_what_was_placed_today_across_a_restart(book):
    from broker_support import order

    from brokers.errors import DailyLimitExceeded

    limits = RiskLimits(max_daily_notional=Decimal("5000"))
    engine = book(limits=limits)
    ask = engine.quote("AAPL").ask
    big = order(symbol="AAPL", quantity=str(int(3000 / ask)))
    assert engine.place_order(big).status.value == "filled"
    with pytest.raises(DailyLimitExceeded, match="daily limit of \\$5,000.00"):
        engine.place_order(big)
    reopened = book(limits=limits)
    with pytest.raises(DailyLimitExceeded):
        reopened.place_order(big)
    assert len(reopened.list_orders()) == 1
    assert reopened.place_order(order(symbol="AAPL", quantity="1")).status.value == "filled"
    next_day = book(now="2026-11-25T10:00:00-05:00", limits=limits)
    assert next_day.place_order(big).status.value == "filled"


def test_the_per_order_limit_prices_a_buy_at_the_worse_of_the_quote_and_its_limit(book):
    from broker_support import order

    engine = book(limits=RiskLimits(max_order_notional=Decimal("1000")))
    ask = engine.quote("AAPL").ask
    placed = engine.place_order(order(symbol="AAPL", quantity="4", order_type="limit", limit_price=str(ask * 2)))
    assert placed.status.value == "rejected" and "per-order limit" in placed.reject_reason


async def test_the_older_protocol_over_stdio_asks_through_elicitation_create(trading_env):
    person = Person()
    env = {"TRADING_DATA_DIR": str(trading_env), "TRADING_NOW": "2026-11-24T10:30:00-05:00",
           "TRADING_CONFIRM_ORDERS": "elicit", "PYTHONPATH": str(ROOT)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", "tradesphere"], env=env,
                                   cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write, elicitation_callback=person) as session:
        await session.initialize()
        result = await session.call_tool("place_order", BUY)
        assert result.structured_content["status"] == "filled" and len(person.asked) == 1


async def test_a_halted_broker_asks_nobody_and_previews_nothing():
    from brokers.controls import set_halted

    person = Person()
    engine, server = broker("elicit")
    set_halted(engine.db, True, "desk closed", datetime.now(UTC))
    async with Client(server, elicitation_callback=person) as client:
        asked = await client.call_tool("place_order", BUY)
    async with Client(server) as client:
        previewed = await client.call_tool("place_order", BUY)
    for result in (asked, previewed):
        assert result.is_error and "desk closed" in result.content[0].text
    assert person.asked == [] and engine.list_orders() == []
