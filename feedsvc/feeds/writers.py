"""Rules every feed writer shares, so that Atom, RSS and JSON Feed say the same thing.

- `entry_content_html`: the entry body with the embargo and correction notices in front.
- `rfc3339`: timestamps with their own offset (never converted, never the clock).
- `update_schedule` / `ttl_minutes`: polling guidance for RSS `<ttl>` and `sy:*`.

No feedgen, Flask or SQLAlchemy here: this module only turns model values into strings.
"""

from __future__ import annotations

import html
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from feedsvc.feeds.model import Entry

BERLIN = ZoneInfo("Europe/Berlin")

# RSS Syndication module periods, shortest first, with their length in seconds.
_PERIODS: tuple[tuple[str, int], ...] = (
    ("hourly", 3600),
    ("daily", 86400),
    ("weekly", 7 * 86400),
    ("monthly", 30 * 86400),
    ("yearly", 365 * 86400),
)


def require_aware(value: datetime, what: str) -> datetime:
    """Return `value`, or raise ValueError if it carries no offset (feedgen does the same)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: datetime has no timezone info")
    return value


def rfc3339(value: datetime, what: str = "datetime") -> str:
    """RFC 3339 in the datetime's own offset, e.g. `2024-03-01T09:30:00+01:00`."""
    return require_aware(value, what).isoformat()


def embargo_notice(until: datetime) -> str:
    local = require_aware(until, "embargoed_until").astimezone(BERLIN)
    return f'<p class="embargo"><strong>SPERRFRIST bis {local:%d.%m.%Y %H:%M} Uhr</strong></p>'


def correction_notice(note: str, corrected: datetime) -> str:
    local = require_aware(corrected, "updated").astimezone(BERLIN)
    label = f"Korrektur vom {local:%d.%m.%Y}:"
    return f'<p class="correction"><strong>{label}</strong> {html.escape(note, quote=False)}</p>'


def entry_content_html(entry: Entry) -> str:
    """The HTML body as every format carries it.

    An embargo notice comes first (it decides whether the text may be used at all),
    then a correction notice, then the release body.
    """
    parts: list[str] = []
    if entry.embargoed_until is not None:
        parts.append(embargo_notice(entry.embargoed_until))
    if entry.correction_note.strip():
        parts.append(correction_notice(entry.correction_note, entry.updated))
    parts.append(entry.content_html)
    return "".join(parts)


def _check_ttl(ttl_seconds: int) -> int:
    if ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    return ttl_seconds


def ttl_minutes(ttl_seconds: int) -> int:
    """RSS `<ttl>`: minutes, rounded up so pollers never come back early."""
    return max(1, math.ceil(_check_ttl(ttl_seconds) / 60))


def update_schedule(ttl_seconds: int) -> tuple[str, int]:
    """`(sy:updatePeriod, sy:updateFrequency)` with period / frequency ≈ ttl.

    Uses the shortest period that is at least the ttl, so a ttl of 15 minutes is
    `("hourly", 4)` and a ttl of 6 hours is `("daily", 4)`.
    """
    seconds = _check_ttl(ttl_seconds)
    for name, length in _PERIODS:
        if seconds <= length:
            return name, max(1, round(length / seconds))
    return _PERIODS[-1][0], 1
