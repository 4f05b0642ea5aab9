"""`python -m agent` end to end against real stdio broker subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from market_times import OPEN

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, data_dir, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRADING_API_KEY")}
    env.update({"TRADING_DATA_DIR": str(data_dir), "TRADING_NOW": OPEN, **(extra_env or {})})
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_pending_order_without_yes_exits_3_and_places_nothing(tmp_path):
    """Without --yes an order is shown as pending, not placed, and the exit status is 3."""
    out = run_cli("--json", "Buy 10 shares of Apple through TradeSphere", data_dir=tmp_path)
    assert out.returncode == 3, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    [pending] = result["pending_approvals"]
    assert pending["server"] == "tradesphere" and pending["arguments"]["symbol"] == "AAPL"
    assert pending["estimate"]["fees"] == "0.35"
    check = run_cli("--json", "show my order history", data_dir=tmp_path)
    assert json.loads(check.stdout.strip().splitlines()[-1])["reply"] == "You have no orders yet."


def test_yes_places_and_session_follow_up_works_across_invocations(tmp_path):
    """--yes approves; with --session the next invocation understands 'add 10 more', and 'make it 20' after a filled
    order asks instead of doubling it."""
    first = run_cli("--json", "--yes", "--session", "chat1", "Buy 10 AMD on Velocity", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout.strip().splitlines()[-1])
    assert one["model"] == "offline"
    placed = [c for c in one["tool_calls"] if c["tool"] == "place_order"]
    assert placed[0]["server"] == "velocity" and placed[0]["output"]["status"] == "filled"
    second = run_cli("--json", "--yes", "--session", "chat1", "add 10 more", data_dir=tmp_path)
    two = json.loads(second.stdout.strip().splitlines()[-1])
    [order] = [c for c in two["tool_calls"] if c["tool"] == "place_order"]
    assert order["server"] == "velocity" and order["arguments"]["quantity"] == "10" and order["arguments"]["symbol"] == "AMD"
    third = run_cli("--json", "--yes", "--session", "chat1", "make it 20", data_dir=tmp_path)
    three = json.loads(third.stdout.strip().splitlines()[-1])
    assert not [c for c in three["tool_calls"] if c["tool"] in ("place_order", "replace_order")]
    assert "already filled" in three["reply"]


def test_plain_output_is_the_reply(tmp_path):
    """Without --json the reply is printed for a person."""
    out = run_cli("what is Apple trading at?", data_dir=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("AAPL (Apple Inc.) is at $")


def test_bad_usage_and_configuration_exit_2(tmp_path):
    """No request, or --remote without a key, is a clear error with exit status 2."""
    assert run_cli(data_dir=tmp_path).returncode == 2
    out = run_cli("--remote", "http://127.0.0.1:9", "hi", data_dir=tmp_path)
    assert out.returncode == 2 and "TRADING_API_KEY" in out.stderr


def test_yes_approves_every_order_of_a_message_and_the_conversation_carries_on(tmp_path):
    """'buy 20 Visa and 15 Mastercard' stages two orders; --yes places both; a follow-up in the same session sells
    where the shares are."""
    first = run_cli("--json", "--yes", "--session", "s", "buy 20 Visa and 15 Mastercard", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    placed = [c for c in json.loads(first.stdout.strip().splitlines()[-1])["tool_calls"] if c["tool"] == "place_order"]
    assert sorted((c["arguments"]["symbol"], c["arguments"]["quantity"], c["output"]["status"]) for c in placed) == [
        ("MA", "15", "filled"), ("V", "20", "filled")]
    second = run_cli("--json", "--yes", "--session", "s", "now dump half of the visa", data_dir=tmp_path)
    [sold] = [c for c in json.loads(second.stdout.strip().splitlines()[-1])["tool_calls"] if c["tool"] == "place_order"]
    assert (sold["server"], sold["arguments"]) == ("tradesphere", {"symbol": "V", "side": "sell", "quantity": "10"})


def test_an_approved_order_through_a_gateway_that_confirms_in_the_server_is_placed_once(tmp_path):
    """The gateway's brokers run with TRADING_CONFIRM_ORDERS=elicit (the default); this client cannot be asked, so
    the broker answers with a token preview: --yes is the person's approval of that very order, and the agent
    confirms it with the token. One order, filled; nothing else placed."""
    from gateway_process import GatewayProcess, process_env

    key = "cli-gateway-test-key-0123456789"
    (tmp_path / "gateway").mkdir()
    env = process_env(API_KEY=key, TRADING_DATA_DIR=str(tmp_path / "gateway"), TRADING_NOW=OPEN,
                      TRADING_CONFIRM_ORDERS="elicit")
    with GatewayProcess.uvicorn(env, tmp_path / "gateway.log") as gateway:
        out = run_cli("--json", "--yes", "--remote", gateway.url, "buy 1 AAPL on velocity", data_dir=tmp_path / "cli",
                      extra_env={"TRADING_API_KEY": key})
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        [placed] = [c for c in result["tool_calls"] if c["tool"] == "place_order"]
        assert placed["output"]["status"] == "filled" and placed["output"]["environment"] == "paper", placed
        listed = run_cli("--json", "--remote", gateway.url, "show my order history", data_dir=tmp_path / "cli",
                         extra_env={"TRADING_API_KEY": key})
        history = json.loads(listed.stdout.strip().splitlines()[-1])["reply"]
        assert history.count("AAPL") == 1, history
