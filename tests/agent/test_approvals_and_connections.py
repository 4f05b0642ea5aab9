"""Approvals (approve places, reject places nothing, autonomous skips asking) and the connection manager."""

from __future__ import annotations

import os
import signal
from decimal import Decimal

from agent.assistant import TradingAssistant


def _orders(connections, broker):
    return connections.call(broker, "list_orders", {"status": "all"})["orders"]


def test_approve_places_the_order_with_its_estimate(assistant, connections):
    """An approved order is placed exactly once, on the broker and with the size the card showed."""
    before = len(_orders(connections, "tradesphere"))
    result = assistant.ask("Buy 3 shares of Apple through TradeSphere", session_id="approve")
    [pending] = result.pending_approvals
    assert pending.broker_name == "TradeSphere" and pending.arguments["symbol"] == "AAPL"
    assert Decimal(pending.estimate["fees"]) == Decimal("0.35")
    done = assistant.decide("approve", {pending.call_id: True})
    orders = _orders(connections, "tradesphere")
    assert len(orders) == before + 1 and orders[0]["status"] == "filled" and orders[0]["quantity"] == "3"
    assert "Bought 3 AAPL" in done.reply
    assert any(c.tool == "place_order" and not c.is_error for c in done.tool_calls)


def test_reject_places_nothing_and_says_so(assistant, connections):
    """A rejected order leaves the book untouched and the reply says it was not placed."""
    before = _orders(connections, "velocity")
    cash = connections.call("velocity", "get_account")["cash"]
    result = assistant.ask("Buy 5 MSFT on Velocity", session_id="reject")
    assert len(result.pending_approvals) == 1
    done = assistant.decide("reject", {result.pending_approvals[0].call_id: False})
    assert "not placed" in done.reply.lower()
    assert _orders(connections, "velocity") == before
    assert connections.call("velocity", "get_account")["cash"] == cash


def test_autonomous_mode_places_without_asking(connections):
    """With autonomous mode on, the order runs straight through, as the seed did."""
    settings = connections.settings.model_copy(update={"autonomous": True})
    auto = TradingAssistant(connections, settings)
    result = auto.ask("Buy 2 KO on TradeSphere")
    assert not result.pending_approvals
    assert "Bought 2 KO" in result.reply


def test_nothing_pending_is_a_clear_answer(assistant):
    """Deciding when nothing waits does nothing and says so."""
    assert "nothing" in assistant.decide("no-such-chat", {}).reply.lower()


def test_statuses_report_transport_latency_and_profile(connections):
    """Each broker reports connected, its transport, a measured round trip and its profile."""
    connections.call("tradesphere", "get_account")
    connections.call("velocity", "get_account")
    statuses = {s.id: s for s in connections.statuses()}
    assert set(statuses) == {"tradesphere", "velocity"}
    for status in statuses.values():
        assert status.connected and status.transport == "stdio" and status.latency_ms and status.latency_ms > 0
    assert statuses["velocity"].profile["fill_latency_ms"] == 5
    assert statuses["tradesphere"].profile["name"] == "TradeSphere"


def test_a_killed_broker_is_respawned_and_the_call_succeeds(connections):
    """Killing a broker subprocess costs one reconnect, not an error for the person."""
    import subprocess

    pids = subprocess.run(["pgrep", "-f", "brokers serve velocity"], capture_output=True, text=True).stdout.split()
    ours = [int(p) for p in pids if _env_has(int(p), connections.settings.data_dir)]
    launch = connections._launch  # on Linux both brokers are forked by one `brokers launch` (agent/connections.py)
    if launch is not None and "velocity" in launch.pids and not ours:
        ours = [launch.pids["velocity"]]
    assert ours, "the velocity subprocess of this test module was not found"
    for pid in ours:
        os.kill(pid, signal.SIGKILL)
    account = connections.call("velocity", "get_account")
    assert Decimal(account["cash"]) > 0
    assert {s.id: s.state for s in connections.statuses()}["velocity"] == "connected"


def _env_has(pid: int, data_dir) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return f"TRADING_DATA_DIR={data_dir}".encode() in handle.read()
    except OSError:
        return False
