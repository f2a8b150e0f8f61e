"""The dates of feed items as instants (docs/operations.md#importing-from-a-feed).

RSS writes RFC 822 dates, Atom and JSON Feed RFC 3339; content management systems of
German cities often write German day and month names and zones instead ("Mo, 23 Okt
2026 09:00:00 MESZ") or the German numeric form ("23.11.2026, 09:00 Uhr"). All of these
are read here. feedparser reads dates too, but hands back UTC only, so a date that names
no zone could not be told from one in UTC: the raw text is read here instead.

A date that names no zone (or one that is not known: "-0000" is RFC 822's "unknown") is
taken as Europe/Berlin time: the time a German press office's site shows.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

ASSUMED_ZONE = ZoneInfo("Europe/Berlin")

# German names as English ones, for the RFC 822 reader; keys in lower case, without a dot.
_MONTHS = {
    "januar": "Jan", "jan": "Jan", "jän": "Jan", "jänner": "Jan",
    "februar": "Feb", "feb": "Feb",
    "märz": "Mar", "maerz": "Mar", "mär": "Mar", "mrz": "Mar",
    "april": "Apr", "mai": "May", "juni": "Jun", "juli": "Jul", "august": "Aug",
    "september": "Sep", "sept": "Sep", "oktober": "Oct", "okt": "Oct",
    "november": "Nov", "dezember": "Dec", "dez": "Dec",
}  # fmt: skip
# Central European (summer) time, also by their English names, which RFC 822 does not know.
_ZONES = {"mez": "+0100", "cet": "+0100", "mesz": "+0200", "cest": "+0200"}
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
# A leading day name ("Mo,", "Montag,", "Mon,"), which RFC 822 readers may skip.
_DAY_NAME = re.compile(r"^\s*[^\W\d_]+\.?,?\s+(?=\d)", re.UNICODE)
# The German ordinal dot of a day ("23. November 2026").
_DAY_DOT = re.compile(r"(?<![\d.])(\d{1,2})\.(?=\s)")
_GERMAN_NUMERIC = re.compile(
    r"^(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})"
    r"(?:,?\s+(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\s*Uhr)?)?$",
    re.IGNORECASE,
)


def feed_instant(raw: str) -> datetime | None:
    """The instant a feed's date text names, or None when it is no date this module reads."""
    text = " ".join(raw.split())
    if not text:
        return None
    for read in (_iso, _german_numeric, _rfc822):
        found = read(text)
        if found is not None:
            return found if found.tzinfo is not None else found.replace(tzinfo=ASSUMED_ZONE)
    return None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _german_numeric(text: str) -> datetime | None:
    match = _GERMAN_NUMERIC.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime(  # noqa: DTZ001 - naive on purpose: the caller assumes the zone
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    except ValueError:  # 31.02.2026
        return None


def _rfc822(text: str) -> datetime | None:
    english = _WORD.sub(_english_word, _DAY_DOT.sub(r"\1", _DAY_NAME.sub("", text)))
    try:
        return parsedate_to_datetime(english)
    except (ValueError, TypeError, IndexError):
        return None


def _english_word(match: re.Match[str]) -> str:
    word = match[0].rstrip(".").lower()
    return _MONTHS.get(word) or _ZONES.get(word) or match[0].rstrip(".")
