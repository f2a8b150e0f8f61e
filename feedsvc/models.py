"""Typed ORM models of feedsvc: cities, regions, topics, publishers, releases, tokens,
the desk's users and their sessions, drafts and their preview links.

Knows nothing of Flask, HTTP or feed formats. Every timestamp is aware UTC, on
SQLite too (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and hands back aware UTC datetimes.

    SQLite has no time zones: the SQLAlchemy docs' recipe stores naive UTC there,
    PostgreSQL keeps `timestamptz`. Naive input is refused so that a local time
    can never be mistaken for UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


publisher_cities = Table(
    "publisher_cities",
    Base.metadata,
    Column("publisher_id", ForeignKey("publishers.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
)


class CatalogEntry:
    """What every catalog entry (region, city, topic, press office) keeps of its history
    (migration 0010, `store.catalog_history`).

    A retired entry takes no new releases and is listed nowhere, but its feeds and page
    stay (with the releases it has). A merged entry is retired too and names the entry
    that took its releases; its row stays, so that its id is never given again (SQLite
    reuses the highest rowid) and its last URLs can still be told to WebSub hubs. No
    foreign key on `merged_into_id`: SQLite cannot add one to an existing table without
    copying it, and only a merge writes the column.
    """

    retired_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class SluggedEntry(CatalogEntry):
    """A region, city or topic: named in URLs by its slug."""

    # The slug the entry had before its first rename (None: never renamed). Feed ids are
    # made of it, so a renamed entry's feeds keep the ids readers know them by.
    first_slug: Mapped[str | None] = mapped_column(String(100))

    @property
    def id_slug(self) -> str:
        """The slug the feed ids of this entry are made of, for good."""
        slug: str = getattr(self, "slug")  # noqa: B009 - every subclass maps a slug column
        return self.first_slug or slug


class Region(SluggedEntry, Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(100))
    # Official regions (migration 0011, `feedsvc import-municipalities`): the key of the
    # Land, Regierungsbezirk or Kreis (the first 2, 3 or 5 digits of its cities' AGS), its
    # level, and the region above it. A region's feeds hold the releases of every region
    # below it (`store.region_tree`). Regions of one's own have none of these.
    ags: Mapped[str | None] = mapped_column(String(5))
    level: Mapped[str | None] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id", back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.name")

    __table_args__ = (Index("ix_regions_ags", "ags", unique=True),)

    # The cities listed in the region: retired ones are listed nowhere.
    cities: Mapped[list[City]] = relationship(
        primaryjoin="and_(Region.id == City.region_id, City.retired_at.is_(None))",
        order_by="City.name",
        viewonly=True,
    )


class City(SluggedEntry, Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(100))
    # Amtlicher Gemeindeschlüssel, 8 digits, where one exists; one city per key (migration 0011).
    ags: Mapped[str | None] = mapped_column(String(8))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)

    region: Mapped[Region] = relationship()

    __table_args__ = (Index("ix_cities_ags", "ags", unique=True),)


class Topic(SluggedEntry, Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Publisher(CatalogEntry, Base):
    """A press office. Its cities are where it may publish by default."""

    __tablename__ = "publishers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]

    cities: Mapped[list[City]] = relationship(secondary=publisher_cities, order_by="City.name")


class SlugAlias(Base):
    """A slug (a press office: a name) that a catalog entry had before it was renamed, or
    that an entry merged into it had (migration 0010).

    Old URLs answer 301 to the entry's current URL, and old names in imports and API
    input still name it. `target_id` is always an entry that was not merged away, so
    every old slug resolves in one hop. A slug stays reserved for its entry for good:
    no other entry may take it, so no feed id is ever made twice.
    """

    __tablename__ = "slug_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "region", "city", "topic" or "publisher".
    kind: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(200))
    target_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("kind", "slug", name="uq_slug_aliases_kind_slug"),
        Index("ix_slug_aliases_kind_target", "kind", "target_id"),
    )


class ReleaseTopic(Base):
    """Release ↔ topic, carrying copies of the release's city and date.

    The copies let "the newest releases of a topic (in a city)" run as a range
    scan of one index instead of joining and sorting.
    """

    __tablename__ = "release_topics"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"))
    published_at: Mapped[datetime]

    topic: Mapped[Topic] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_release_topics_topic_newest", "topic_id", "published_at", "release_id"),
        Index("ix_release_topics_city_topic_newest", "city_id", "topic_id", "published_at", "release_id"),
    )


class ReleaseImage(Base):
    __tablename__ = "release_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    caption: Mapped[str] = mapped_column(Text, default="")
    credit: Mapped[str] = mapped_column(String(300), default="")
    # What those who reuse it may do ("Nur redaktionelle Nutzung mit Nennung ..."): ninjs usageTerms.
    usage_terms: Mapped[str] = mapped_column(String(500), default="", server_default="")
    media_type: Mapped[str] = mapped_column(String(100))
    # The size in bytes; 0 when unknown (an image elsewhere whose size nobody gave).
    length: Mapped[int] = mapped_column(BigInteger)
    # Pixels, where known (migration 0015).
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # An image uploaded to feedsvc (`url` is then its site path, /media/…): its renditions
    # are what pages and feeds show.
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)

    media: Mapped[Media | None] = relationship(lazy="joined")


class ReleaseAttachment(Base):
    """A PDF document of a release (migration 0015): listed on its page, announced in feeds."""

    __tablename__ = "release_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    # What the page and feeds call it ("Haushaltsplan 2027").
    title: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(100))
    # The size in bytes; 0 when unknown.
    length: Mapped[int] = mapped_column(BigInteger)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)

    media: Mapped[Media | None] = relationship(lazy="joined")


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The entry id in every feed (RFC 4151 tag URI), fixed at creation.
    guid: Mapped[str] = mapped_column(String(300), unique=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"))
    # Copy of the city's region, so a region feed is one index range scan.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    title: Mapped[str] = mapped_column(String(300))
    # The slug of the release's link, fixed at creation (migration 0008): a corrected
    # title never changes the link readers know the release by. May be "" (no slug).
    slug: Mapped[str] = mapped_column(String(100), default="", server_default="")
    summary: Mapped[str] = mapped_column(Text)
    # True while the summary is derived from the body (and follows its edits).
    summary_derived: Mapped[bool] = mapped_column(Boolean, default=False)
    body_html: Mapped[str] = mapped_column(Text)
    # The body's plain text, what full-text search indexes (migration 0004). Written with
    # body_html; deferred because nothing but the search index reads it.
    body_text: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)
    author: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(35), default="de")
    correction_note: Mapped[str | None] = mapped_column(String(1000))
    # SHA-256 of the submitted content: a retried POST with the same content is idempotent.
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(Integer, default=1)
    retracted_at: Mapped[datetime | None]
    # Why the press office withdrew it, shown on its 410 page and in its tombstones.
    retraction_reason: Mapped[str | None] = mapped_column(String(1000))
    # IPTC urgency: 1 (most urgent) to 9 (least); 5 is ordinary. Subscriptions can ask for
    # releases at least this urgent (`Subscription.urgency_floor`).
    urgency: Mapped[int] = mapped_column(Integer, default=5, server_default="5")

    city: Mapped[City] = relationship(lazy="joined", innerjoin=True)
    publisher: Mapped[Publisher] = relationship(lazy="joined", innerjoin=True)
    topic_links: Mapped[list[ReleaseTopic]] = relationship(
        cascade="all, delete-orphan", order_by="ReleaseTopic.topic_id", lazy="selectin"
    )
    images: Mapped[list[ReleaseImage]] = relationship(
        cascade="all, delete-orphan", order_by="ReleaseImage.position", lazy="selectin"
    )
    attachments: Mapped[list[ReleaseAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="ReleaseAttachment.position", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("publisher_id", "external_id", name="uq_releases_publisher_external_id"),
        Index("ix_releases_newest", "published_at", "id"),
        Index("ix_releases_city_newest", "city_id", "published_at", "id"),
        Index("ix_releases_region_newest", "region_id", "published_at", "id"),
        # Partial: only the few retracted rows, for RFC 6721 tombstones. A full
        # index on retracted_at would tempt planners away from the feed indexes.
        Index(
            "ix_releases_retracted",
            "retracted_at",
            sqlite_where=text("retracted_at IS NOT NULL"),
            postgresql_where=text("retracted_at IS NOT NULL"),
        ),
        # The same for city and region feeds, so their tombstone query never
        # walks the city's (or region's) whole feed index.
        Index(
            "ix_releases_city_retracted",
            "city_id",
            "retracted_at",
            sqlite_where=text("retracted_at IS NOT NULL"),
            postgresql_where=text("retracted_at IS NOT NULL"),
        ),
        Index(
            "ix_releases_region_retracted",
            "region_id",
            "retracted_at",
            sqlite_where=text("retracted_at IS NOT NULL"),
            postgresql_where=text("retracted_at IS NOT NULL"),
        ),
    )

    @property
    def topics(self) -> list[Topic]:
        return [link.topic for link in self.topic_links]

    @property
    def is_retracted(self) -> bool:
        return self.retracted_at is not None


class ReleaseRevision(Base):
    """A version of a release as it was before a correction replaced it.

    `revision` is the number it had (the release itself holds the newest); `content` is
    a JSON object of what readers saw (`store.revisions`). `replaced_at` is when the
    correction came, `major` whether it was a major one (announced: `updated` moved) and
    `change_note` the note the correction gave.
    """

    __tablename__ = "release_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    replaced_at: Mapped[datetime]
    major: Mapped[bool] = mapped_column(Boolean)
    change_note: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (UniqueConstraint("release_id", "revision", name="uq_release_revisions_revision"),)


subscription_cities = Table(
    "subscription_cities",
    Base.metadata,
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
)
subscription_regions = Table(
    "subscription_regions",
    Base.metadata,
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)
subscription_topics = Table(
    "subscription_topics",
    Base.metadata,
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


class Subscription(Base):
    """A saved filter, with a stable URL (`/subscriptions/<key>`) and its feeds, webhooks and
    e-mail alerts: the releases of any of its cities, in any of its regions (or below),
    about any of its topics; within a kind a union, across kinds an intersection; an empty
    kind does not filter. `query` is a full-text search; `urgency_floor` keeps releases at
    least that urgent (urgency at most the floor).

    `key` is made from the filter (`store.subscriptions`), so the same filter is the same
    subscription, whoever asks for it.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    query: Mapped[str | None] = mapped_column(String(500))
    urgency_floor: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]

    cities: Mapped[list[City]] = relationship(
        secondary=subscription_cities, lazy="selectin", order_by="City.slug"
    )
    regions: Mapped[list[Region]] = relationship(
        secondary=subscription_regions, lazy="selectin", order_by="Region.slug"
    )
    topics: Mapped[list[Topic]] = relationship(
        secondary=subscription_topics, lazy="selectin", order_by="Topic.slug"
    )


