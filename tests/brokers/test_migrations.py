"""Schema migrations: a book written by the release before them opens unchanged, a fresh database is the models'
schema, and two processes opening one old book at the same moment upgrade it once.

fixtures/books-v1 is a copy of the acceptance fixture: two SQLite books written by that release (filled, queued,
open-limit, cancelled, rejected and expired orders, positions, an import) and what its tools answered about them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from broker_support import ROOT
from mcp import Client
from sqlalchemy import create_engine

from brokers.migrations import HEAD, SCRIPT_LOCATION
from brokers.persistence import Base, BrokerDatabase
from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import build_server

FIXTURE = Path(__file__).parent / "fixtures" / "books-v1"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
NEW_ORDER_FIELDS = ("stop_price", "trail_percent", "trail_price", "high_water_mark", "triggered_at", "parent_id", "replaces")


def same(want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if want == got:
        return True
    try:
        return Decimal(str(want)) == Decimal(str(got))
    except ArithmeticError:
        return datetime.fromisoformat(str(want).replace("Z", "+00:00")) == datetime.fromisoformat(str(got).replace("Z", "+00:00"))


async def read_book(broker: str) -> dict:
    profile = get_profile(broker)
    async with Client(build_server(profile, open_engine(profile))) as client:
        async def call(tool, **arguments):
            return (await client.call_tool(tool, arguments)).structured_content
        curve = (await call("get_portfolio_summary"))["equity_curve"]
        return {"account": await call("get_account"), "positions": (await call("fetch_positions"))["positions"],
                "orders": (await call("list_orders", status="all", limit=500))["orders"],
                "fills": [{"time": p["time"], "cash": p["cash"]} for p in curve[:-1]]}


def differences(want: dict, got: dict) -> list[str]:
    diffs = [f"account {k}: {v} != {got['account'][k]}" for k, v in want["account"].items() if not same(v, got["account"][k])]
    positions = {p["symbol"]: p for p in got["positions"]}
    if set(positions) != {p["symbol"] for p in want["positions"]}:
        diffs.append(f"positions {sorted(positions)}")
    diffs += [f"{p['symbol']} {k}" for p in want["positions"] for k, v in p.items()
              if p["symbol"] in positions and not same(v, positions[p["symbol"]][k])]
    orders = {o["id"]: o for o in got["orders"]}
    if [o["id"] for o in got["orders"]] != [o["id"] for o in want["orders"]]:
        diffs.append("order ids or their order")
    for o in want["orders"]:
        g = orders.get(o["id"], {})
        diffs += [f"order {o['id']} {k}: {v} != {g.get(k)}" for k, v in o.items() if not same(v, g.get(k))]
        diffs += [f"old order {o['id']} has {k}" for k in NEW_ORDER_FIELDS if g.get(k) is not None]
        if g.get("order_class") != "simple":
            diffs.append(f"old order {o['id']} is {g.get('order_class')}")
    if len(want["fills"]) != len(got["fills"]) or not all(
            same(w["time"], g["time"]) and same(w["cash"], g["cash"]) for w, g in zip(want["fills"], got["fills"], strict=True)):
        diffs.append(f"fills: {want['fills']} != {got['fills']}")
    return diffs


@pytest.fixture
def old_books(trading_env):
    trading_env.mkdir(parents=True, exist_ok=True)
    for broker in EXPECTED["brokers"]:
        shutil.copyfile(FIXTURE / f"{broker}.db", trading_env / f"{broker}.db")
    return trading_env


@pytest.mark.parametrize("broker", ["tradesphere", "velocity"])
async def test_a_book_from_the_release_before_migrations_reads_back_unchanged_then_trades_on(old_books, monkeypatch, broker):
    """Every order, fill, position, cash and P&L figure as that release answered, at its `now`, twice, then at the next
    open (its queued orders executing as that release executed them)."""
    monkeypatch.setenv("TRADING_NOW", EXPECTED["now"])
    for _ in range(2):
        assert differences(EXPECTED["brokers"][broker], await read_book(broker)) == []
    assert _revision(old_books / f"{broker}.db") == HEAD
    monkeypatch.setenv("TRADING_NOW", EXPECTED["next_open"]["now"])
    assert differences(EXPECTED["next_open"]["brokers"][broker], await read_book(broker)) == []


def test_a_retry_of_an_order_placed_before_the_upgrade_still_matches_its_client_order_id(old_books, monkeypatch):
    monkeypatch.setenv("TRADING_NOW", EXPECTED["now"])
    engine = open_engine(get_profile("tradesphere"))
    original = next(o for o in EXPECTED["brokers"]["tradesphere"]["orders"] if o["client_order_id"] == "v1-ts-aapl")
    from broker_support import order

    retried = engine.place_order(order(symbol="AAPL", quantity="20", client_order_id="v1-ts-aapl"))
    assert retried.id == original["id"] and "Already placed" in retried.message


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def _schema_differences(url: str) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            # SQLite keeps no VARCHAR lengths, so types are compared on PostgreSQL only.
            context = MigrationContext.configure(connection, opts={"compare_type": engine.dialect.name != "sqlite"})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_a_fresh_database_and_an_upgraded_old_one_both_have_exactly_the_models_schema(tmp_path, old_books):
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    BrokerDatabase(fresh, "tradesphere").dispose()
    BrokerDatabase(f"sqlite:///{old_books / 'velocity.db'}", "velocity").dispose()
    assert _schema_differences(fresh) == []
    assert _schema_differences(f"sqlite:///{old_books / 'velocity.db'}") == []
    assert _revision(tmp_path / "fresh.db") == HEAD


def test_a_new_book_is_created_at_head_without_alembic_and_matches_what_the_revisions_build(tmp_path):
    """The shortcut for an empty SQLite book (models + stamp) and Alembic's three revisions give the same schema,
    both the models'; the shortcut imports no Alembic (it was half a broker's start-up on a fresh data dir)."""
    code = ("import sys; from brokers.persistence import BrokerDatabase; "
            f"BrokerDatabase('sqlite:///{tmp_path / 'new.db'}', 'tradesphere').dispose(); "
            "print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
    from alembic import command
    from alembic.config import Config

    engine = create_engine(f"sqlite:///{tmp_path / 'revisions.db'}")
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(SCRIPT_LOCATION))
        config.attributes["connection"] = connection
        config.attributes["version_table_schema"] = None
        command.upgrade(config, "head")
    engine.dispose()
    for name in ("new.db", "revisions.db"):
        assert _schema_differences(f"sqlite:///{tmp_path / name}") == [], name
        assert _revision(tmp_path / name) == HEAD

    def tables(name: str) -> dict:
        """Each table's columns: name, type (SQLite ignores VARCHAR lengths, and the revisions leave them), not null,
        primary key; and its indexes."""
        with sqlite3.connect(tmp_path / name) as connection:
            names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: (sorted((c[1], c[2].split("(")[0], c[3], c[5]) for c in connection.execute(f"PRAGMA table_info({t})")),
                        sorted((i[2], i[3]) for i in connection.execute(f"PRAGMA index_list({t})")))
                    for t in names}
    assert tables("new.db") == tables("revisions.db")


def test_head_is_the_newest_revision_in_the_scripts():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(SCRIPT_LOCATION)).get_heads() == [HEAD]


RACER = """
import sys
sys.path.insert(0, sys.argv[2])
from brokers.persistence import BrokerDatabase
from brokers.migrations import current_revision
sys.stdin.readline()  # both processes are started and imported: open the book at the same moment
database = BrokerDatabase("sqlite:///" + sys.argv[1], "tradesphere")
with database.engine.connect() as connection:
    print(current_revision(connection), connection.exec_driver_sql("SELECT count(*) FROM orders").scalar())
