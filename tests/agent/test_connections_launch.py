"""Both local brokers from one `python -m brokers launch` (Linux): one start-up, then a forked process per broker,
each its own MCP server and database; a dropped one comes back on its own; closing leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from market_times import OPEN

from agent.connections import BrokerConnections
from agent.settings import PROJECT_ROOT, AgentSettings

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the shared launch forks (Linux); elsewhere each is spawned")


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[0] in ("Z", "X"):
                continue
            found[int(entry.name)] = (int(stat[1]), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def _until(condition, what: str, limit_s: float = 30.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"never saw {what} within {limit_s:.0f} s")


def _mine() -> dict[int, tuple[int, str]]:
    """Broker processes under this test process (the launch, its forks, a broker spawned on its own)."""
    every = _processes()
    ours, frontier = {}, {os.getpid()}
    while frontier:
        children = {pid: info for pid, info in every.items() if info[0] in frontier and pid not in ours}
        ours.update(children)
        frontier = set(children)
    return {pid: info for pid, info in ours.items() if "-m brokers" in info[1]}


def test_both_brokers_come_from_one_launch_each_its_own_process_and_book(tmp_path):
    conns = BrokerConnections(AgentSettings(data_dir=tmp_path, now=OPEN))
    try:
        conns.start()
        assert [s.state for s in conns.statuses()] == ["connected", "connected"]
        launches = [pid for pid, (parent, cmd) in _mine().items() if "brokers launch" in cmd and parent == os.getpid()]
        assert len(launches) == 1
        forks = conns._launch.pids
        assert sorted(forks) == ["tradesphere", "velocity"] and len(set(forks.values())) == 2
        assert all(_processes()[pid][0] == launches[0] for pid in forks.values())  # forked by the launch
        assert all(os.getsid(pid) == pid for pid in forks.values())  # each in a session of its own
        conns.call("tradesphere", "add_position", {"symbol": "AAPL", "quantity": "3", "purchase_price": "100"})
        assert [p["symbol"] for p in conns.call("tradesphere", "fetch_positions")["positions"]] == ["AAPL"]
        assert conns.call("velocity", "fetch_positions")["positions"] == []  # its own book
        assert (tmp_path / "tradesphere.db").exists() and (tmp_path / "velocity.db").exists()
    finally:
        conns.close()
    _until(lambda: not _mine(), "no broker process left after close")


def test_a_forked_broker_that_dies_is_spawned_again_on_its_own_and_the_other_goes_on(tmp_path):
    conns = BrokerConnections(AgentSettings(data_dir=tmp_path, now=OPEN))
    try:
        conns.start()
        forks = dict(conns._launch.pids)
        os.kill(forks["velocity"], signal.SIGKILL)
        assert conns.call("velocity", "get_account")["cash"] == "100000.00"  # reconnected
        assert conns.links["velocity"].drops == 1
        alone = [cmd for _, cmd in _mine().values() if "brokers serve velocity" in cmd]
        assert len(alone) == 1  # spawned on its own, as without a launch
        assert conns.call("tradesphere", "get_account")["cash"] == "100000.00"
        assert conns.links["tradesphere"].drops == 0 and forks["tradesphere"] in _mine()
    finally:
        conns.close()
    _until(lambda: not _mine(), "no broker process left after close")


def test_launch_refuses_an_unknown_broker_before_forking(tmp_path):
    mine, theirs = socket.socketpair()
    with mine, theirs:
        env = dict(os.environ, TRADING_DATA_DIR=str(tmp_path))
        done = subprocess.run([sys.executable, "-m", "brokers", "launch", f"nosuch={theirs.fileno()}"], cwd=PROJECT_ROOT,
                              env=env, pass_fds=[theirs.fileno()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nosuch" in done.stderr and done.stdout == ""