class WebhookEndpoint(Base):
    """A newsroom system's URL that hears of the releases of a subscription (migration 0017,
    `store.webhooks`, docs/api.md#webhooks).

    `secret` signs every message (Standard Webhooks, `whsec_` + base64): it is stored as it
    is, since signing needs it, and shown once, when the endpoint is made. An endpoint that
    failed continuously since `failing_since_us` for FEEDSVC_WEBHOOK_DISABLE_AFTER is
    disabled (`enabled` False, with when and why); its deliveries wait until an admin
    enables it again. A worker sends to it only while it holds its lease. Times in
    microseconds, as in `delivery_targets`.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Who registered it: an admin token's label, a desk user's address, or a command.
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    # Since when every attempt failed (0: the last one succeeded, or none was made yet).
    failing_since_us: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until_us: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_token: Mapped[str] = mapped_column(String(64), default="")
    delivered_total: Mapped[int] = mapped_column(BigInteger, default=0)
    failures_total: Mapped[int] = mapped_column(BigInteger, default=0)

    subscription: Mapped[Subscription] = relationship(lazy="joined", innerjoin=True)


class WebhookMessage(Base):
    """One event as it is signed and sent: `body` is the exact JSON text, `message_id` its
    `webhook-id`, the same for every attempt and every endpoint that gets it. One per outbox
    entry (`outbox_seq`, its place in the delivery order) and event type."""

    __tablename__ = "webhook_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40))
    # "release.published", "release.corrected" or "release.retracted".
    event_type: Mapped[str] = mapped_column(String(40))
    release_id: Mapped[int] = mapped_column(Integer)
    outbox_seq: Mapped[int] = mapped_column(BigInteger)
    # When the event happened (the body's `timestamp`): the change, or the embargo instant.
    occurred_us: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    created_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("message_id", name="uq_webhook_messages_message_id"),
        UniqueConstraint("outbox_seq", "event_type", name="uq_webhook_messages_entry_type"),
    )


class WebhookDelivery(Base):
    """One message for one endpoint, and how sending it went: the delivery log.

    `status` is "pending" until an attempt is answered 2xx, then "delivered". Deliveries of
    an endpoint are sent in the order of their ids (the delivery order of their changes):
    a pending one holds back the later ones of its endpoint. Unique per endpoint and outbox
    entry, so a fan-out done twice adds nothing.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhook_messages.id", ondelete="CASCADE"),
        index=True,
    )
    outbox_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Failed attempts since it was made or last sent again: where it is in the retry schedule.
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_us: Mapped[int] = mapped_column(BigInteger)
    last_attempt_us: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_us: Mapped[int] = mapped_column(BigInteger, default=0)
    # The HTTP status of the last answer (None: none came).
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_us: Mapped[int] = mapped_column(BigInteger)

    message: Mapped[WebhookMessage] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("endpoint_id", "outbox_seq", name="uq_webhook_deliveries_endpoint_entry"),
        Index("ix_webhook_deliveries_endpoint_status", "endpoint_id", "status", "id"),
        # What the sending thread looks for every second: the pending ones that are due.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_us"),
    )


