"""`python -m gateway keys create|list|revoke`: a key is printed once and only its hash stored; a revoked
key gets 401 from the running gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway_support import MCP_HEADERS, call, running

ROOT = Path(__file__).resolve().parents[2]


def cli(keys_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "API_KEY"}
    env["GATEWAY_KEYS_FILE"] = str(keys_path)
    return subprocess.run([sys.executable, "-m", "gateway", "keys", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


async def test_create_list_revoke(tmp_path, monkeypatch):
    keys_path = tmp_path / "keys.json"
    created = cli(keys_path, "create", "--name", "alice", "--scope", "trade")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("tk_") and created.stdout.count(key) == 1 and "\n" not in key
    assert "only time it is shown" in created.stderr and key not in created.stderr
    stored = keys_path.read_text()
    assert key not in stored and '"sha256"' in stored and keys_path.stat().st_mode & 0o777 == 0o600
    assert cli(keys_path, "create", "--name", "bob", "--scope", "read").returncode == 0

    listed = cli(keys_path, "list")
    assert listed.returncode == 0
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [["alice", "trade"], ["bob", "read"]]
    assert key not in listed.stdout

    monkeypatch.setenv("GATEWAY_KEYS_FILE", str(keys_path))
    from gateway.app import create_app

    async with running(create_app()) as client:
        async def status():
            response = await client.post("/velocity/mcp", json=call("get_account"), headers={**MCP_HEADERS, "X-API-Key": key})
            return response.status_code

        assert await status() == 200
        revoked = cli(keys_path, "revoke", "alice")
        assert revoked.returncode == 0 and "revoked alice" in revoked.stderr
        assert await status() == 401
    assert [line.split("\t")[0] for line in cli(keys_path, "list").stdout.splitlines()] == ["bob"]


def test_refusals_are_plain_errors(tmp_path):
    keys_path = tmp_path / "keys.json"
    assert cli(keys_path, "create", "--name", "alice", "--scope", "trade").returncode == 0
    duplicate = cli(keys_path, "create", "--name", "alice", "--scope", "read")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr and duplicate.stdout == ""
    bad_scope = cli(keys_path, "create", "--name", "carol", "--scope", "admin")
    assert bad_scope.returncode == 2 and "invalid choice" in bad_scope.stderr
    bad_name = cli(keys_path, "create", "--name", "a b;rm", "--scope", "read")
    assert bad_name.returncode == 2 and "key name" in bad_name.stderr
    missing = cli(keys_path, "revoke", "nobody")
    assert missing.returncode == 2 and "no key named 'nobody'" in missing.stderr


def test_list_shows_the_environment_key_by_name_only(tmp_path):
    env = {**os.environ, "GATEWAY_KEYS_FILE": str(tmp_path / "keys.json"), "API_KEY": "env-key-" + "9" * 24}
    listed = subprocess.run([sys.executable, "-m", "gateway", "keys", "list"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.stdout.splitlines() == ["env:API_KEY\ttrade\tenvironment"]
    assert env["API_KEY"] not in listed.stdout + listed.stderr
