"""One delivery log for every target: the outbox (`outbox`) and each target's position (`delivery_targets`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

Replaces the WebSub change log (`feed_changes`, one row per subject key) and the hub
cursors (`hub_cursors`). What the log held is carried over: each change becomes an
outbox entry whose place in the delivery order (`seq`) is its old id, so every hub's
cursor becomes its position unchanged and no hub hears of a change twice or misses one.
Downgrading keeps the hubs (from the next change on) but not the undelivered changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        # SQLite autoincrements only an INTEGER PRIMARY KEY.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("subject_keys", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_seq", "outbox", ["seq"], unique=True)
    op.create_index("ix_outbox_due_us", "outbox", ["due_us"])
    op.create_index("ix_outbox_release_id", "outbox", ["release_id"])
    op.create_table(
        "delivery_targets",
        sa.Column("name", sa.String(length=2100), nullable=False),
        sa.Column("delivered_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("last_delivered_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delivered_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failures_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("retries_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(
        "INSERT INTO outbox (kind, release_id, subject_keys, created_us, due_us, seq) "
        "SELECT 'changed', NULL, key, changed_us, changed_us, id FROM feed_changes ORDER BY id"
    )
    op.execute(
        "INSERT INTO delivery_targets (name, delivered_seq, attempts, next_attempt_us, last_error) "
        "SELECT 'websub:' || hub_url, last_change_id, failures, next_attempt_us, last_error FROM hub_cursors"
    )
    op.drop_table("hub_cursors")
    op.drop_index("ix_feed_changes_changed_us", table_name="feed_changes")
    op.drop_table("feed_changes")


def downgrade() -> None:
    op.create_table(
        "feed_changes",
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
    # The old notifier reads changes after its cursor: an empty log, cursors at 0.
    op.execute(
        "INSERT INTO hub_cursors (hub_url, last_change_id, failures, next_attempt_us, leased_until_us, "
        "last_error) SELECT substr(name, 8), 0, 0, 0, 0, '' FROM delivery_targets "
        "WHERE name LIKE 'websub:%'"
    )
    op.drop_table("delivery_targets")
    op.drop_index("ix_outbox_release_id", table_name="outbox")
    op.drop_index("ix_outbox_due_us", table_name="outbox")
    op.drop_index("ix_outbox_seq", table_name="outbox")
    op.drop_table("outbox")
