"""E-mail alerts of subscriptions: `mail_sign_ups`, `mail_subscribers`, `mail_messages` and
`mail_message_releases`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

Citizens and newsrooms subscribe to a subscription by e-mail with double opt-in: a
sign-up waits, with only the SHA-256 of its link's secret, until the address confirms it;
then it is a subscriber, alerted at once of each release or sent one digest a day. Every
mail is a row of `mail_messages`, queued by the delivery worker from the outbox (one per
subscriber and outbox entry) and kept once sent, with the releases it told of, so that a
retraction reaches exactly those who were told of the release. Deleting a subscriber
deletes what was sent to it (CASCADE).

New tables only: nothing existing changes. Downgrading drops them, and with them every
sign-up, subscriber and mail record (subscriptions stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Aware UTC on PostgreSQL (timestamptz); SQLite stores naive UTC (models.UTCDateTime).
UTC_DATETIME = sa.DateTime(timezone=True)
MESSAGE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOT_SENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "mail_sign_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index("ix_mail_sign_ups_subscription_id", "mail_sign_ups", ["subscription_id"])
    op.create_index("ix_mail_sign_ups_expires_at", "mail_sign_ups", ["expires_at"])
    op.create_index("ix_mail_sign_ups_address_created", "mail_sign_ups", ["address", "created_at"])
    op.create_index("ix_mail_sign_ups_client_created", "mail_sign_ups", ["client_hash", "created_at"])
    op.create_table(
        "mail_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", UTC_DATETIME, nullable=False),
        sa.Column("digest_through", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
        sa.UniqueConstraint("subscription_id", "address", name="uq_mail_subscribers_address"),
    )
    op.create_index("ix_mail_subscribers_subscription_id", "mail_subscribers", ["subscription_id"])
    op.create_index("ix_mail_subscribers_address", "mail_subscribers", ["address"])
    op.create_index("ix_mail_subscribers_digest", "mail_subscribers", ["mode", "digest_through"])
    op.create_table(
        "mail_messages",
        sa.Column("id", MESSAGE_ID, nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("sign_up_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("claimed_until", UTC_DATETIME, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "(subscriber_id IS NULL) <> (sign_up_id IS NULL)", name="ck_mail_messages_one_owner"
        ),
        sa.ForeignKeyConstraint(["subscriber_id"], ["mail_subscribers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sign_up_id"], ["mail_sign_ups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscriber_id", "source", name="uq_mail_messages_source"),
    )
    op.create_index("ix_mail_messages_subscriber_id", "mail_messages", ["subscriber_id"])
    op.create_index("ix_mail_messages_sign_up_id", "mail_messages", ["sign_up_id"])
    op.create_index("ix_mail_messages_sent_at", "mail_messages", ["sent_at"])
    op.create_index(
        "ix_mail_messages_queue",
        "mail_messages",
        ["next_attempt_at"],
        sqlite_where=NOT_SENT,
        postgresql_where=NOT_SENT,
    )
    op.create_table(
        "mail_message_releases",
        sa.Column("message_id", MESSAGE_ID, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["mail_messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "release_id"),
    )
    op.create_index("ix_mail_message_releases_release_id", "mail_message_releases", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_message_releases_release_id", table_name="mail_message_releases")
    op.drop_table("mail_message_releases")
    op.drop_index("ix_mail_messages_queue", table_name="mail_messages")
    op.drop_index("ix_mail_messages_sent_at", table_name="mail_messages")
    op.drop_index("ix_mail_messages_sign_up_id", table_name="mail_messages")
    op.drop_index("ix_mail_messages_subscriber_id", table_name="mail_messages")
    op.drop_table("mail_messages")
    op.drop_index("ix_mail_subscribers_digest", table_name="mail_subscribers")
    op.drop_index("ix_mail_subscribers_address", table_name="mail_subscribers")
    op.drop_index("ix_mail_subscribers_subscription_id", table_name="mail_subscribers")
    op.drop_table("mail_subscribers")
    op.drop_index("ix_mail_sign_ups_client_created", table_name="mail_sign_ups")
    op.drop_index("ix_mail_sign_ups_address_created", table_name="mail_sign_ups")
    op.drop_index("ix_mail_sign_ups_expires_at", table_name="mail_sign_ups")
    op.drop_index("ix_mail_sign_ups_subscription_id", table_name="mail_sign_ups")
    op.drop_table("mail_sign_ups")
