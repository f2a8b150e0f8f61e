"""Full-text search over title, summary and body: `releases.body_text` plus a search index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The body is HTML; the index wants its text, so releases keep the body as plain text
too (`body_text`, written by the store with `body_html`; filled here for old rows).

PostgreSQL: a stored generated tsvector with German stemming, indexed with GIN.
SQLite: an FTS5 table over the same three columns (external content: it stores only
the index) kept in sync by triggers. FTS5 has no German stemmer; the store matches
each word as a prefix instead.

Careful with later SQLite "move and copy" batches on `releases`: recreating the table
drops these triggers, so such a migration must create them again.
"""

from __future__ import annotations

from textwrap import dedent

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from feedsvc.text import html_text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# to_tsvector fails on documents whose vector would pass 1 MB; bodies may be 1 MB of
# HTML, so only their first 200,000 characters (far more than any press release) count.
PG_SEARCH_VECTOR = (
    "to_tsvector('german'::regconfig, title || ' ' || summary || ' ' || left(body_text, 200000))"
)
SQLITE_FTS_COLUMNS = "title, summary, body_text"
SQLITE_TRIGGERS = {
    "releases_fts_insert": """
        CREATE TRIGGER releases_fts_insert AFTER INSERT ON releases BEGIN
          INSERT INTO releases_fts (rowid, title, summary, body_text)
          VALUES (new.id, new.title, new.summary, new.body_text);
        END""",
    # External content: the index forgets a row by being told its old values.
    "releases_fts_delete": """
        CREATE TRIGGER releases_fts_delete AFTER DELETE ON releases BEGIN
          INSERT INTO releases_fts (releases_fts, rowid, title, summary, body_text)
          VALUES ('delete', old.id, old.title, old.summary, old.body_text);
        END""",
    "releases_fts_update": """
        CREATE TRIGGER releases_fts_update AFTER UPDATE OF title, summary, body_text ON releases BEGIN
          INSERT INTO releases_fts (releases_fts, rowid, title, summary, body_text)
          VALUES ('delete', old.id, old.title, old.summary, old.body_text);
          INSERT INTO releases_fts (rowid, title, summary, body_text)
          VALUES (new.id, new.title, new.summary, new.body_text);
        END""",
}

_releases = sa.table(
    "releases",
    sa.column("id", sa.Integer()),
    sa.column("body_html", sa.Text()),
    sa.column("body_text", sa.Text()),
)
_BATCH = 500


def upgrade() -> None:
    op.add_column("releases", sa.Column("body_text", sa.Text(), nullable=False, server_default=""))
    _fill_body_text()
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "releases",
            sa.Column("search_vector", TSVECTOR(), sa.Computed(PG_SEARCH_VECTOR, persisted=True)),
        )
        # fastupdate off: writes are few, and entries parked in GIN's pending list (until the
        # next vacuum) make the planner shun the index after a bulk import.
        op.create_index(
            "ix_releases_search",
            "releases",
            ["search_vector"],
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )
    else:
        op.execute(
            f"CREATE VIRTUAL TABLE releases_fts USING fts5({SQLITE_FTS_COLUMNS}, content='releases', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(dedent(ddl).strip())
        op.execute("INSERT INTO releases_fts (releases_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_releases_search", table_name="releases")
        op.drop_column("releases", "search_vector")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE releases_fts")
    op.drop_column("releases", "body_text")


def _fill_body_text() -> None:
    """The plain text of every stored body, as the store derives it on writes."""
    bind = op.get_bind()
    last_id = 0
    while True:
        query = sa.select(_releases.c.id, _releases.c.body_html).where(_releases.c.id > last_id)
        rows = bind.execute(query.order_by(_releases.c.id).limit(_BATCH)).all()
        if not rows:
            return
        texts = [{"row_id": row_id, "text": html_text(html)} for row_id, html in rows]
        update = _releases.update().where(_releases.c.id == sa.bindparam("row_id"))
        bind.execute(update.values(body_text=sa.bindparam("text")), texts)
        last_id = rows[-1][0]
