"""Which releases a feed holds, and where a page of them continues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
