"""Each release keeps the slug of its link: `releases.slug`, fixed when it is created.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

A release's link (`/releases/<id>-<slug>`) was derived from its current title, so a
corrected title gave every feed entry a new link, and readers that recognise entries
by their link showed the correction as a new item. The slug is now written once, at
creation, and never follows the title; old rows get the slug of the title they have
now, which is the link readers know them by.

No batch ("move and copy") on `releases`: that would drop the full-text triggers of
0004 on SQLite. Adding and dropping one column needs none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedsvc.text import slugify_de

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The length release paths always cut title slugs to.
SLUG_LENGTH = 60
_releases = sa.table(
    "releases",
    sa.column("id", sa.Integer()),
    sa.column("title", sa.String()),
    sa.column("slug", sa.String()),
)
_BATCH = 500


def upgrade() -> None:
    op.add_column("releases", sa.Column("slug", sa.String(100), nullable=False, server_default=""))
    _fill_slugs()


def downgrade() -> None:
    op.drop_column("releases", "slug")


def _fill_slugs() -> None:
    bind = op.get_bind()
    last_id = 0
    while True:
        query = sa.select(_releases.c.id, _releases.c.title).where(_releases.c.id > last_id)
        rows = bind.execute(query.order_by(_releases.c.id).limit(_BATCH)).all()
        if not rows:
            return
        slugs = [
            {"row_id": row_id, "value": slugify_de(title, max_length=SLUG_LENGTH)} for row_id, title in rows
        ]
        update = _releases.update().where(_releases.c.id == sa.bindparam("row_id"))
        bind.execute(update.values(slug=sa.bindparam("value")), slugs)
        last_id = rows[-1][0]
