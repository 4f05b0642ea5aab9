"""Persistence: SQLAlchemy 2 tables for one broker's book, and the database it lives in.

SQLite (default, one file per broker, WAL, every write transaction BEGIN IMMEDIATE so two processes
serialize instead of failing) or PostgreSQL (the account row is locked FOR UPDATE). Reads run in a
plain read transaction (SQLite: deferred BEGIN, one snapshot; PostgreSQL: REPEATABLE READ, no lock), so
they never wait for or block a writer. Decimals are stored as text so no database ever rounds them
through a float.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 60_000
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
"""The commit that takes the WAL past this many pages copies it back into the database and syncs both files: at
SQLite's default of 1,000 (4 MB) that was every ~140 orders and ~20% of their time. 40 MB: ten times rarer, and the
rows rewritten by every order (account, position, the last page of each table) are copied once per checkpoint."""


class DecimalText(TypeDecorator):
    """A Decimal stored as its exact string."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected Decimal, got {type(value).__name__}")
        return format(value, "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as a sortable UTC ISO string (portable across SQLite and PostgreSQL)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        # isoformat with microseconds writes the same text as "%Y-%m-%dT%H:%M:%S.%f+00:00", at half strftime's cost.
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value, dialect):
        return None if value is None else datetime.fromisoformat(value)


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "accounts"

    broker: Mapped[str] = mapped_column(String(32), primary_key=True)
    starting_cash: Mapped[Decimal] = mapped_column(DecimalText)
    cash: Mapped[Decimal] = mapped_column(DecimalText)
    realized_pnl: Mapped[Decimal] = mapped_column(DecimalText)
    fees_paid: Mapped[Decimal] = mapped_column(DecimalText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status", "status"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    client_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(500))
    symbol: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal | None] = mapped_column(DecimalText)
    notional: Mapped[Decimal | None] = mapped_column(DecimalText)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    time_in_force: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10))
    filled_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    average_fill_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    fees: Mapped[Decimal] = mapped_column(DecimalText)
    reserved_cash: Mapped[Decimal] = mapped_column(DecimalText)
    """Buying power held back while a buy is queued or open."""
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    executes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    # Revision 0002 (stops, trailing stops, brackets, replace): every column is empty on an order from before it.
    stop_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    trail_percent: Mapped[Decimal | None] = mapped_column(DecimalText)
    trail_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    high_water_mark: Mapped[Decimal | None] = mapped_column(DecimalText)
    """A trailing stop's best price so far: the high for a sell, the low for a buy."""
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The last minute of the price path a stop or a bracket exit was checked against."""
    order_class: Mapped[str | None] = mapped_column(String(8))
    """None (an order from before brackets) reads as simple."""
    parent_id: Mapped[str | None] = mapped_column(String(32))
    """A bracket exit's entry."""
    take_profit_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_loss_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_loss_limit_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    replaces: Mapped[str | None] = mapped_column(String(32))


