"""A gateway process on 127.0.0.1 for tests in any folder (gateway, app, reliability): start it, wait for /health,
stop it, read its log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 60.0
"""Upper bound for a gateway to answer /health (startup imports take ~3 s; a loaded CI box is slower)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**settings: str) -> dict[str, str]:
    """This environment without any gateway or broker setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRADING_", "GATEWAY_")) and k not in ("API_KEY", "PORT", "RENDER_EXTERNAL_HOSTNAME")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # These gateways play the console's remote mode with its approval card already given; the confirmation tests
    # pass TRADING_CONFIRM_ORDERS themselves.
    return {**env, "TRADING_CONFIRM_ORDERS": "off", **settings}


class GatewayProcess:
    """A gateway in a subprocess on 127.0.0.1, ready once /health answers (bounded polling)."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, port: int):
        self.command, self.env, self.log_path, self.port = command, env, log_path, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    @classmethod
    def uvicorn(cls, env: dict[str, str], log_path: Path) -> GatewayProcess:
        port = free_port()
        return cls([sys.executable, "-m", "uvicorn", "gateway.app:app", "--host", "127.0.0.1", "--port", str(port)],
                   env, log_path, port)

    def __enter__(self) -> GatewayProcess:
        return self.start().wait_ready()

    def start(self) -> GatewayProcess:
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> GatewayProcess:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"gateway did not become ready: {self.log()[-2000:]}")
            time.sleep(0.05)  # polling interval; readiness is the /health answer

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
