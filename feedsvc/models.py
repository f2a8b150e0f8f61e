"""Typed ORM models of feedsvc: cities, regions, topics, publishers, releases, tokens,
the desk's users and their sessions.

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
