"""Baseline: the schema of every release before migrations (accounts, orders, fills, positions).

Those releases created it with `create_all` and kept no version table, so this revision creates only the tables
that are missing: on their databases it changes nothing and only records the version. The tables are written out
here as they were then, not imported from the models, which move on.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.String(48)
TIME = sa.String(32)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "accounts" not in existing:
        op.create_table(
            "accounts",
            sa.Column("broker", sa.String(32), primary_key=True),
            sa.Column("starting_cash", MONEY, nullable=False),
            sa.Column("cash", MONEY, nullable=False),
            sa.Column("realized_pnl", MONEY, nullable=False),
            sa.Column("fees_paid", MONEY, nullable=False),
            sa.Column("created_at", TIME, nullable=False),
        )
    if "orders" not in existing:
        op.create_table(
            "orders",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("id", sa.String(32), nullable=False, unique=True),
            sa.Column("client_order_id", sa.String(64), unique=True),
            sa.Column("fingerprint", sa.String(200), nullable=False),
            sa.Column("symbol", sa.String(12), nullable=False),
            sa.Column("side", sa.String(4), nullable=False),
            sa.Column("quantity", MONEY),
            sa.Column("notional", MONEY),
            sa.Column("order_type", sa.String(8), nullable=False),
            sa.Column("limit_price", MONEY),
            sa.Column("time_in_force", sa.String(4), nullable=False),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("filled_quantity", MONEY, nullable=False),
            sa.Column("average_fill_price", MONEY),
            sa.Column("fees", MONEY, nullable=False),
            sa.Column("reserved_cash", MONEY, nullable=False),
            sa.Column("submitted_at", TIME, nullable=False),
            sa.Column("executes_at", TIME),
            sa.Column("expires_at", TIME),
            sa.Column("filled_at", TIME),
            sa.Column("updated_at", TIME, nullable=False),
            sa.Column("reject_reason", sa.String(500)),
        )
        op.create_index("ix_orders_status", "orders", ["status"])
    if "positions" not in existing:
        op.create_table(
            "positions",
            sa.Column("symbol", sa.String(12), primary_key=True),
            sa.Column("quantity", MONEY, nullable=False),
            sa.Column("cost_basis", MONEY, nullable=False),
            sa.Column("realized_pnl", MONEY, nullable=False),
            sa.Column("updated_at", TIME, nullable=False),
        )
    if "fills" not in existing:
        op.create_table(
            "fills",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id")),
            sa.Column("kind", sa.String(8), nullable=False),
            sa.Column("symbol", sa.String(12), nullable=False),
            sa.Column("side", sa.String(4), nullable=False),
            sa.Column("quantity", MONEY, nullable=False),
            sa.Column("price", MONEY, nullable=False),
            sa.Column("gross", MONEY, nullable=False),
            sa.Column("fees", MONEY, nullable=False),
            sa.Column("cash_after", MONEY, nullable=False),
            sa.Column("executed_at", TIME, nullable=False),
        )


def downgrade() -> None:
    for table in ("fills", "positions", "orders", "accounts"):
        op.drop_table(table)