"""


def test_two_processes_opening_one_old_book_at_the_same_moment_upgrade_it_once(old_books):
    path = old_books / "tradesphere.db"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(path), str(ROOT)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for racer in racers:  # the line each waits for, written to both before either is read
        racer.stdin.write("go\n")
        racer.stdin.flush()
    answers = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], [err[-500:] for _, err in answers]
    orders = len(EXPECTED["brokers"]["tradesphere"]["orders"])
    assert [out.split() for out, _ in answers] == [[HEAD, str(orders)]] * 2
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        columns = [row[1] for row in connection.execute("PRAGMA table_info(orders)")]
    assert len(columns) == len(set(columns)) == len(Base.metadata.tables["orders"].columns)


def _whole_file(path: Path) -> list:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def test_an_upgrade_that_fails_half_way_leaves_the_old_book_exactly_as_it_was(old_books, monkeypatch):
    """The upgrade is one transaction: a failure after some of the new columns are added writes nothing at all."""
    from alembic.operations import Operations

    real, added = Operations.add_column, []

    def fails_on_the_fourth(self, *args, **kwargs):
        added.append(args)
        if len(added) == 4:
            raise RuntimeError("the disk went away")
        return real(self, *args, **kwargs)

    path = old_books / "tradesphere.db"
    before = _whole_file(path)
    monkeypatch.setattr(Operations, "add_column", fails_on_the_fourth)
    with pytest.raises(RuntimeError, match="the disk went away"):
        BrokerDatabase(f"sqlite:///{path}", "tradesphere")
    assert _whole_file(path) == before
    monkeypatch.setattr(Operations, "add_column", real)
    BrokerDatabase(f"sqlite:///{path}", "tradesphere").dispose()
    assert _revision(path) == HEAD
