"""What every figure runs in: a throwaway data dir, a frozen open market, subprocesses that always end."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MARKET_OPEN = "2026-11-24T10:30:00-05:00"
"""A Tuesday 10:30 in New York: the frozen clock every run uses, so orders fill at once."""
LOOPBACK = "127.0.0.1"

_UNSET_FOR_RUNS = ("TRADING_DATABASE_URL", "TRADING_MAX_ORDER_NOTIONAL", "TRADING_READ_ONLY", "TRADING_SYMBOL_ALLOWLIST",
                   "TRADING_PROFILES", "TRADING_GATEWAY_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "API_KEY",
                   "TRADING_API_KEY", "TRADING_AUTONOMOUS")


@dataclass(frozen=True)
class BenchConfig:
    """One run of `python -m bench`."""

    quick: bool
    """Fewer repetitions so the whole run stays under a minute."""
    workdir: Path
    """Scratch space; each figure makes its own data dirs below it."""

    def reps(self, quick: int, full: int) -> int:
        return quick if self.quick else full

    def data_dir(self, name: str) -> Path:
        """A fresh, empty data dir for one scenario."""
        path = self.workdir / name
        suffix = 1
        while path.exists():
            suffix += 1
            path = self.workdir / f"{name}-{suffix}"
        path.mkdir(parents=True)
        return path


def run_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a broker or console subprocess: this run's data dir, the frozen clock, no keys."""
    env = {k: v for k, v in os.environ.items() if k not in _UNSET_FOR_RUNS}
    env["TRADING_DATA_DIR"] = str(data_dir)
    env["TRADING_NOW"] = MARKET_OPEN
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


@contextlib.contextmanager
def trading_environment(data_dir: Path) -> Iterator[None]:
    """Point this process's TRADING_* settings at `data_dir` and the frozen clock, then restore them."""
    wanted = {"TRADING_DATA_DIR": str(data_dir), "TRADING_NOW": MARKET_OPEN}
    saved = {k: os.environ.get(k) for k in (*wanted, *_UNSET_FOR_RUNS)}
    for key in _UNSET_FOR_RUNS:
        os.environ.pop(key, None)
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Return once something accepts connections on 127.0.0.1:port; fail if the process died first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited with {process.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {LOOPBACK}:{port} after {timeout_s:.0f} s")


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def start(command: list[str], env: dict[str, str], **options) -> subprocess.Popen:
    """A subprocess in its own process group (so `stop` also ends anything it spawned)."""
    options.setdefault("stdout", subprocess.DEVNULL)
    options.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, start_new_session=True, **options)


def run_json(command: list[str], env: dict[str, str], timeout_s: float, what: str) -> dict:
    """Run a measuring subprocess to its end and return the JSON object on its last line of output.

    Raises subprocess.TimeoutExpired when it takes longer than `timeout_s`, RuntimeError when it fails."""
    process = None
    try:
        process = start(command, env, stdout=subprocess.PIPE, text=True)
        out, _ = process.communicate(timeout=timeout_s)
    finally:
        stop(process)
    lines = out.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {process.returncode})")
    return json.loads(lines[-1])


def stop(process: subprocess.Popen | None, grace_s: float = 5.0) -> None:
    """Terminate a subprocess started by `start` and its group; kill what does not exit in time."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace_s)
