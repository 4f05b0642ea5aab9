"""The same promises on PostgreSQL (TRADING_DATABASE_URL): concurrent writers and retried client_order_ids.

PostgreSQL serializes writers differently from SQLite (the account row is locked FOR UPDATE), so the
two-process checks run again on a throwaway cluster from Debian's server binaries, on a Unix socket.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from market_times import OPEN
from reliability_support import audit, count, lost_and_doubled, payload, read_book, result_text, stdio_brokers

from brokers.profiles import get_profiles

pytestmark = pytest.mark.postgres
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_postgres(args: list[str]) -> list[str]:
    """The server refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def pg_url():
    if not BINARIES or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    bin_dir = Path(BINARIES[-1])
    root = Path(tempfile.mkdtemp(prefix="pg-reliability-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    port = 54000 + os.getpid() % 1000
    options = f"-c listen_addresses='' -c unix_socket_directories={root} -c port={port} -c max_connections=50"
    subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "pg.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        subprocess.run(_as_postgres([str(bin_dir / "createdb"), "-h", str(root), "-p", str(port), "-U", "postgres", "trading"]),
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@/trading?host={root}&port={port}"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def test_two_processes_on_postgres_place_every_order_once(pg_url, tmp_path):
    """Two processes x 100 orders, each also retrying the other's ids, on one PostgreSQL database: 200 orders, cash conserved."""
    orders = 100

    async def writer(session, tag: str, other: str) -> list[str]:
        errors = []
        for i in range(orders):
            calls = [{"client_order_id": f"{tag}-{i}"}] + ([{"client_order_id": f"{other}-{i}"}] if i % 3 == 0 else [])
            for extra in calls:
                count("orders_attempted")
                result = await session.call_tool("place_order", {"symbol": "PLUG", "side": "buy", "quantity": "1", **extra})
                if result.is_error:
                    errors.append(result_text(result))
        return errors

    async with stdio_brokers(2, tmp_path, OPEN, TRADING_DATABASE_URL=pg_url) as (first, second):
        errors = await asyncio.gather(writer(first, "a", "b"), writer(second, "b", "a"))
    assert errors == [[], []], [e[:3] for e in errors]
    book = audit(read_book(pg_url, "tradesphere"), get_profiles()["tradesphere"].commission)
    lost, doubled = lost_and_doubled(book, [f"{tag}-{i}" for tag in "ab" for i in range(orders)])
    assert not lost and not doubled, (lost[:5], doubled[:5])
    assert len(book.orders) == 2 * orders and len(book.fills) == 2 * orders
    assert book.reference["PLUG"].quantity == 2 * orders


async def test_same_client_order_id_from_two_processes_on_postgres_places_one_order(pg_url, tmp_path):
    """100 concurrent retries of one client_order_id from two processes on PostgreSQL: exactly one order; another use is refused."""
    arguments = {"symbol": "KO", "side": "buy", "quantity": "2", "client_order_id": "pg-retry-1"}
    async with stdio_brokers(2, tmp_path, OPEN, broker="velocity", TRADING_DATABASE_URL=pg_url) as (first, second):
        retries = [s.call_tool("place_order", arguments) for _ in range(50) for s in (first, second)]
        count("orders_attempted", len(retries))
        results = await asyncio.gather(*retries)
        assert len(results) == 100 and not [result_text(r) for r in results if r.is_error]
        assert len({payload(r)["id"] for r in results}) == 1
        count("orders_attempted")
        different = await second.call_tool("place_order", {**arguments, "quantity": "3"})
        assert different.is_error and "pg-retry-1" in result_text(different)
    book = audit(read_book(pg_url, "velocity"), get_profiles()["velocity"].commission)
    lost, doubled = lost_and_doubled(book, ["pg-retry-1"])
    assert not lost and not doubled, (lost, doubled)
    assert [o["client_order_id"] for o in book.orders.values()] == ["pg-retry-1"] and len(book.fills) == 1
