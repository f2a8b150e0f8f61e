"""Change counters of feed subjects (`feed_versions`), seeded with the pending embargoes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

A subject without a row is at version 0 with no pending embargo lift, which is right
for every subject except those holding a release still under embargo: nothing would
ever tell their cached feeds that it lifted. So each such subject gets a row whose
`next_lift_us` is its earliest pending embargo (the first reader after it bumps the
counter, `feed_versions.lift_embargo`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_releases = sa.table(
    "releases",
    sa.column("id", sa.Integer()),
    sa.column("city_id", sa.Integer()),
    sa.column("region_id", sa.Integer()),
    sa.column("published_at", sa.DateTime(timezone=True)),
)
_release_topics = sa.table(
    "release_topics",
    sa.column("topic_id", sa.Integer()),
    sa.column("city_id", sa.Integer()),
    sa.column("published_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    feed_versions = op.create_table(
        "feed_versions",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_us", sa.BigInteger(), nullable=False),
        sa.Column("next_lift_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    lifts = _pending_lifts(datetime.now(UTC))
    if lifts:
        rows = [{"key": key, "version": 0, "changed_us": 0, "next_lift_us": us} for key, us in lifts.items()]
        op.bulk_insert(feed_versions, rows)


def downgrade() -> None:
    op.drop_table("feed_versions")


def _pending_lifts(now: datetime) -> dict[str, int]:
    """The earliest embargo still to lift per subject key (as in `feed_versions.release_keys`)."""
    bind = op.get_bind()
    # SQLite keeps naive UTC (models.UTCDateTime); PostgreSQL compares aware instants.
    since = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    lifts: dict[str, int] = {}

    def note(key: str, moment: datetime) -> None:
        micros = int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1_000_000)
        lifts[key] = min(lifts.get(key, micros), micros)

    query = sa.select(_releases.c.city_id, _releases.c.region_id, _releases.c.published_at)
    for city_id, region_id, published_at in bind.execute(query.where(_releases.c.published_at > since)):
        for key in ("all", f"city:{city_id}", f"region:{region_id}"):
            note(key, published_at)
    links = _release_topics.c
    query = sa.select(links.topic_id, links.city_id, links.published_at).where(links.published_at > since)
    for topic_id, city_id, published_at in bind.execute(query):
        for key in (f"topic:{topic_id}", f"city:{city_id}:topic:{topic_id}"):
            note(key, published_at)
    return lifts
