"""Broker profiles are data: the two shipped brokers as specified, a third from another file with no code change."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from broker_support import ROOT, TOOLS, cents
from mcp import Client

from brokers.profiles import DEFAULT_PROFILES, ProfileError, get_profile, get_profiles, load_profiles
from brokers.runtime import open_engine
from brokers.server import build_server

NIMBUS = '''
[[broker]]
id = "nimbus"
name = "Nimbus Markets"
specialty = "Test broker with slippage"
fill_latency_ms = 50
fractional_shares = true
starting_cash = "5000"
slippage_bps = "10"
[broker.commission]
per_share = "0.01"
minimum = "2.00"
max_pct_of_value = "2"
[broker.limits]
max_order_notional = "1000"
'''


def test_the_two_shipped_brokers():
    profiles = get_profiles()
    assert list(profiles) == ["tradesphere", "velocity"]
    trade, velocity = profiles["tradesphere"], profiles["velocity"]
    assert (trade.name, trade.specialty, trade.fill_latency_ms, trade.fractional_shares) == (
        "TradeSphere", "Lowest fees, standard execution", 400, True)
    assert (velocity.name, velocity.specialty, velocity.fill_latency_ms, velocity.fractional_shares) == (
        "VelocityBrokers", "Ultra-fast execution, medium fees", 5, False)
    assert (trade.commission.per_share, trade.commission.minimum, trade.commission.max_pct_of_value) == (
        Decimal("0.0035"), Decimal("0.35"), Decimal("0.5"))
    assert (velocity.commission.per_share, velocity.commission.minimum, velocity.commission.max_pct_of_value) == (
        Decimal("0.0065"), Decimal("1.00"), Decimal("1.0"))
    for profile in (trade, velocity):
        assert str(profile.starting_cash) == "100000.00" and profile.slippage_bps == 0
        assert (profile.limits.max_order_notional, profile.limits.symbol_allowlist, profile.limits.read_only) == (None, None, False)
    assert (trade.quantity_places, velocity.quantity_places) == (6, 0)
    assert trade.commission.describe() == "$0.0035 per share, minimum $0.35, capped at 0.5% of trade value"
    assert velocity.fill_latency_ms < trade.fill_latency_ms and trade.commission.minimum < velocity.commission.minimum


@pytest.fixture
def third_broker_file(tmp_path, monkeypatch):
    path = tmp_path / "profiles.toml"
    path.write_text(DEFAULT_PROFILES.read_text(encoding="utf-8") + NIMBUS, encoding="utf-8")
    monkeypatch.setenv("TRADING_PROFILES", str(path))
    return path


def test_brokers_list_shows_a_third_broker(third_broker_file):
    out = subprocess.run([sys.executable, "-m", "brokers", "list"], cwd=ROOT, env=dict(os.environ),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["tradesphere", "velocity", "nimbus"]
    assert "Nimbus Markets" in lines[2] and "Test broker with slippage" in lines[2] and "starts with $5,000.00" in lines[2]
    assert "$0.01 per share, minimum $2.00, capped at 2% of trade value" in lines[2] and "fill ~50 ms" in lines[2]


async def test_a_third_broker_serves_in_memory_with_no_code_change(third_broker_file):
    """The new entry gets the same eleven tools, its own cash, fees, slippage and limit."""
    profile = get_profile("nimbus")
    engine = open_engine(profile)
    async with Client(build_server(profile, engine)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        card = (await client.call_tool("get_broker_profile", {})).structured_content
        assert (card["name"], card["starting_cash"], card["max_order_notional"], card["fill_latency_ms"]) == (
            "Nimbus Markets", "5000.00", "1000", 50)
        ask = engine.quote("KO").ask
        price = cents(ask + ask * 10 / 10_000)  # 10 bp slippage against a market buy
        value = cents(3 * price)
        fee = cents(min(max(Decimal("0.03"), Decimal("2.00")), value * 2 / 100))
        placed = (await client.call_tool("place_order", {"symbol": "KO", "side": "buy", "quantity": "3"})).structured_content
        assert (placed["status"], placed["average_fill_price"], placed["fees"]) == ("filled", str(price), str(fee))
        account = (await client.call_tool("get_account", {})).structured_content
        assert account["cash"] == str(Decimal("5000.00") - value - fee)
        too_big = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "10"})
        assert too_big.is_error and "over Nimbus Markets's per-order limit of $1,000.00" in too_big.content[0].text
    assert open_engine(get_profile("tradesphere")).account().cash == Decimal("100000.00")  # a separate book


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read broker profiles from"),
    ("[[broker]\nid = ", "cannot read broker profiles from"),
    ("# nothing here\n", "no [[broker]] entries in"),
    (NIMBUS + NIMBUS, "broker id 'nimbus' appears twice in"),
    (NIMBUS.replace('fill_latency_ms = 50', 'fill_latency_ms = -1'), "bad broker profile in"),
    (NIMBUS.replace('id = "nimbus"', 'id = "Nimbus Markets"'), "bad broker profile in"),
    (NIMBUS.replace('starting_cash = "5000"', 'starting_cash = "lots"'), "bad broker profile in"),
    (NIMBUS + 'fees = "none"\n', "bad broker profile in"),
    (NIMBUS.replace('minimum = "2.00"\n', ''), "bad broker profile in"),
], ids=["missing", "bad-toml", "no-brokers", "duplicate-id", "negative-latency", "bad-id", "bad-cash", "unknown-key",
        "missing-minimum"])
def test_bad_profile_files_name_the_file(tmp_path, content, words):
    path = tmp_path / "bad-profiles.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profiles(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_the_cli_reports_profile_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(NIMBUS + NIMBUS, encoding="utf-8")
    listing = subprocess.run([sys.executable, "-m", "brokers", "list"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "TRADING_PROFILES": str(bad)})
    assert listing.returncode == 2 and listing.stdout == ""
    assert listing.stderr.strip() == f"error: broker id 'nimbus' appears twice in {bad}"
    unknown = subprocess.run([sys.executable, "-m", "brokers", "serve", "nimbus"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, env=dict(os.environ))
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith("error: unknown broker 'nimbus'; known brokers: tradesphere, velocity")
