"""Uploaded images and PDFs (`media`, `media_renditions`), PDF attachments of releases
(`release_attachments`), and the pixel size and upload of a release's images.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Press offices upload images and PDF documents (`POST /api/v1/media`, the desk's form);
feedsvc serves them at `/media/<key>/<rendition>.<ext>`. A `media` row is one upload:
its type, its size in pixels or pages, the caption and credit its renditions carry as
XMP, who uploaded it. `media_renditions` are what is served of it (`full`, `page`,
`feed` of an image; `document` of a PDF), each naming its bytes in the media storage by
their SHA-256 (`blob`). The bytes themselves are files, never rows.

A release gets PDF attachments, in order, like its images (`release_attachments`). Its
images get `width`, `height` and `media_id` (the upload an image is, whose renditions
pages and feeds show); existing images keep NULL in all three: they are images
elsewhere, shown as before. A length of 0 still means "unknown".

`media_id` is added with its foreign key inline (SQLite can add a column that references
another table, not a constraint on its own). Downgrading drops the new tables and
columns, the latter with a batch ("move and copy") of `release_images` on SQLite, which
has no triggers to lose. The files in the media folder stay: delete the folder by hand
if they are no longer wanted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("credit", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("publisher_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["media.id"]),
        sa.ForeignKeyConstraint(["publisher_id"], ["publishers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_media_source_sha256", "media", ["source_sha256"])
    op.create_table(
        "media_renditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("blob", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("media_id", "name", name="uq_media_renditions_name"),
    )
    op.create_index("ix_media_renditions_blob", "media_renditions", ["blob"])
    op.create_table(
        "release_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_release_attachments_release_id", "release_attachments", ["release_id"])
    op.create_index("ix_release_attachments_media_id", "release_attachments", ["media_id"])
    op.add_column("release_images", sa.Column("width", sa.Integer(), nullable=True))
    op.add_column("release_images", sa.Column("height", sa.Integer(), nullable=True))
    op.add_column(
        "release_images",
        sa.Column("media_id", sa.Integer(), sa.ForeignKey("media.id"), nullable=True),
        inline_references=True,
    )
    op.create_index("ix_release_images_media_id", "release_images", ["media_id"])


def downgrade() -> None:
    op.drop_index("ix_release_images_media_id", table_name="release_images")
    with op.batch_alter_table("release_images") as table:
        table.drop_column("media_id")
        table.drop_column("height")
        table.drop_column("width")
    op.drop_index("ix_release_attachments_media_id", table_name="release_attachments")
    op.drop_index("ix_release_attachments_release_id", table_name="release_attachments")
    op.drop_table("release_attachments")
    op.drop_index("ix_media_renditions_blob", table_name="media_renditions")
    op.drop_table("media_renditions")
    op.drop_index("ix_media_source_sha256", table_name="media")
    op.drop_table("media")