class FillRow(Base):
    """A trade execution or an imported holding (kind 'import', no order, no cash)."""

    __tablename__ = "fills"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(8))
    symbol: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    price: Mapped[Decimal] = mapped_column(DecimalText)
    gross: Mapped[Decimal] = mapped_column(DecimalText)
    fees: Mapped[Decimal] = mapped_column(DecimalText)
    cash_after: Mapped[Decimal] = mapped_column(DecimalText)
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PositionRow(Base):
    __tablename__ = "positions"

    symbol: Mapped[str] = mapped_column(String(12), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    cost_basis: Mapped[Decimal] = mapped_column(DecimalText)
    """Total cost of the shares held, in cents (fees are tracked apart)."""
    realized_pnl: Mapped[Decimal] = mapped_column(DecimalText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ControlRow(Base):
    """The broker's kill switch (revision 0003): one row per broker once it was ever halted."""

    __tablename__ = "broker_controls"

    broker: Mapped[str] = mapped_column(String(32), primary_key=True)
    halted: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyNotionalRow(Base):
    """What orders placed on one New York day add up to (revision 0003), for the per-day limit."""

    __tablename__ = "daily_notional"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    placed: Mapped[Decimal] = mapped_column(DecimalText)


class ConfirmationRow(Base):
    """A single-use confirmation token handed out with a preview (revision 0003); only its hash is stored."""

    __tablename__ = "confirmations"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool: Mapped[str] = mapped_column(String(32))
    arguments: Mapped[str] = mapped_column(Text)
    """The canonical JSON of the arguments it confirms (to say which one differs)."""
    caller: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


_LOCK_ACCOUNT = select(AccountRow.__table__.c.broker).where(AccountRow.__table__.c.broker == bindparam("broker")).with_for_update()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # pysqlite's own transaction handling off: BrokerDatabase opens every transaction itself, a write with
        # BEGIN IMMEDIATE (a deferred read that later writes fails with "database is locked"; an immediate one waits).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()


class BrokerDatabase:
    """One broker's database: engine, schema creation, and write transactions."""

    def __init__(self, url: str, broker_id: str):
        self.url = url
        self.broker_id = broker_id
        self.is_sqlite = url.startswith("sqlite")
        options: dict = {}
        if self.is_sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        elif "{broker}" not in url and url.startswith("postgresql"):
            # One PostgreSQL database for every broker: each broker's tables live in its own schema.
            options["execution_options"] = {"schema_translate_map": {None: broker_id}}
        self.engine = create_engine(url, pool_pre_ping=not self.is_sqlite, **options)
        if self.is_sqlite:
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.schema = broker_id if "execution_options" in options else None
        """The PostgreSQL schema this broker's tables live in when brokers share one database; None otherwise."""
        self._create_schema()

    def _create_schema(self) -> None:
        """Create or upgrade the schema (brokers.migrations), once, whichever process gets the migration lock first."""
        from brokers.migrations import upgrade

        schema = self.schema
        for attempt in range(3):
            try:
                with self.engine.begin() as connection:
                    if self.is_sqlite:
                        connection.exec_driver_sql("BEGIN IMMEDIATE")
                    else:
                        # Transaction-scoped: released at the commit, or by the server if this process dies mid-upgrade.
                        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                                           {"name": f"brokers.migrations:{self.broker_id}"})
                        if schema is not None:
                            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                            connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
                    upgrade(connection, schema)
                return
            except OperationalError:
                # SQLite: the file was being created by another process at the same moment (its first write is not
                # yet under a lock we can wait on); the next pass waits on BEGIN IMMEDIATE like any writer.
                if attempt == 2:
                    raise

    # Every transaction is opened here, explicitly: on SQLite a write says BEGIN IMMEDIATE itself rather than through
    # a "begin" event listener, because any engine-level listener puts SQLAlchemy's event dispatch on every statement.

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One atomic write as an ORM session: everything inside commits together or not at all (cold paths, tests)."""
        with self._sessions() as session, session.begin():
            self._lock_for_writing(session.connection())
            yield session

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One atomic write on a Core connection, holding the broker's write lock from its start to its commit."""
        with self.engine.begin() as connection:
            self._lock_for_writing(connection)
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One consistent read on a Core connection that takes no write lock and never waits for a writer."""
        with self.engine.connect() as connection:
            if not self.is_sqlite:
                # One snapshot for every statement of the read (a read-only REPEATABLE READ never fails to serialize).
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                if self.is_sqlite:
                    # Deferred: no lock at BEGIN; the first SELECT pins one WAL snapshot for the whole transaction.
                    connection.exec_driver_sql("BEGIN")
                yield connection

    def _lock_for_writing(self, connection: Connection) -> None:
        if self.is_sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # Serialize writers on this broker's account row, so cash checks never race.
            connection.execute(_LOCK_ACCOUNT, {"broker": self.broker_id})

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
