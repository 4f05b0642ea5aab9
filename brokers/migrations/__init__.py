"""Schema migrations (Alembic), run from code when a broker opens its database: a user's book opens in every release.

Revisions live in `versions/`: 0001 is the schema every release before migrations wrote (it creates what is
missing, so a database from then is simply carried forward), 0002 adds stops, trailing stops, brackets and replace,
0003 the kill switch, the per-day placed notional and confirmation tokens.
Upgrades are serialized between processes by the database itself: SQLite's BEGIN IMMEDIATE (the write lock) and
PostgreSQL's transaction-scoped advisory lock are taken before the version is read, so the second of two processes
opening an old book at once waits, then finds it at head and does nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, inspect, text

log = logging.getLogger(__name__)

HEAD = "0003"
"""The newest revision in versions/ (a test checks it against Alembic's own view of the scripts)."""
VERSION_TABLE = "alembic_version"
SCRIPT_LOCATION = Path(__file__).resolve().parent


def current_revision(connection: Connection, schema: str | None = None) -> str | None:
    """The revision the database is at; None for a database from before migrations (or an empty one)."""
    if not inspect(connection).has_table(VERSION_TABLE, schema=schema):
        return None
    table = f'"{schema}".{VERSION_TABLE}' if schema else VERSION_TABLE
    return connection.execute(text(f"SELECT version_num FROM {table}")).scalar()


def upgrade(connection: Connection, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database on `connection` (inside a transaction that holds the migration lock) to `revision`.

    Alembic is imported only when there is something to do: a database at head (every start but the first after an
    upgrade) costs one SELECT, and a new SQLite book is created at head without it (`create_at_head`).
    """
    if revision == "head" and current_revision(connection, schema) == HEAD:
        return
    if revision == "head" and connection.dialect.name == "sqlite" and not inspect(connection).get_table_names():
        create_at_head(connection)
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    config.attributes["version_table_schema"] = schema
    before = current_revision(connection, schema)
    command.upgrade(config, revision)
    log.info("database schema upgraded from %s to %s", before or "the release before migrations",
             HEAD if revision == "head" else revision)


def create_at_head(connection: Connection) -> None:
    """A new (empty) SQLite book: the models' tables at once, stamped at HEAD as Alembic stamps them.

    The same schema the revisions build (tests/brokers/test_migrations.py compares both with the models), without
    importing Alembic and running three revisions: that was half of a broker's start-up on a fresh data dir. Every
    later revision upgrades such a book like any other."""
    import sqlalchemy as sa

    from brokers.persistence import Base

    version = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32), nullable=False),
                       sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    version.create(connection)
    connection.execute(version.insert().values(version_num=HEAD))
    Base.metadata.create_all(connection)
    log.info("new database created at schema %s", HEAD)