class WebhookRelease(Base):
    """What an endpoint was sent of a release: the revision, whether its subscription held
    the release then, whether it was told of the retraction. Who was sent a release hears
    of its retraction, and of a correction that moved it out of the filter."""

    __tablename__ = "webhook_releases"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    release_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean)
    retracted: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One entry of the append-only audit log: who did what to what, when, from where.

    `actor_kind` is user, token or command; `actor_id` the user's or token's id (None for
    a command); `actor_label` what the actor was called then (an e-mail address, a token's
    label), kept as it was even when the user or token goes. `detail` is a JSON object.
    Triggers refuse every UPDATE and DELETE (migration 0013).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    address: Mapped[str] = mapped_column(String(45), default="")

    __table_args__ = (Index("ix_audit_events_subject", "subject_kind", "subject_id", "id"),)


token_cities = Table(
    "token_cities",
    Base.metadata,
    Column("token_id", ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
)


class Token(Base):
    """An API token. Only the SHA-256 of the secret is stored."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "publisher" (scoped to cities), "admin" (everything) or "journalist" (read embargoed).
    role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    publisher: Mapped[Publisher | None] = relationship(lazy="joined")
    cities: Mapped[list[City]] = relationship(secondary=token_cities, lazy="selectin", order_by="City.slug")


user_cities = Table(
    "user_cities",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person who signs in to the desk (`/publish`). Only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Trimmed and in lower case (`store.accounts.normalise_email`): the name to sign in with.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # "editor" (writes for the press offices of its cities) or "admin" (everything).
    role: Mapped[str] = mapped_column(String(20))
    # argon2id in PHC form; None: the user signs in with e-mail links only.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]

    cities: Mapped[list[City]] = relationship(secondary=user_cities, lazy="selectin", order_by="City.slug")


class DeskSession(Base):
    """A sign-in to the desk, of a user or of an API token.

    The cookie carries a random secret; only its SHA-256 is stored, so a copy of the
    table signs nobody in. Deleting the row ends the session at once, whoever holds a
    copy of the cookie. It ends by itself `expires_at` (the absolute end) or after
    FEEDSVC_SESSION_IDLE_TIMEOUT without a request (from `last_seen_at`).
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"), index=True)
    # How it was signed in to: "password", "link" (an e-mail sign-in link) or "token".
    method: Mapped[str] = mapped_column(String(10))
    # What every form of the session posts back (the CSRF check).
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Shown to the user in the overview of their sessions.
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User | None] = relationship(lazy="joined")
    token: Mapped[Token | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (token_id IS NULL)", name="ck_sessions_one_owner"),
    )


