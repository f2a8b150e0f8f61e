"""WebSub notification: the change log (`feed_changes`) and each hub's cursor (`hub_cursors`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Both start empty: changes made before this revision were never announced to a hub,
and a hub's cursor starts at the first change it sees.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_changes",
        # SQLite autoincrements only an INTEGER PRIMARY KEY.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("changed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feed_changes_changed_us", "feed_changes", ["changed_us"])
    op.create_table(
        "hub_cursors",
        sa.Column("hub_url", sa.String(length=2000), nullable=False),
        sa.Column("last_change_id", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("leased_until_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hub_url"),
    )


def downgrade() -> None:
    op.drop_table("hub_cursors")
    op.drop_table("feed_changes")
