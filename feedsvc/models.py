"""Typed ORM models of feedsvc: cities, regions, topics, publishers, releases.

Knows nothing of Flask, HTTP or feed formats. Every timestamp is aware UTC, on
SQLite too (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
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


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(100))

    cities: Mapped[list[City]] = relationship(back_populates="region", order_by="City.name")


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(100))
    # Amtlicher Gemeindeschlüssel, 8 digits, where one exists.
    ags: Mapped[str | None] = mapped_column(String(8))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)

    region: Mapped[Region] = relationship(back_populates="cities")


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Publisher(Base):
    """A press office. Its cities are where it may publish by default."""

    __tablename__ = "publishers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]

    cities: Mapped[list[City]] = relationship(secondary=publisher_cities, order_by="City.name")


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
    media_type: Mapped[str] = mapped_column(String(100))
    length: Mapped[int] = mapped_column(BigInteger)


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

    city: Mapped[City] = relationship(lazy="joined", innerjoin=True)
    publisher: Mapped[Publisher] = relationship(lazy="joined", innerjoin=True)
    topic_links: Mapped[list[ReleaseTopic]] = relationship(
        cascade="all, delete-orphan", order_by="ReleaseTopic.topic_id", lazy="selectin"
    )
    images: Mapped[list[ReleaseImage]] = relationship(
        cascade="all, delete-orphan", order_by="ReleaseImage.position", lazy="selectin"
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
    # "published", "corrected", "retracted", "embargo_lifted", "catalog", or "changed".
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
