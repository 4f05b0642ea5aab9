"""Both broker MCP servers through `mcp.Client` in memory: the eleven tools, typed results, errors, server-side limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from broker_support import ORDER_FIELDS, TOOLS, WRITE_TOOLS, cents, expected_fee, new_order_types_over_mcp
from market_times import CLOSED, EARLY_CLOSE_DAY, HOLIDAY, NEXT_OPEN, OPEN
from mcp import Client

from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import ORDER_TOOLS, TOOL_ANNOTATIONS, build_server

DECIMAL_FIELDS = {"cash", "buying_power", "equity", "starting_cash", "positions_value", "realized_pnl", "unrealized_pnl",
                  "fees_paid", "bid", "ask", "last", "quantity", "average_cost", "cost_basis", "market_price", "market_value",
                  "filled_quantity", "fees", "expected_price", "trade_value", "total", "average_fill_price"}


def connect(broker: str = "tradesphere") -> Client:
    """An in-memory client on a fresh server and engine, built from the current environment."""
    profile = get_profile(broker)
    return Client(build_server(profile, open_engine(profile)))


def decimal_strings(value) -> list:
    """Every money/quantity field anywhere in a structured result (they must all be strings)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in DECIMAL_FIELDS and item is not None:
                found.append(item)
            found += decimal_strings(item)
    elif isinstance(value, list):
        for item in value:
            found += decimal_strings(item)
    return found


async def call(client: Client, tool: str, **arguments):
    return await client.call_tool(tool, arguments)


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_exactly_the_eleven_tools_with_typed_outputs(broker):
    async with connect(broker) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS == set(TOOL_ANNOTATIONS)
        assert all(t.output_schema and t.description for t in tools.values())
        assert {name for name, t in tools.items() if not t.annotations.read_only_hint} == ORDER_TOOLS == WRITE_TOOLS
        for name, tool in tools.items():  # stated explicitly on every tool, never left to a client's defaults
            hints = tool.annotations
            assert hints.read_only_hint is (name not in WRITE_TOOLS) and hints.open_world_hint is False, name
            if name in WRITE_TOOLS:
                assert hints.destructive_hint is True and isinstance(hints.idempotent_hint, bool), name
        assert {n for n in WRITE_TOOLS if tools[n].annotations.idempotent_hint} == {"cancel_order", "replace_order"}
        for name in ("place_order", "estimate_order"):
            schema = tools[name].input_schema
            token = {"confirmation_token"} if name == "place_order" else set()  # order tools take a confirmation token
            assert set(schema["properties"]) == ORDER_FIELDS | token and schema["required"] == ["symbol", "side"], name
            enums = {field: schema["properties"][field]["enum"] for field in ("side", "order_type", "time_in_force")}
            assert enums == {"side": ["buy", "sell"], "order_type": ["market", "limit", "stop", "stop_limit", "trailing_stop"],
                             "time_in_force": ["day", "gtc", "opg", "cls"]}, name
        assert tools["list_orders"].input_schema["properties"]["status"]["enum"][:2] == ["all", "active"]
        replace = tools["replace_order"].input_schema
        assert set(replace["properties"]) == {"order_id", "quantity", "limit_price", "stop_price", "trail_percent",
                                               "trail_price", "time_in_force", "confirmation_token"} and replace["required"] == ["order_id"]
        card = (await call(client, "get_broker_profile")).structured_content
        assert card["id"] == broker and card["market"]["is_open"] is True and card["market"]["frozen"] is True


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_structured_results_carry_decimals_as_strings(broker):
    async with connect(broker) as client:
        account = (await call(client, "get_account")).structured_content
        assert (account["broker"], account["cash"], account["buying_power"], account["fees_paid"]) == (
            broker, "100000.00", "100000.00", "0")
        await call(client, "place_order", symbol="AAPL", side="buy", quantity="3")
        await call(client, "add_position", symbol="IBM", quantity="2", purchase_price="150.25")
        results = [(await call(client, tool)).structured_content for tool in
                   ("get_account", "fetch_positions", "get_portfolio_summary", "list_orders")]
        results.append((await call(client, "get_quote", symbol="KO")).structured_content)
        results.append((await call(client, "estimate_order", symbol="KO", side="buy", quantity=2)).structured_content)
        values = [v for result in results for v in decimal_strings(result)]
        assert len(values) > 40 and all(isinstance(v, str) for v in values)
        assert all(Decimal(v).is_finite() and "E" not in v for v in values)  # plain decimal text, never exponent form
        ibm = [p for p in results[1]["positions"] if p["symbol"] == "IBM"][0]
        assert (ibm["quantity"], ibm["average_cost"], ibm["cost_basis"]) == ("2", "150.2500", "300.50")


