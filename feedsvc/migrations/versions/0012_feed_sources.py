"""Feeds a city imports from its own site, pulled on a schedule: `feed_sources`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

A press office that publishes an RSS, Atom or JSON feed on its own site can have the
delivery worker pull it (`feedsvc feed-sources add`) while the city switches over. Each
row is one feed for one city: where it is, how its categories map to topics, how often
it is pulled, and what its last pull did (the validators for a conditional GET, the
failures in a row that the next pull backs off for, the last error and result). A
worker claims a row with a lease, so two workers never pull one feed at once.

A new table only: nothing existing moves, and downgrading drops it (the releases its
pulls imported stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("publisher_name", sa.String(length=200), nullable=True),
        sa.Column("topic_map", sa.Text(), server_default="{}", nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("next_pull_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_token", sa.String(length=64), server_default="", nullable=False),
        sa.Column("etag", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("last_modified", sa.String(length=100), server_default="", nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("last_attempt_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_success_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_result", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url", "city_id", name="uq_feed_sources_url_city"),
    )
    op.create_index("ix_feed_sources_next_pull_us", "feed_sources", ["next_pull_us"])


def downgrade() -> None:
    op.drop_index("ix_feed_sources_next_pull_us", table_name="feed_sources")
    op.drop_table("feed_sources")
