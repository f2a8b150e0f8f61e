"""Which releases a feed holds, and where a page of them continues: the cursor,
and its text form in the `after=`/`before=` of feed, page and API links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Scope:
    """Which releases a feed holds: all, or those of a city, topic, region, city×topic."""

    city_id: int | None = None
    topic_id: int | None = None
    region_id: int | None = None


@dataclass(frozen=True)
class Cursor:
    """Position after which a page continues: the last entry's date and id."""

    published_at: datetime
    release_id: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(cursor: Cursor) -> str:
    # Integer arithmetic: a float timestamp can be a microsecond off, and a cursor one
    # microsecond early counts its own release as newer than itself.
    micros = (cursor.published_at - _EPOCH) // _MICROSECOND
    return f"{micros}-{cursor.release_id}"


def decode_cursor(text: str) -> Cursor | None:
    micros, _, release_id = text.partition("-")
    # ASCII digits only: str.isdigit() accepts "²" and "١", which int() refuses or reads as digits.
    if (
        not (text.isascii() and micros.isdigit() and release_id.isdigit())
        or len(micros) > 18
        or len(release_id) > 18
    ):
        return None
    try:
        published_at = _EPOCH + int(micros) * _MICROSECOND
    except (ValueError, OverflowError, OSError):  # beyond the years datetime can hold
        return None
    if int(release_id) > 2**63 - 1:
        return None
    return Cursor(published_at=published_at, release_id=int(release_id))
