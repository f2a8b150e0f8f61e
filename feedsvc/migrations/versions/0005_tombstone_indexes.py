"""Partial indexes for the tombstones of city and region feeds (RFC 6721).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Without them, a city feed's "recently retracted" query walked the city's whole
feed index: 330 ms for a big city at a million releases, on every render.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_RETRACTED = sa.text("retracted_at IS NOT NULL")


def upgrade() -> None:
    for name, column in (
        ("ix_releases_city_retracted", "city_id"),
        ("ix_releases_region_retracted", "region_id"),
    ):
        op.create_index(
            name, "releases", [column, "retracted_at"], sqlite_where=_RETRACTED, postgresql_where=_RETRACTED
        )


def downgrade() -> None:
    op.drop_index("ix_releases_region_retracted", table_name="releases")
    op.drop_index("ix_releases_city_retracted", table_name="releases")