class SignInLink(Base):
    """A one-time sign-in link sent by e-mail; only the SHA-256 of its secret is stored."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class SignInAttempt(Base):
    """A failed sign-in, or a sign-in link sent: what throttling counts (`store.sign_in_throttle`).

    Counted in the database, so every worker and app server sees the same counts.
    """

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # SHA-256 of what is counted ("account:<e-mail>", "ip:<address>", …): fixed length and
    # free of whatever was typed.
    key_hash: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_sign_in_attempts_key_time", "key_hash", "attempted_at"),
        Index("ix_sign_in_attempts_attempted_at", "attempted_at"),
    )


class FeedVersion(Base):
    """Change counter and release count of one feed subject ("all", "city:3", "city:3:topic:5", ...).

    Every write to a release bumps the counters of the subjects that hold it, in
    the same transaction, so every worker and app server sharing the database
    learns of the change from one primary-key read, without rendering anything.
    Times are epoch microseconds so that a raw DB-API cursor can read them.
    """

    __tablename__ = "feed_versions"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the subject's content last changed (its Last-Modified).
    changed_us: Mapped[int] = mapped_column(BigInteger)
    # Earliest embargo of the subject still to lift (None: none pending). It may
    # be early (a pending release was moved or retracted), never late.
    next_lift_us: Mapped[int | None] = mapped_column(BigInteger)
    # Releases the subject holds that are not retracted, embargoed ones included:
    # kept with every write, so an overview counts without reading the releases.
    release_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OutboxEntry(Base):
    """One change to deliver: the outbox every delivery target works off, in order.

    Written in the same transaction as the change itself (`store.changes.bump`,
    an embargo lift), so a change is delivered if and only if it was committed.
    `due_us` is the instant before which nobody hears of it: the commit, or for
    a release still under embargo its embargo instant. `seq` is its place in the
    delivery order, given by the worker once the entry is due (`store.outbox`):
    in the order entries became deliverable, with no gaps, so a target's position
    (`DeliveryTarget.delivered_seq`) never passes an entry that is still to come.
    Times are epoch microseconds, as in `feed_versions`.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # "published", "corrected" (major), "corrected_minor", "retracted", "embargo_lifted",
    # "catalog", or "changed".
    kind: Mapped[str] = mapped_column(String(20))
    release_id: Mapped[int | None] = mapped_column(Integer)
    # The changed subjects (`store.keys`), space-separated, sorted.
    subject_keys: Mapped[str] = mapped_column(Text)
    created_us: Mapped[int] = mapped_column(BigInteger)
    due_us: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_outbox_seq", "seq", unique=True),
        Index("ix_outbox_due_us", "due_us"),
        Index("ix_outbox_release_id", "release_id"),
    )


