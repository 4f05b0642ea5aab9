"""Alembic's entry point: run the revisions on the connection brokers.migrations.upgrade hands over (never a URL)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table_schema=context.config.attributes.get("version_table_schema"),
    render_as_batch=True,  # SQLite cannot ALTER most things: batch mode rebuilds a table where it must
)
with context.begin_transaction():  # the caller's transaction (it holds the migration lock): nothing new begins
    context.run_migrations()
