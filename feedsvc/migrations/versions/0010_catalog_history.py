"""Catalog entries keep their history: old slugs, retirement, merges (`slug_aliases`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

A city, region or topic could only be defined by loading a catalog file, and a slug,
once in a feed URL, could never change. Now entries are renamed, merged and retired
(`feedsvc catalog`, the admin API), and no subscriber may notice: every slug an entry
had is kept in `slug_aliases` and answers 301 to its current URL; `first_slug` keeps
the slug its feed ids are made of (NULL: never renamed, so every existing feed keeps
its id); `retired_at` ends an entry's intake of releases; `merged_into_id` names the
entry a merged one's releases went to. Press offices keep their old names the same
way. Existing rows are untouched: nothing was renamed, retired or merged before.

No batch ("move and copy") on the catalog tables: adding and dropping nullable columns
needs none, and `merged_into_id` has no foreign key for that reason.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)
SLUGGED = ("regions", "cities", "topics")


def upgrade() -> None:
    for table in (*SLUGGED, "publishers"):
        op.add_column(table, sa.Column("retired_at", UTC_DATETIME, nullable=True))
        op.add_column(table, sa.Column("merged_into_id", sa.Integer(), nullable=True))
    for table in SLUGGED:
        op.add_column(table, sa.Column("first_slug", sa.String(length=100), nullable=True))
    op.create_table(
        "slug_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "slug", name="uq_slug_aliases_kind_slug"),
    )
    op.create_index("ix_slug_aliases_kind_target", "slug_aliases", ["kind", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_slug_aliases_kind_target", table_name="slug_aliases")
    op.drop_table("slug_aliases")
    for table in SLUGGED:
        op.drop_column(table, "first_slug")
    for table in (*SLUGGED, "publishers"):
        op.drop_column(table, "merged_into_id")
        op.drop_column(table, "retired_at")
