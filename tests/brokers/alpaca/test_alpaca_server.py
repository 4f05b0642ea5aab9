"""The Alpaca broker served by the one server factory: the same tools and typed results, and the safety features
(confirmation by elicitation or token, the kill switch, environment "paper"), through `mcp.Client` in memory and
through `python -m brokers serve alpaca` as a real stdio subprocess; plus `python -m brokers list`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import mcp.types as types
from alpaca_fake import KEY_ID, SECRET
from broker_support import ROOT, TOOLS
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from brokers.controls import set_halted
from brokers.server import build_server

BUY = {"symbol": "AAPL", "side": "buy", "quantity": "2"}


class Person:
    """An elicitation callback that answers as told and remembers what it was asked."""

    def __init__(self, confirm: bool = True):
        self.confirm, self.asked = confirm, []

    async def __call__(self, _context, params):
        self.asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": self.confirm})


async def test_the_same_tools_and_typed_results(alpaca_engine, profile, fake):
    engine = alpaca_engine()
    async with Client(build_server(profile, engine, confirm_orders="off")) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        card = (await client.call_tool("get_broker_profile", {})).structured_content
        assert (card["kind"], card["configured"], card["environment"], card["market"]["source"]) == (
            "alpaca", True, "paper", "alpaca")
        assert card["commission_per_share"] == "0" and "estimated" in card["fee_schedule"]
        quote = await client.call_tool("get_quote", {"symbol": "MSFT"})
        assert quote.structured_content["source"] == "alpaca" and "Alpaca quote" in quote.content[0].text
        placed = (await client.call_tool("place_order", dict(BUY, client_order_id="srv-1"))).structured_content
        assert (placed["status"], placed["environment"], placed["average_fill_price"]) == ("filled", "paper", "190.14")
        positions = (await client.call_tool("fetch_positions", {})).structured_content["positions"]
        assert [(p["symbol"], p["quantity"]) for p in positions] == [("AAPL", "2")]
        orders = (await client.call_tool("list_orders", {})).structured_content["orders"]
        assert [o["client_order_id"] for o in orders] == ["srv-1"]
        summary = (await client.call_tool("get_portfolio_summary", {})).structured_content
        assert summary["total_positions"] == 1 and summary["equity_curve"]
        refused = await client.call_tool("place_order", dict(BUY, quantity="1000"))
        assert refused.is_error and "insufficient buying power" in refused.content[0].text
        imported = await client.call_tool("add_position", {"symbol": "MSFT", "quantity": "5", "purchase_price": "300"})
        assert imported.is_error and "refused on a real account" in imported.content[0].text
    assert len(fake.orders) == 1


async def test_elicitation_asks_before_anything_reaches_alpaca(alpaca_engine, profile, fake):
    person = Person(confirm=False)
    async with Client(build_server(profile, alpaca_engine(), confirm_orders="elicit"),
                      elicitation_callback=person) as client:
        declined = (await client.call_tool("place_order", BUY)).structured_content
        assert declined["status"] == "declined" and not fake.orders
        person.confirm = True
        placed = (await client.call_tool("place_order", BUY)).structured_content
        assert placed["confirmation"] == "elicited" and len(fake.orders) == 1
        assert "Alpaca (paper)" in person.asked[0] and "paper account" in person.asked[0]
        imported = await client.call_tool("add_position", {"symbol": "MSFT", "quantity": "5", "purchase_price": "300"})
        assert imported.is_error and len(person.asked) == 2  # nobody is asked to confirm an import that is refused


async def test_a_token_previews_first_and_a_halt_refuses_with_nothing_sent(alpaca_engine, profile, fake):
    engine = alpaca_engine()
    async with Client(build_server(profile, engine, confirm_orders="token")) as client:
        preview = (await client.call_tool("place_order", BUY)).structured_content
        assert preview["status"] == "confirmation_required" and preview["estimate"]["fees"] == "0"
        assert not fake.orders
        token = preview["confirmation_token"]
        placed = (await client.call_tool("place_order", dict(BUY, confirmation_token=token))).structured_content
        assert placed["confirmation"] == "token" and len(fake.orders) == 1
        reused = await client.call_tool("place_order", dict(BUY, confirmation_token=token))
        assert reused.is_error and reused.structured_content["status"] == "confirmation_used" and len(fake.orders) == 1
        set_halted(engine.db, True, "desk drill", datetime.now(UTC))
        halted = await client.call_tool("place_order", BUY)
        assert halted.is_error and "desk drill" in halted.content[0].text
        assert (await client.call_tool("get_broker_profile", {})).structured_content["halted"] is True
    assert len(fake.seen("POST", "/v2/orders")) == 1


async def test_without_keys_the_broker_says_not_configured_and_still_describes_itself(alpaca_engine, profile, fake):
    engine = alpaca_engine(problem="not configured: no Alpaca API keys")
    async with Client(build_server(profile, engine, confirm_orders="off")) as client:
        card = await client.call_tool("get_broker_profile", {})
        assert not card.is_error and card.structured_content["configured"] is False
        assert "not configured" in card.structured_content["problem"] and "not configured" in card.content[0].text
        for tool, arguments in (("get_account", {}), ("get_quote", {"symbol": "AAPL"}), ("place_order", BUY)):
            result = await client.call_tool(tool, arguments)
            assert result.is_error and "not configured" in result.content[0].text, tool
    assert not fake.requests


def profiles_file(tmp_path, base_url: str, data_url: str) -> str:
    path = tmp_path / "profiles.toml"
    path.write_text((ROOT / "brokers" / "profiles.toml").read_text() + (
        f'\n[[broker]]\nid = "alpaca"\nkind = "alpaca"\nname = "Alpaca (paper)"\nbase_url = "{base_url}"\n'
        f'data_url = "{data_url}"\n'))
    return str(path)


def broker_env(tmp_path, profiles: str, keys: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APCA_", "TRADING_"))}
    env.update(TRADING_PROFILES=profiles, TRADING_DATA_DIR=str(tmp_path / "data"), TRADING_CONFIRM_ORDERS="off",
               PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
               NO_PROXY="127.0.0.1,localhost")
    if keys:
        env.update(APCA_API_KEY_ID=KEY_ID, APCA_API_SECRET_KEY=SECRET)
    return env


async def test_python_m_brokers_serve_alpaca_over_stdio(tmp_path, alpaca_server, fake):
    env = broker_env(tmp_path, profiles_file(tmp_path, alpaca_server.url, alpaca_server.url))
    params = StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", "alpaca"], env=env,
                                   cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        account = (await session.call_tool("get_account", {})).structured_content
        assert account["cash"] == "25000.00" and account["broker"] == "alpaca"
        placed = (await session.call_tool("place_order", dict(BUY, client_order_id="stdio-1"))).structured_content
        assert placed["status"] == "filled" and fake.by_cid("stdio-1")


def test_brokers_list_and_a_live_endpoint_refused_at_start(tmp_path, alpaca_server):
    profiles = profiles_file(tmp_path, alpaca_server.url, alpaca_server.url)

    def run(*args: str, keys: bool = True, path: str = profiles) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "brokers", *args], env=broker_env(tmp_path, path, keys),
                              cwd=str(ROOT), capture_output=True, text=True, timeout=60)

    listed = run("list")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("alpaca"))
    assert listed.returncode == 0 and "tradesphere" in listed.stdout and "configured (keys from environment)" in line
    bare = run("list", keys=False)
    assert "not configured: no Alpaca API keys" in next(ln for ln in bare.stdout.splitlines() if ln.startswith("alpaca"))
    (tmp_path / "live").mkdir()
    live = profiles_file(tmp_path / "live", "https://api.alpaca.markets", alpaca_server.url)
    refused = run("serve", "alpaca", path=live)
    assert refused.returncode == 2 and "not Alpaca's paper endpoint" in refused.stderr and "live" in refused.stderr
    assert SECRET not in refused.stderr + listed.stdout + bare.stdout
