"""Safety: the kill switch, what was placed each New York day (the daily limit), and confirmation tokens.

Three new tables and no change to the old ones, so a book from before this revision opens as it was: not halted,
nothing placed today as far as the daily limit knows, no token outstanding.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MONEY = sa.String(48)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "broker_controls",
        sa.Column("broker", sa.String(32), primary_key=True),
        sa.Column("halted", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("changed_at", TIME, nullable=False),
    )
    op.create_table(
        "daily_notional",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("placed", MONEY, nullable=False),
    )
    op.create_table(
        "confirmations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("tool", sa.String(32), nullable=False),
        sa.Column("arguments", sa.Text, nullable=False),
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME),
    )


def downgrade() -> None:
    op.drop_table("confirmations")
    op.drop_table("daily_notional")
    op.drop_table("broker_controls")
