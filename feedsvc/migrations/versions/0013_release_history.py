"""What a correction replaced, why a release was retracted, and who did what:
`release_revisions`, `releases.retraction_reason` and the append-only `audit_events`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

A correction overwrote the text readers had seen, a retraction could give no reason,
and nothing recorded which person or token published, corrected or retracted what.
Now every correction first keeps the version it replaces (one row per replaced
revision, as a JSON object of what readers saw), a retraction may carry a reason, and
every write of the desk, the API and the commands leaves one row in `audit_events`.

The audit log is append-only in the database itself: triggers refuse UPDATE and
DELETE on both SQLite and PostgreSQL, so no code path (and no mistaken query) can
rewrite history. (PostgreSQL's TRUNCATE, an administrator's act, is not a row
operation and stays possible.)

Downgrading drops the new table, column and triggers, and with them every kept
version, reason and audit entry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)
REFUSAL = "the audit log is append-only"


def upgrade() -> None:
    # No batch ("move and copy") on `releases`: it would drop the full-text triggers.
    op.add_column("releases", sa.Column("retraction_reason", sa.String(length=1000), nullable=True))
    op.create_table(
        "release_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("valid_from", UTC_DATETIME, nullable=False),
        sa.Column("replaced_at", UTC_DATETIME, nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("change_note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_id", "revision", name="uq_release_revisions_revision"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject_kind", "subject_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER audit_events_no_{operation}")
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("release_revisions")
    op.drop_column("releases", "retraction_reason")
