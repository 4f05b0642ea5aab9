"""Stops, stop-limits, trailing stops, brackets and replace: the order columns they need.

Every new column is nullable, so an order written before this revision reads as what it was: a simple market or
limit order with no stop, trail, bracket or replacement. PostgreSQL enforces VARCHAR lengths (SQLite does not):
`order_type` was VARCHAR(8) and 'trailing_stop' is 13 characters, and a stop or bracket order's fingerprint can pass
200 characters, so both are widened there.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.String(48)
TIME = sa.String(32)
COLUMNS = [
    ("stop_price", MONEY),
    ("trail_percent", MONEY),
    ("trail_price", MONEY),
    ("high_water_mark", MONEY),
    ("triggered_at", TIME),
    ("checked_at", TIME),
    ("order_class", sa.String(8)),
    ("parent_id", sa.String(32)),
    ("take_profit_price", MONEY),
    ("stop_loss_price", MONEY),
    ("stop_loss_limit_price", MONEY),
    ("replaces", sa.String(32)),
]


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (SQLite can add a nullable column without rebuilding the table).
    for name, type_ in COLUMNS:
        op.add_column("orders", sa.Column(name, type_, nullable=True))
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("orders", "order_type", type_=sa.String(16), existing_type=sa.String(8), existing_nullable=False)
        op.alter_column("orders", "fingerprint", type_=sa.String(500), existing_type=sa.String(200),
                        existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