async def test_place_estimate_cancel_and_list():
    async with connect() as client:
        engine_quote = (await call(client, "get_quote", symbol="Microsoft")).structured_content
        ask = Decimal(engine_quote["ask"])
        estimate = (await call(client, "estimate_order", symbol="MSFT", side="buy", quantity="50")).structured_content
        profile = get_profile("tradesphere")
        assert (estimate["expected_price"], estimate["trade_value"], estimate["fees"], estimate["total"]) == (
            str(ask), str(cents(50 * ask)), str(expected_fee(profile, Decimal(50), ask)),
            str(cents(50 * ask) + expected_fee(profile, Decimal(50), ask)))
        assert estimate["fills_now"] is True and estimate["would_be_rejected"] is None
        assert (await call(client, "list_orders")).structured_content["orders"] == []  # an estimate places nothing

        placed = await call(client, "place_order", symbol="MSFT", side="buy", quantity=50)
        assert not placed.is_error and f"Order id {placed.structured_content['id']}." in placed.content[0].text
        assert (placed.structured_content["status"], placed.structured_content["average_fill_price"]) == ("filled", str(ask))
        fraction = await call(client, "place_order", symbol="MSFT", side="sell", quantity=1.5)  # a JSON number, via repr
        assert fraction.structured_content["filled_quantity"] == "1.5"

        rest = await call(client, "place_order", symbol="AAPL", side="buy", quantity="1", order_type="limit", limit_price="1")
        assert rest.structured_content["status"] == "open"
        cancelled = await call(client, "cancel_order", order_id=rest.structured_content["id"])
        assert not cancelled.is_error and cancelled.structured_content["status"] == "cancelled"
        again = await call(client, "cancel_order", order_id=rest.structured_content["id"])
        assert again.is_error and "is cancelled; only queued or open orders can be cancelled" in again.content[0].text
        missing = await call(client, "cancel_order", order_id="no-such-order")
        assert missing.is_error and "no order with id or client_order_id 'no-such-order'" in missing.content[0].text

        orders = (await call(client, "list_orders")).structured_content["orders"]
        assert [o["status"] for o in orders] == ["cancelled", "filled", "filled"]
        assert [o["id"] for o in (await call(client, "list_orders", status="filled", symbol="msft", limit=1))
                .structured_content["orders"]] == [fraction.structured_content["id"]]
        bad = await call(client, "list_orders", status="done")
        assert bad.is_error and "status" in bad.content[0].text and "input_value='done'" in bad.content[0].text
        assert (await call(client, "list_orders", status=" ACTIVE ")).structured_content["orders"] == []
        [position] = (await call(client, "fetch_positions")).structured_content["positions"]
        assert (position["symbol"], position["quantity"]) == ("MSFT", "48.5")


async def test_rejected_order_is_a_tool_error_with_its_record():
    async with connect("velocity") as client:
        rejected = await call(client, "place_order", symbol="AAPL", side="sell", quantity="5")
        assert rejected.is_error
        assert "rejected by VelocityBrokers: cannot sell 5 AAPL: 0 held" in rejected.content[0].text
        record = rejected.structured_content
        assert (record["status"], record["reject_reason"], record["symbol"], record["filled_quantity"]) == (
            "rejected", "cannot sell 5 AAPL: 0 held", "AAPL", "0")
        listed = (await call(client, "list_orders", status="rejected")).structured_content["orders"]
        assert [o["id"] for o in listed] == [record["id"]]
        fractional = await call(client, "place_order", symbol="AAPL", side="buy", quantity="0.5")
        assert fractional.is_error and fractional.structured_content["reject_reason"].endswith("quantity 0.5 is fractional")
        account = (await call(client, "get_account")).structured_content
        assert account["cash"] == "100000.00"


async def test_unknown_arguments_are_refused_and_nothing_is_placed():
    """A typo like `qty` is not silently dropped: the call fails and names the allowed arguments."""
    async with connect() as client:
        typo = await call(client, "place_order", symbol="AAPL", side="buy", qty="5")
        assert typo.is_error and "unknown argument(s) 'qty'" in typo.content[0].text
        assert f"allowed: {', '.join(sorted(ORDER_FIELDS | {'confirmation_token'}))}" in typo.content[0].text
        extra = await call(client, "get_account", verbose=True)
        assert extra.is_error and "unknown argument(s) 'verbose'; allowed: none" in extra.content[0].text
        assert (await call(client, "list_orders")).structured_content["orders"] == []
        nonexistent = await call(client, "transfer_funds", amount="100")
        assert nonexistent.is_error


