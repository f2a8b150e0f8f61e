"""Drafts of the desk and their preview links: `drafts` and `preview_links`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Press officers save a release as a draft before they publish or schedule it. A draft
is not a release: it lives in a table of its own that no feed, page, count, search,
sitemap or delivery reads, so it cannot leak into any of them. It holds what the form
held (as JSON, complete or not), the city it is for, who started it and who saved it
last, and the submission key that becomes the external_id of the release it is
published as. A preview link shows a draft, or a release under embargo, as its page
would look, to whoever has the link; only the SHA-256 of its secret is stored, and it
expires.

New tables only: nothing existing changes. Downgrading drops them, and with them every
draft and preview link (releases stay as they are).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "created_by_user_id IS NULL OR created_by_token_id IS NULL", name="ck_drafts_one_author"
        ),
        sa.ForeignKeyConstraint(["city_id"], ["cities.id"]),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_token_id"], ["tokens.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_key"),
    )
    op.create_index("ix_drafts_city_id", "drafts", ["city_id"])
    op.create_index("ix_drafts_created_by_user_id", "drafts", ["created_by_user_id"])
    op.create_index("ix_drafts_created_by_token_id", "drafts", ["created_by_token_id"])
    op.create_table(
        "preview_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("(draft_id IS NULL) <> (release_id IS NULL)", name="ck_preview_links_one_target"),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_preview_links_draft_id", "preview_links", ["draft_id"])
    op.create_index("ix_preview_links_release_id", "preview_links", ["release_id"])
    op.create_index("ix_preview_links_expires_at", "preview_links", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_preview_links_expires_at", table_name="preview_links")
    op.drop_index("ix_preview_links_release_id", table_name="preview_links")
    op.drop_index("ix_preview_links_draft_id", table_name="preview_links")
    op.drop_table("preview_links")
    op.drop_index("ix_drafts_created_by_token_id", table_name="drafts")
    op.drop_index("ix_drafts_created_by_user_id", table_name="drafts")
    op.drop_index("ix_drafts_city_id", table_name="drafts")
    op.drop_table("drafts")
