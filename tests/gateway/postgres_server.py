"""A throwaway PostgreSQL server from Debian's binaries, in a temp dir, reached over its Unix socket only.

Absent binaries skip the test on a developer's machine; under CI (CI=true) they fail it, because
scripts/test.sh installs postgresql there and a silent skip would hide a lost test.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def server_binaries() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl; skips (fails under CI) when absent."""
    found = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0))
             if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    problem = None
    if not found:
        problem = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
    elif os.geteuid() == 0 and not shutil.which("runuser"):
        problem = "running as root without runuser: cannot start PostgreSQL as the postgres user"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI must run the PostgreSQL test (scripts/test.sh installs it)")
        pytest.skip(problem)
    return found[-1]


def _as_server_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresServer:
    """initdb + pg_ctl start in a fresh temp dir; `url` is a SQLAlchemy URL of database `trading`."""

    def __init__(self, binaries: Path):
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="gw-pg-"))  # short: a Unix socket path has ~100 characters
        self.data = self.root / "data"
        self.port = 5432  # only names the socket file; no TCP listener
        self.url = f"postgresql+psycopg://postgres@/trading?host={self.root}&port={self.port}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(_as_server_user([str(self.bin / args[0]), *args[1:]]), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-1500:]}{self.log()}")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses='' -c unix_socket_directories={self.root} -c port={self.port} "
                   "-c max_connections=100 -c fsync=off -c synchronous_commit=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "trading")
        return self

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
