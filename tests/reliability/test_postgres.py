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


def test_an_old_book_on_postgres_upgrades_once_under_two_openers_and_widens_order_type(pg_url, monkeypatch):
    """The books-v1 TradeSphere book copied into today's-release schema on PostgreSQL (order_type VARCHAR(8), no version table): two openers at once upgrade it once, its orders and cash read back, and a trailing_stop fits."""
    import json
    import sqlite3
    import threading

    from sqlalchemy import create_engine, text

    from brokers.migrations import HEAD, upgrade
    from brokers.persistence import BrokerDatabase
    from brokers.runtime import open_engine

    fixture = Path(__file__).resolve().parents[1] / "brokers" / "fixtures" / "books-v1"
    expected = json.loads((fixture / "expected.json").read_text())["brokers"]["tradesphere"]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE books_v1")
    admin.dispose()
    url = pg_url.replace("/trading?", "/books_v1?")
    old = create_engine(url)
    with old.begin() as connection, sqlite3.connect(fixture / "tradesphere.db") as book:
        connection.exec_driver_sql('CREATE SCHEMA "tradesphere"')
        connection.exec_driver_sql('SET LOCAL search_path TO "tradesphere"')
        upgrade(connection, "tradesphere", revision="0001")
        connection.exec_driver_sql('DROP TABLE "tradesphere".alembic_version')  # that release kept no version
        for table in ("accounts", "orders", "positions", "fills"):
            cursor = book.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor]
            connection.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"), rows)
            if "seq" in names:  # rows copied with their seq: the serial goes on after them, as in the original book
                connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('tradesphere.{table}', 'seq'), "
                                           f"(SELECT max(seq) FROM {table}))")
    length = "SELECT character_maximum_length FROM information_schema.columns WHERE table_schema = 'tradesphere' AND table_name = 'orders' AND column_name = 'order_type'"
    with old.connect() as connection:
        assert connection.exec_driver_sql(length).scalar() == 8

    start, failures = threading.Barrier(2), []

    def opener():
        start.wait()
        try:
            BrokerDatabase(url, "tradesphere").dispose()
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(repr(exc))

    threads = [threading.Thread(target=opener) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with old.connect() as connection:
        assert connection.exec_driver_sql(length).scalar() == 16
        assert connection.exec_driver_sql('SELECT version_num FROM "tradesphere".alembic_version').scalars().all() == [HEAD]
    old.dispose()

    monkeypatch.setenv("TRADING_DATABASE_URL", url)
    monkeypatch.setenv("TRADING_NOW", OPEN)
    engine = open_engine(get_profiles()["tradesphere"])
    by_id = {o.id: o for o in engine.list_orders(limit=500)}
    assert set(by_id) == {o["id"] for o in expected["orders"]}
    assert {o["id"]: o["order_type"] for o in expected["orders"]} == {i: o.order_type.value for i, o in by_id.items()}
    assert str(engine.account().starting_cash) == expected["account"]["starting_cash"]
    from brokers.domain import OrderRequest, OrderStatus

    engine.place_order(OrderRequest.parse(symbol="AAPL", side="buy", quantity="1"))
    trailing = engine.place_order(OrderRequest.parse(symbol="AAPL", side="sell", quantity="1", order_type="trailing_stop",
                                                     trail_percent="5", time_in_force="gtc"))
    assert (trailing.status, trailing.order_type.value) == (OrderStatus.OPEN, "trailing_stop")
    engine.db.dispose()