@pytest.mark.parametrize("arguments", [
    {"symbol": "AAPL", "side": "buy", "quantity": True},
    {"symbol": "AAPL", "side": "buy", "notional": False},
    {"symbol": "AAPL", "side": "buy", "quantity": [1]},
    {"symbol": "AAPL", "side": "buy", "quantity": {"value": 1}},
    {"symbol": 123, "side": "buy", "quantity": "1"},
    {"symbol": "AAPL", "side": True, "quantity": "1"},
    {"symbol": "AAPL", "side": "buy", "quantity": "1", "client_order_id": 12345},
    {"symbol": "AAPL", "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": True},
    {"symbol": "AAPL", "side": "buy", "quantity": "one"},
    {"symbol": "AAPL", "side": "buy", "quantity": "1,5"},  # a decimal comma: not 15 shares
    {"symbol": "AAPL", "side": "buy", "quantity": "\uff11"},  # a full-width 1
    {"symbol": "AAPL", "side": "buy"},
    {"side": "buy", "quantity": "1"},
    {"symbol": "A" * 5001, "side": "buy", "quantity": "1"},
])
async def test_wrong_types_are_refused_and_nothing_is_placed(arguments):
    async with connect() as client:
        result = await call(client, "place_order", **arguments)
        assert result.is_error and result.content[0].text.startswith("Error executing tool place_order")
        assert (await call(client, "list_orders")).structured_content["orders"] == []


@pytest.mark.parametrize(("quantity", "price"), [(True, "100"), ("1", True), ([1], "100"), ("1,5", "100"), ("1", "1,5")])
async def test_add_position_refuses_wrong_types(quantity, price):
    async with connect() as client:
        imported = await call(client, "add_position", symbol="AAPL", quantity=quantity, purchase_price=price)
        assert imported.is_error and imported.content[0].text.startswith("Error executing tool add_position")
        assert (await call(client, "fetch_positions")).structured_content["positions"] == []


async def test_unknown_symbols_and_huge_inputs_give_short_errors():
    async with connect() as client:
        unknown = await call(client, "get_quote", symbol="Appel")
        assert unknown.is_error and "Did you mean: AAPL (Apple Inc.)" in unknown.content[0].text
        huge = await call(client, "get_quote", symbol="x" * 5000)
        assert huge.is_error and len(huge.content[0].text) < 200
        digits = await call(client, "place_order", symbol="AAPL", side="buy", quantity="-" + "9" * 4000)
        assert digits.is_error and len(digits.content[0].text) < 200


async def test_client_order_id_makes_a_retry_safe():
    async with connect() as client:
        first = await call(client, "place_order", symbol="KO", side="buy", quantity="2", client_order_id="agent-42")
        retry = await call(client, "place_order", symbol="Coca-Cola", side="buy", quantity=2, client_order_id="agent-42")
        assert retry.structured_content["id"] == first.structured_content["id"]
        clash = await call(client, "place_order", symbol="KO", side="buy", quantity="3", client_order_id="agent-42")
        assert clash.is_error and "was already used for a different order" in clash.content[0].text
        assert len((await call(client, "list_orders")).structured_content["orders"]) == 1


async def test_estimate_fee_is_lower_at_tradesphere_for_50_msft():
    fees = {}
    for broker in ("tradesphere", "velocity"):
        async with connect(broker) as client:
            estimate = await call(client, "estimate_order", symbol="MSFT", side="buy", quantity="50")
            fees[broker] = Decimal(estimate.structured_content["fees"])
            assert estimate.structured_content["fill_latency_ms"] == get_profile(broker).fill_latency_ms
    assert fees == {"tradesphere": Decimal("0.35"), "velocity": Decimal("1.00")}
    assert fees["tradesphere"] < fees["velocity"]


async def test_closed_market_queues_through_the_server(monkeypatch):
    monkeypatch.setenv("TRADING_NOW", CLOSED)
    async with connect() as client:
        placed = await call(client, "place_order", symbol="AAPL", side="buy", quantity="1")
        assert not placed.is_error and placed.structured_content["status"] == "queued"
        assert datetime.fromisoformat(placed.structured_content["executes_at"]) == datetime.fromisoformat(NEXT_OPEN)
        quote = (await call(client, "get_quote", symbol="AAPL")).structured_content
        assert quote["market_open"] is False
        account = (await call(client, "get_account")).structured_content
        assert account["open_orders"] == 1 and Decimal(account["buying_power"]) < Decimal(account["cash"])