class DeliveryTarget(Base):
    """Where one delivery target ("purge", "websub:<hub URL>") stands in the outbox.

    Each target has its own position, its own failures and backoff, so a hub that
    is down holds back nobody but itself (and WebSub hubs wait for the purge, so
    that they never fetch a copy the caches still hold). The totals are what
    /metrics reports per target.
    """

    __tablename__ = "delivery_targets"

    name: Mapped[str] = mapped_column(String(2100), primary_key=True)
    # The `seq` of the last outbox entry this target took.
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Failed attempts since the last success; the next attempt waits 2^attempts seconds.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_delivered_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    delivered_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failures_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    retries_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class FeedSource(Base):
    """A feed a press office publishes on its own site, which the worker pulls on a schedule
    and imports as `feedsvc import URL` does (`worker.pulling`, `store.feed_sources`).

    A worker claims a due source by setting its lease (`lease_until_us`, `lease_token`) and
    records the result only while the lease is still its own, so two workers never import
    one source at once, and one that died holds it for one lease at most. The validators of
    the last answer (`etag`, `last_modified`) make an unchanged feed cost one 304. Times
    are epoch microseconds, as in `delivery_targets`.
    """

    __tablename__ = "feed_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    # The press office its releases are published for (None: the city's own).
    publisher_name: Mapped[str | None] = mapped_column(String(200))
    # Feed categories → topic slugs (a JSON object), copied from the mapping file given to `add`.
    topic_map: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    interval_seconds: Mapped[int] = mapped_column(Integer)
    created_us: Mapped[int] = mapped_column(BigInteger)
    next_pull_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lease_until_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lease_token: Mapped[str] = mapped_column(String(64), default="", server_default="")
    etag: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    last_modified: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Pulls that failed in a row (fetching or reading the feed); the next waits longer each time.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_attempt_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_success_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What the last successful pull did ("3 new, 1 changed, …", items that failed, or "not modified").
    last_result: Mapped[str] = mapped_column(Text, default="", server_default="")

    city: Mapped[City] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("url", "city_id", name="uq_feed_sources_url_city"),
        Index("ix_feed_sources_next_pull_us", "next_pull_us"),
    )


