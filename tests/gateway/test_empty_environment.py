"""An environment variable set to the empty string (as Docker and CI templates often leave them) means "not set"."""

from __future__ import annotations

import subprocess
import sys

from agent.settings import AgentSettings
from brokers.settings import BrokerSettings
from gateway.settings import GatewaySettings


def test_empty_gateway_variables_fall_back_to_defaults(monkeypatch, tmp_path):
    """GATEWAY_KEYS_FILE="" is the default keys file in the data dir, not the current directory."""
    monkeypatch.setenv("TRADING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_KEYS_FILE", "")
    monkeypatch.setenv("API_KEY", "")
    settings = GatewaySettings()
    assert settings.keys_path == tmp_path / "gateway_keys.json"
    assert settings.api_key is None


def test_empty_trading_and_openai_variables_are_unset(monkeypatch):
    """TRADING_DATA_DIR="" and OPENAI_API_KEY="" do not become the working directory or an empty key."""
    monkeypatch.setenv("TRADING_DATA_DIR", "")
    monkeypatch.setenv("TRADING_NOW", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert str(BrokerSettings().data_dir) not in ("", ".")
    assert AgentSettings().openai_api_key is None


def test_keys_cli_with_an_empty_keys_file_variable(tmp_path):
    """`python -m gateway keys create` works when GATEWAY_KEYS_FILE is present but empty."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRADING_DATA_DIR": str(tmp_path), "GATEWAY_KEYS_FILE": ""}
    done = subprocess.run([sys.executable, "-m", "gateway", "keys", "create", "--name", "ci", "--scope", "read"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gateway_keys.json").exists()
    assert "ci" in (tmp_path / "gateway_keys.json").read_text()
