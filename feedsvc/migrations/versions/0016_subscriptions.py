"""Saved filters behind every channel: `subscriptions` with the cities, regions and topics
they name; and `releases.urgency`, which a subscription's urgency floor reads.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A subscription is a filter with a stable URL: the releases of any of its cities, in any
of its regions, about any of its topics, matching its search, at least as urgent as its
floor. Its key is a digest of the filter, so the same filter is one row however often it
is asked for. Urgency is IPTC's: 1 (most urgent) to 9; every existing release gets the
ordinary 5.

New tables and a column with a default: nothing existing moves. Downgrading drops them,
and with them every subscription (and, once they exist, the webhooks and e-mail alerts
made for one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # No batch ("move and copy") on `releases`: it would drop the full-text triggers.
    op.add_column("releases", sa.Column("urgency", sa.Integer(), nullable=False, server_default="5"))
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=True),
        sa.Column("urgency_floor", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    for kind, table in (("city", "cities"), ("region", "regions"), ("topic", "topics")):
        op.create_table(
            f"subscription_{table}",
            sa.Column("subscription_id", sa.Integer(), nullable=False),
            sa.Column(f"{kind}_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint([f"{kind}_id"], [f"{table}.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("subscription_id", f"{kind}_id"),
        )


def downgrade() -> None:
    for table in ("topics", "regions", "cities"):
        op.drop_table(f"subscription_{table}")
    op.drop_table("subscriptions")
    op.drop_column("releases", "urgency")
