"""Official keys: regions get the AGS prefix, level and parent of the directory; one city per AGS.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

`feedsvc import-municipalities` reads the official municipality directory (Destatis
GV100AD, or a CSV) into cities and the regions above them: Land, Regierungsbezirk and
Kreis, each named by a prefix of its cities' Amtlicher Gemeindeschlüssel (2, 3 or 5
digits, `regions.ags`), with its level (`regions.level`) and the region above it
(`regions.parent_id`). A region's feeds hold the releases of every region below it.
Existing regions keep NULL in all three: they stay regions of their own, flat as
before, until an import adopts one.

A key now names one city (`ix_cities_ags`, unique), so that `/ags/<key>` and the import
find exactly one. Two cities sharing a key stop the migration, which then changes
nothing and names them: which of them the key belongs to is the operator's call.

`parent_id` is added with its foreign key inline (SQLite can add a column that
references another table, not a constraint on its own); dropping it again needs a
batch ("move and copy") of `regions` on SQLite, which has no triggers to lose.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedsvc.migrations.runner import SchemaError

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_cities = sa.table("cities", sa.column("slug", sa.String()), sa.column("ags", sa.String()))


def upgrade() -> None:
    _refuse_shared_keys()
    op.create_index("ix_cities_ags", "cities", ["ags"], unique=True)
    op.add_column("regions", sa.Column("ags", sa.String(length=5), nullable=True))
    op.add_column("regions", sa.Column("level", sa.String(length=20), nullable=True))
    op.add_column(
        "regions",
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=True),
        inline_references=True,
    )
    op.create_index("ix_regions_ags", "regions", ["ags"], unique=True)
    op.create_index("ix_regions_parent_id", "regions", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_regions_parent_id", table_name="regions")
    op.drop_index("ix_regions_ags", table_name="regions")
    with op.batch_alter_table("regions") as table:
        table.drop_column("parent_id")
        table.drop_column("level")
        table.drop_column("ags")
    op.drop_index("ix_cities_ags", table_name="cities")


def _refuse_shared_keys() -> None:
    bind = op.get_bind()
    shared = (
        sa.select(_cities.c.ags)
        .where(_cities.c.ags.is_not(None))
        .group_by(_cities.c.ags)
        .having(sa.func.count() > 1)
    )
    rows = bind.execute(
        sa.select(_cities.c.ags, _cities.c.slug)
        .where(_cities.c.ags.in_(shared))
        .order_by(_cities.c.ags, _cities.c.slug)
    ).all()
    if not rows:
        return
    cities: dict[str, list[str]] = {}
    for ags, slug in rows:
        cities.setdefault(ags, []).append(slug)
    named = "; ".join(f"{ags}: {', '.join(slugs)}" for ags, slugs in cities.items())
    raise SchemaError(
        f"cities share an AGS ({named}); a key names one city from migration 0011 on. "
        "Keep it on the right one and clear it on the others "
        "(UPDATE cities SET ags = NULL WHERE slug = '…'), then migrate again; nothing was changed"
    )
