"""The schema of the first release: catalog, publishers, releases, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written to match `feedsvc/models.py` as of commit 5767de7, so that a database made
then by `create_all` and one made by this migration are the same.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publishers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index("ix_cities_region_id", "cities", ["region_id"])
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["publisher_id"], ["publishers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_table(
        "publisher_cities",
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["publisher_id"], ["publishers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("publisher_id", "city_id"),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guid", sa.String(length=300), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("summary_derived", sa.Boolean(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=50), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("correction_note", sa.String(length=1000), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("retracted_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"]),
        sa.ForeignKeyConstraint(["publisher_id"], ["publishers.id"]),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("guid"),
        sa.UniqueConstraint("publisher_id", "external_id", name="uq_releases_publisher_external_id"),
    )
    op.create_index("ix_releases_city_newest", "releases", ["city_id", "published_at", "id"])
    op.create_index("ix_releases_newest", "releases", ["published_at", "id"])
    op.create_index("ix_releases_region_newest", "releases", ["region_id", "published_at", "id"])
    op.create_index(
        "ix_releases_retracted",
        "releases",
        ["retracted_at"],
        sqlite_where=sa.text("retracted_at IS NOT NULL"),
        postgresql_where=sa.text("retracted_at IS NOT NULL"),
    )
    op.create_table(
        "token_cities",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_id", "city_id"),
    )
    op.create_table(
        "release_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("credit", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_release_images_release_id", "release_images", ["release_id"])
    op.create_table(
        "release_topics",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"]),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"]),
        sa.PrimaryKeyConstraint("release_id", "topic_id"),
    )
    op.create_index(
        "ix_release_topics_city_topic_newest",
        "release_topics",
        ["city_id", "topic_id", "published_at", "release_id"],
    )
    op.create_index(
        "ix_release_topics_topic_newest", "release_topics", ["topic_id", "published_at", "release_id"]
    )


def downgrade() -> None:
    # Children first; dropping a table drops its indexes.
    for table in (
        "release_topics",
        "release_images",
        "token_cities",
        "releases",
        "publisher_cities",
        "tokens",
        "cities",
        "topics",
        "regions",
        "publishers",
    ):
        op.drop_table(table)