class Draft(Base):
    """A release being written in the desk, not yet published (migration 0014, `store.drafts`).

    A draft is no release: no feed, page, count, search, sitemap or outbox ever reads this
    table. `form` is what the form held, as JSON (`web.pages.desk_drafts`), incomplete or not;
    it is checked only when the draft is published. A draft is for a city, and visible to
    whoever may write that city; one with no city yet is its author's alone. Its submission
    key becomes the external_id of the release it is published as, so publishing it twice
    publishes once; `revision` counts its saves, so that a save over someone else's newer
    one is noticed. The author's user or token row is only a reference (SET NULL): drafts
    of a city outlive who started them.
    """

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"), index=True)
    # The title as plain text (at most 300 characters), for the desk's list.
    title: Mapped[str] = mapped_column(String(300), default="")
    form: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="SET NULL"), index=True
    )
    # Whom the desk named when the draft was made and last saved (a user's name, an office's).
    created_by: Mapped[str] = mapped_column(String(300), default="")
    updated_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    city: Mapped[City | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "created_by_user_id IS NULL OR created_by_token_id IS NULL", name="ck_drafts_one_author"
        ),
    )


class PreviewLink(Base):
    """A secret link that shows a draft or a release under embargo as its page would look
    (`/preview/<secret>`, `store.preview_links`). Only the SHA-256 of the secret is stored;
    the link shows nothing after `expires_at`, and revoking it deletes the row. It goes with
    its draft (CASCADE), or moves to the release the draft is published as."""

    __tablename__ = "preview_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("(draft_id IS NULL) <> (release_id IS NULL)", name="ck_preview_links_one_target"),
    )


class Media(Base):
    """An uploaded image or PDF document (migration 0015, `store.media`), served at
    `/media/<key>/<rendition>.<ext>` for good.

    The bytes are in the media storage (`feedsvc.media.storage`), not here: each rendition
    names its blob by the SHA-256 of its content. `key` names the upload in URLs: of a PDF,
    the SHA-256 of its bytes; of an image, that of its source and the caption and credit
    written into its renditions (`publishing.media`), so the same picture with another
    caption is another upload. `source_id` is the upload whose pixels an image with another
    caption was made from; `source_sha256` the SHA-256 of the bytes first uploaded.
    """

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # "image" or "document".
    kind: Mapped[str] = mapped_column(String(20))
    media_type: Mapped[str] = mapped_column(String(100))
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    # The file name it was uploaded with (plain text): a PDF's title and download name.
    name: Mapped[str] = mapped_column(String(300), default="")
    caption: Mapped[str] = mapped_column(Text, default="")
    credit: Mapped[str] = mapped_column(String(300), default="")
    # Pixels of an image upright (EXIF orientation applied); pages of a PDF.
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    # Who uploaded it: a press office (None: an admin, or a command).
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"))
    created_at: Mapped[datetime]

    renditions: Mapped[list[MediaRendition]] = relationship(
        cascade="all, delete-orphan", order_by="MediaRendition.id", lazy="selectin"
    )
    source: Mapped[Media | None] = relationship(remote_side="Media.id")

    def rendition(self, name: str) -> MediaRendition | None:
        return next((each for each in self.renditions if each.name == name), None)


