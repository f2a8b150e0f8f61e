"""Rows of uploaded images and PDFs (`media`) and of what is served of them
(`media_renditions`); the bytes live in the media storage (`feedsvc.media.storage`).

Uploads are written one at a time (`lock_uploads`): on SQLite under the write lock the
caller took (`db.begin_writing`), on PostgreSQL under a transaction-scoped advisory lock
besides. Within it, whether a blob is still wanted (`blobs_in_use`) is an answer nobody
can change until the transaction ends, so an upload that failed may delete the blobs it
wrote without taking one from an upload that needs it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from feedsvc.models import Media, MediaRendition, Publisher

IMAGE, DOCUMENT = "image", "document"
# Serialises the transactions that write uploads (PostgreSQL): "feedmdia".
_UPLOAD_LOCK = 0x66656564_6D646961


@dataclass(frozen=True)
class RenditionRow:
    name: str
    blob: str
    media_type: str
    length: int
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class MediaRow:
    """A new upload, as the store writes it (already judged and rendered by its caller)."""

    key: str
    kind: str
    media_type: str
    source_sha256: str
    name: str
    caption: str
    credit: str
    renditions: Sequence[RenditionRow]
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    source_id: int | None = None


def media_by_key(session: Session, key: str) -> Media | None:
    return session.scalars(select(Media).where(Media.key == key)).one_or_none()


def lock_uploads(session: Session) -> None:
    """Makes every other upload's write wait until this transaction ends (see the module)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPLOAD_LOCK})


def blobs_in_use(session: Session, blobs: Collection[str]) -> set[str]:
    """Those of `blobs` that some rendition serves."""
    if not blobs:
        return set()
    query = select(MediaRendition.blob).where(MediaRendition.blob.in_(sorted(blobs))).distinct()
    return set(session.scalars(query))


def add_media(session: Session, row: MediaRow, publisher: Publisher | None, now: datetime) -> Media:
    media = Media(
        key=row.key,
        kind=row.kind,
        media_type=row.media_type,
        source_sha256=row.source_sha256,
        source_id=row.source_id,
        name=row.name,
        caption=row.caption,
        credit=row.credit,
        width=row.width,
        height=row.height,
        pages=row.pages,
        publisher_id=publisher.id if publisher is not None else None,
        created_at=now,
        renditions=[
            MediaRendition(
                name=each.name,
                blob=each.blob,
                media_type=each.media_type,
                length=each.length,
                width=each.width,
                height=each.height,
            )
            for each in row.renditions
        ],
    )
    session.add(media)
    session.flush()
    return media