@pytest.mark.parametrize(("now", "is_open", "next_open", "next_close", "early_close", "status"), [
    (OPEN, True, "2026-11-25T09:30:00-05:00", "2026-11-24T16:00:00-05:00", False, "filled"),
    (CLOSED, False, "2026-11-25T09:30:00-05:00", "2026-11-25T16:00:00-05:00", False, "queued"),
    (HOLIDAY, False, "2026-11-27T09:30:00-05:00", "2026-11-27T13:00:00-05:00", True, "queued"),
    (EARLY_CLOSE_DAY, True, "2026-11-30T09:30:00-05:00", "2026-11-27T13:00:00-05:00", True, "filled"),
], ids=["open", "closed", "holiday", "early-close"])
async def test_trading_now_freezes_the_servers_market_clock(monkeypatch, now, is_open, next_open, next_close, early_close, status):
    monkeypatch.setenv("TRADING_NOW", now)
    async with connect("velocity") as client:
        market = (await call(client, "get_broker_profile")).structured_content["market"]
        assert (market["is_open"], market["next_open"], market["next_close"], market["early_close"], market["frozen"]) == (
            is_open, next_open, next_close, early_close, True)
        placed = (await call(client, "place_order", symbol="KO", side="buy", quantity="1")).structured_content
        assert placed["status"] == status
        if status == "queued":
            assert datetime.fromisoformat(placed["executes_at"]) == datetime.fromisoformat(next_open)


async def test_max_order_notional_from_the_environment_holds_on_direct_calls(monkeypatch):
    monkeypatch.setenv("TRADING_MAX_ORDER_NOTIONAL", "100")
    async with connect("velocity") as client:
        card = (await call(client, "get_broker_profile")).structured_content
        assert card["max_order_notional"] == "100"
        refused = await call(client, "place_order", symbol="AAPL", side="buy", quantity="1")
        assert refused.is_error and "per-order limit of $100.00" in refused.content[0].text
        assert refused.structured_content["status"] == "rejected"
        assert (await call(client, "place_order", symbol="F", side="buy", quantity="1")).structured_content["status"] == "filled"


async def test_read_only_from_the_environment_refuses_every_order_tool(monkeypatch):
    async with connect() as client:  # one resting order to try to cancel later
        rest = await call(client, "place_order", symbol="KO", side="buy", quantity="1", order_type="limit", limit_price="1")
    monkeypatch.setenv("TRADING_READ_ONLY", "true")
    async with connect() as client:
        assert (await call(client, "get_broker_profile")).structured_content["read_only"] is True
        for tool, arguments in (("place_order", {"symbol": "KO", "side": "buy", "quantity": "1"}),
                                ("cancel_order", {"order_id": rest.structured_content["id"]}),
                                ("add_position", {"symbol": "KO", "quantity": "1", "purchase_price": "50"})):
            refused = await client.call_tool(tool, arguments)
            assert refused.is_error and "TradeSphere is in read-only mode" in refused.content[0].text, tool
        orders = (await call(client, "list_orders")).structured_content["orders"]
        assert [(o["id"], o["status"]) for o in orders] == [(rest.structured_content["id"], "open")]
        assert not (await call(client, "estimate_order", symbol="KO", side="buy", quantity="1")).is_error


async def test_symbol_allowlist_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRADING_SYMBOL_ALLOWLIST", " aapl, ko ,")
    async with connect() as client:
        assert (await call(client, "get_broker_profile")).structured_content["symbol_allowlist"] == ["AAPL", "KO"]
        refused = await call(client, "place_order", symbol="Microsoft", side="buy", quantity="1")
        assert refused.is_error and "MSFT is not on TradeSphere's allowed symbols (AAPL, KO)" in refused.content[0].text
        allowed = await call(client, "place_order", symbol="Apple", side="buy", quantity="1")
        assert allowed.structured_content["status"] == "filled"


@pytest.mark.parametrize("limit", [True, "5", 2.0, 0, 501])
async def test_list_orders_limit_must_be_a_whole_number_in_range(limit):
    """JSON true, a string or a float is not a limit (pydantic would read true as 1); 0 and 501 are out of range."""
    async with connect() as client:
        refused = await call(client, "list_orders", limit=limit)
        assert refused.is_error and "limit" in refused.content[0].text


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_stops_trailing_stops_brackets_and_replace_in_memory(broker):
    async with connect(broker) as client:
        await new_order_types_over_mcp(lambda tool, **arguments: client.call_tool(tool, arguments))
