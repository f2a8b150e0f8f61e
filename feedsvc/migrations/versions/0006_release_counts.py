"""Each feed subject keeps the number of releases it holds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Overview pages counted releases per city and topic by reading the releases: at a
million releases the front page took minutes after each publish. The count is now
kept with every write; this migration counts what is there once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Subject key and its count, per kind of subject: the keys of feedsvc.store.feed_versions.
_COUNTS = (
    "SELECT 'all' AS key, COUNT(*) AS n FROM releases WHERE retracted_at IS NULL",
    "SELECT 'city:' || city_id AS key, COUNT(*) AS n FROM releases WHERE retracted_at IS NULL"
    " GROUP BY city_id",
    "SELECT 'region:' || region_id AS key, COUNT(*) AS n FROM releases WHERE retracted_at IS NULL"
    " GROUP BY region_id",
    "SELECT 'topic:' || t.topic_id AS key, COUNT(*) AS n FROM release_topics t"
    " JOIN releases r ON r.id = t.release_id WHERE r.retracted_at IS NULL GROUP BY t.topic_id",
    "SELECT 'city:' || t.city_id || ':topic:' || t.topic_id AS key, COUNT(*) AS n FROM release_topics t"
    " JOIN releases r ON r.id = t.release_id WHERE r.retracted_at IS NULL GROUP BY t.city_id, t.topic_id",
)


def upgrade() -> None:
    op.add_column(
        "feed_versions", sa.Column("release_count", sa.BigInteger(), nullable=False, server_default="0")
    )
    for counts in _COUNTS:
        # A subject without a counter yet gets one at version 0, as if never written.
        op.execute(
            "INSERT INTO feed_versions (key, version, changed_us, next_lift_us, release_count) "
            f"SELECT key, 0, 0, NULL, n FROM ({counts}) AS counted WHERE true "
            "ON CONFLICT (key) DO UPDATE SET release_count = excluded.release_count"
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_versions") as table:
        table.drop_column("release_count")
