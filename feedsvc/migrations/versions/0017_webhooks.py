"""Signed webhooks for newsrooms: `webhook_endpoints`, `webhook_messages`,
`webhook_deliveries` and `webhook_releases`.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

An endpoint is a newsroom system's URL registered for a subscription: it is told of every
release the subscription holds as it is published, corrected (majorly) or retracted, in
a POST signed per Standard Webhooks with the endpoint's own secret. The worker turns
outbox entries into messages (the signed body, its `webhook-id`, once per entry and event
type) and into one delivery per endpoint and entry (unique, so a repeated fan-out adds
nothing); each delivery keeps its attempts, its last answer and error, and when it is
tried next. `webhook_releases` records what each endpoint was sent of each release, so a
retraction, or a correction that moved a release out of the filter, reaches exactly the
endpoints that had it. Endpoints carry a lease, so two workers never send to one at once.

New tables only: nothing existing moves. Downgrading drops them, and with them every
endpoint, its secret and its delivery log (the `webhooks` row of `delivery_targets`, if
any, is dropped too, so the outbox no longer waits for it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
# Ids of rows written per change and endpoint: 64 bits on PostgreSQL, SQLite's rowid there.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", UTC_DATETIME, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("failing_since_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_token", sa.String(length=64), nullable=False),
        sa.Column("delivered_total", sa.BigInteger(), nullable=False),
        sa.Column("failures_total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoints_subscription_id", "webhook_endpoints", ["subscription_id"])
    op.create_table(
        "webhook_messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("outbox_seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_webhook_messages_message_id"),
        sa.UniqueConstraint("outbox_seq", "event_type", name="uq_webhook_messages_entry_type"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("outbox_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("delivered_us", sa.BigInteger(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["webhook_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_id", "outbox_seq", name="uq_webhook_deliveries_endpoint_entry"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_status", "webhook_deliveries", ["endpoint_id", "status", "id"]
    )
    op.create_index("ix_webhook_deliveries_message_id", "webhook_deliveries", ["message_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_us"])
    op.create_table(
        "webhook_releases",
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("endpoint_id", "release_id"),
    )
    op.create_index("ix_webhook_releases_release_id", "webhook_releases", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_releases_release_id", table_name="webhook_releases")
    op.drop_table("webhook_releases")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_message_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_endpoint_status", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
    op.drop_index("ix_webhook_endpoints_subscription_id", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.execute(sa.text("DELETE FROM delivery_targets WHERE name = 'webhooks'"))
