"""What those who reuse a release's image may do: `release_images.usage_terms`.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

Editorial systems that take releases as ninjs keep an image's caption, credit and usage
terms ("Honorarfrei nur für die Berichterstattung über …"). Press offices could give the
first two; the third is new, empty for every image there is.

A column with a default: nothing existing moves; downgrading drops it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "release_images", sa.Column("usage_terms", sa.String(length=500), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("release_images") as batch:
        batch.drop_column("usage_terms")