class MediaRendition(Base):
    """One served form of an upload: `full`, `page` or `feed` of an image, `document` of a
    PDF. `blob` is the storage key of its bytes (their SHA-256); renditions of one size
    share it when the image was too small to be scaled down."""

    __tablename__ = "media_renditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))
    blob: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    length: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("media_id", "name", name="uq_media_renditions_name"),)


class MailSignUp(Base):
    """A request for e-mail alerts of a subscription, until its address confirms it (double
    opt-in, migration 0018, `store.mail_alerts`).

    Nothing but the confirmation mail goes to the address before the link in it is used.
    Only the SHA-256 of the link's secret is stored here (the mail that carries it keeps it
    until it is sent). A used or expired sign-up stays until the sign-up window has passed
    it, since the limits per address and per client count sign-ups; `client_hash` is the
    SHA-256 of what the per-client limit counts, never the client's address itself.
    """

    __tablename__ = "mail_sign_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    # Trimmed and in lower case (`store.accounts.normalise_email`).
    address: Mapped[str] = mapped_column(String(320))
    # "immediate" (an alert per release) or "digest" (one mail a day).
    mode: Mapped[str] = mapped_column(String(10))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

    subscription: Mapped[Subscription] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        Index("ix_mail_sign_ups_address_created", "address", "created_at"),
        Index("ix_mail_sign_ups_client_created", "client_hash", "created_at"),
    )


class MailSubscriber(Base):
    """An address that confirmed e-mail alerts of a subscription (`store.mail_alerts`).

    `token` is the secret of the links in every mail (unsubscribe, manage). Unlike the
    secrets of sessions and sign-in links it is stored as it is: the worker writes it into
    each mail it sends, long after it was made. It lets its holder do nothing but change or
    end this one subscriber's alerts. Unsubscribing deletes the row, and with it every mail
    sent or queued for it (CASCADE).
    """

    __tablename__ = "mail_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime]
    # Digests: the instant the last digest covered (releases after it go into the next one).
    digest_through: Mapped[datetime]

    subscription: Mapped[Subscription] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("subscription_id", "address", name="uq_mail_subscribers_address"),
        # The sender looks for due digests every few seconds.
        Index("ix_mail_subscribers_digest", "mode", "digest_through"),
    )


class MailMessage(Base):
    """A mail to send, and once sent the record of what went to whom (`store.mail_alerts`).

    Either a subscriber's (an alert, a digest, a retraction notice) or a sign-up's (the
    confirmation mail). `source` is what made it: "outbox:<seq>" for the outbox entry an
    alert or notice tells of, "digest:<instant>" for a digest, "sign-up" for a confirmation;
    one per subscriber and source, so working an entry off twice queues nothing twice.
    The releases it tells of are `MailMessageRelease` rows: who was told of a release is
    who hears of its retraction. A sender claims a mail by `claimed_until`/`claim_token`
    (as pulls claim feed sources), so two senders never send one mail.
    """

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_subscribers.id", ondelete="CASCADE"), index=True
    )
    sign_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_sign_ups.id", ondelete="CASCADE"), index=True
    )
    # "confirm", "published", "corrected", "retracted" or "digest".
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    # A correction's note as it was when the correction was made.
    note: Mapped[str | None] = mapped_column(String(1000))
    # The confirmation link's secret, until its mail is sent (then only its hash remains).
    secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    sent_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("(subscriber_id IS NULL) <> (sign_up_id IS NULL)", name="ck_mail_messages_one_owner"),
        UniqueConstraint("subscriber_id", "source", name="uq_mail_messages_source"),
        # Partial: the queue is the few mails not sent yet, not the record of every one sent.
        Index(
            "ix_mail_messages_queue",
            "next_attempt_at",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


class MailMessageRelease(Base):
    """A release a mail tells of (an alert's one, a digest's several), in the mail's order."""

    __tablename__ = "mail_message_releases"

    message_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("mail_messages.id", ondelete="CASCADE"),
        primary_key=True,
    )
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_mail_message_releases_release_id", "release_id"),)
