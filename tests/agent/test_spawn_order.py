"""Cold start: local brokers spawn and connect without the slow agents SDK import, which waits for an agent."""

from __future__ import annotations

import json
import subprocess
import sys

from market_times import OPEN

from agent.settings import PROJECT_ROOT

PROBE = r"""
import json, sys
spawns = []

def hook(event, args):
    if event == "subprocess.Popen" and "brokers" in list(map(str, args[1] or [])):
        argv = list(map(str, args[1]))
        if "serve" in argv:  # one broker: `python -m brokers serve <id>`
            ids = [argv[argv.index("serve") + 1]]
        else:  # every local broker from one start-up: `python -m brokers launch <id>=<fd> ...` (Linux)
            ids = [a.split("=")[0] for a in argv[argv.index("launch") + 1:] if "=" in a]
        spawns.extend({"args": i, "agents_imported": "agents" in sys.modules} for i in ids)

sys.addaudithook(hook)
from agent.connections import BrokerConnections
from agent.settings import AgentSettings

connections = BrokerConnections(AgentSettings(data_dir=sys.argv[1], now=sys.argv[2]))
try:
    connections.start()
    states = [s.state for s in connections.statuses()]
    connected_without_sdk = "agents" not in sys.modules
    servers = connections.servers()
finally:
    connections.close()
print(json.dumps({"spawns": spawns, "states": states, "connected_without_sdk": connected_without_sdk,
                  "servers": [type(s).__name__ for s in servers], "agents_imported_at_end": "agents" in sys.modules}))
"""


def test_brokers_spawn_and_connect_before_the_agents_sdk_is_imported(tmp_path):
    """Both brokers (`brokers serve` each, or one `brokers launch` for both) start and connect while `agents` is not
    imported; the SDK's server objects, asked for afterwards, import it and sit on the same sessions."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), OPEN], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(s["args"] for s in report["spawns"]) == ["tradesphere", "velocity"]
    assert not any(s["agents_imported"] for s in report["spawns"]), report
    assert report["states"] == ["connected", "connected"] and report["connected_without_sdk"]
    assert report["servers"] == ["LinkedMCPServerStdio", "LinkedMCPServerStdio"] and report["agents_imported_at_end"]
