"""The brokers start with the Streamlit server, not with the first page (issue 13, fast start).

`streamlit run app.py` finds the `st.App` in app.py and serves it; its lifespan spawns the local brokers before any
browser connects and closes them when the server stops. Every page view still runs app.py as the script.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_connections(close_connections):
    """Each test starts its own brokers on its own data dir and ends them."""


def _descendants(pid: int) -> dict[int, str]:
    """Processes under `pid` (children, their children...) -> their command lines (Linux /proc)."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = {}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier and child not in found}
        found.update({child: commands.get(child, "") for child in frontier})
    return found


def _brokers(pid: int) -> dict[int, str]:
    """The broker processes under the server: `brokers serve <id>` each, or one `brokers launch` and its forks."""
    return {child: cmd for child, cmd in _descendants(pid).items() if "-m brokers" in cmd}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until(condition, what: str, limit_s: float = 90.0):
    """Poll `condition` (bounded: a readiness wait, not a timing assertion) and return its first truthy value."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"never saw {what} within {limit_s:.0f} s")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_streamlit_run_spawns_the_brokers_before_any_page_and_ends_them_when_it_stops(trading_env, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.address", "127.0.0.1", "--server.port", str(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def healthy() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status == 200
            except OSError:
                assert server.poll() is None, log.read_text()[-2000:]
                return False

        _until(healthy, "the server answering its health check")
        # no page has been opened (a health check starts no session), yet both brokers run and open their books
        _until(lambda: all((trading_env / f"{name}.db").exists() for name in ("tradesphere", "velocity")),
               f"both brokers' databases in {trading_env}")
        brokers = _brokers(server.pid)
        assert len(brokers) >= 2, brokers
        server.send_signal(signal.SIGTERM)  # the server alone: its lifespan ends the brokers
        server.wait(60)
        _until(lambda: not any(_alive(pid) for pid in brokers), "the brokers ending with the server", 30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def test_the_server_lifespan_connects_the_brokers_the_first_page_then_uses_and_closes_them():
    from console import broker_connections

    async def serve_one_page():
        async with broker_connections.server_lifespan(None):
            conns = await asyncio.to_thread(broker_connections.connections)  # what the first page asks for
            await asyncio.to_thread(conns.wait_ready)
            assert [s.state for s in conns.statuses()] == ["connected", "connected"]
            assert await asyncio.to_thread(broker_connections.connections) is conns  # the same manager, not a new one
        return conns

    conns = asyncio.run(serve_one_page())
    assert [s.state for s in conns.statuses()] == ["closed", "closed"]  # the server stopped: so did its brokers


def test_the_server_does_not_collect_garbage_after_every_run():
    """Streamlit's default full gc.collect() after each run cost the server about 2 s of CPU while the brokers
    connected (the sidebar reruns); Python's own collector still runs."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
