"""Rules every feed writer shares, so that Atom, RSS and JSON Feed say the same thing.

- `entry_content_html`: the entry body as every format carries it: the embargo and
  correction notices in front, then the lead image, the body, and the press contact and
  source at the end.
- `instant` / `rfc3339`: timestamps in whole seconds with their own offset (never
  converted, never the clock); every writer takes its dates from `instant`.
- `html_escaped` / `needs_html`: plain text written where a reader reads HTML.
- `ttl_minutes` / `update_schedule`: polling guidance for RSS `<ttl>` and `sy:*`.

No feedgen, Flask or SQLAlchemy here: this module only turns model values into strings.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from feedsvc.formats.model import Attachment, Contact, Entry, Image

BERLIN = ZoneInfo("Europe/Berlin")

# RSS Syndication module periods, shortest first, with their length in seconds.
_PERIODS: tuple[tuple[str, int], ...] = (
    ("hourly", 3600),
    ("daily", 86400),
    ("weekly", 7 * 86400),
    ("monthly", 30 * 86400),
    ("yearly", 365 * 86400),
)
# What a tel: URI keeps of a phone number as press offices write it ("+49 (0) 8031 365-1").
_NOT_DIALLED = re.compile(r"\(0\)|[^0-9+]")


def require_aware(value: datetime, what: str) -> datetime:
    """Return `value`, or raise ValueError if it carries no offset (feedgen does the same)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: datetime has no timezone info")
    return value


def instant(value: datetime, what: str = "datetime") -> datetime:
    """A timestamp as every format writes it: aware, in its own offset, in whole seconds.

    Fractions of a second are cut here, the one place every writer takes its dates from:
    readers such as newsboat drop the offset of `…:57.225623+01:00`. Cutting never moves a
    date past a later one, so an entry never gets newer than its feed.
    """
    return require_aware(value, what).replace(microsecond=0)


def rfc3339(value: datetime, what: str = "datetime") -> str:
    """RFC 3339 in the datetime's own offset, e.g. `2024-03-01T09:30:00+01:00`."""
    return instant(value, what).isoformat()


def html_escaped(text: str) -> str:
    """Plain text as HTML that shows exactly that text: `&`, `<` and `>` escaped.

    For elements a reader reads as HTML (RSS title and description, `type="html"`); the
    XML writer escapes the result once more, as it does any text.
    """
    return html.escape(text, quote=False)


def needs_html(text: str) -> bool:
    """Whether plain text holds a character that a reader taking it for HTML would misread.

    Atom writes such text as `type="html"`, escaped (`html_escaped`): validators warn about
    `type="text"` that looks like markup, and readers that ignore `type` see text either way.
    """
    return "<" in text or "&" in text


def embargo_notice(until: datetime) -> str:
    local = require_aware(until, "embargoed_until").astimezone(BERLIN)
    return f'<p class="embargo"><strong>SPERRFRIST bis {local:%d.%m.%Y %H:%M} Uhr</strong></p>'


def correction_notice(note: str, corrected: datetime) -> str:
    local = require_aware(corrected, "updated").astimezone(BERLIN)
    label = f"Korrektur vom {local:%d.%m.%Y}:"
    return f'<p class="correction"><strong>{label}</strong> {html_escaped(note)}</p>'


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)


def lead_image_html(image: Image) -> str:
    """The lead image as a figure: the caption is its alt text and figcaption, with the credit."""
    img = f'<img src="{_attribute(image.url)}" alt="{_attribute(image.caption)}">'
    caption = [html_escaped(image.caption)] if image.caption else []
    if image.credit:
        caption.append(f"<small>{html_escaped(image.credit)}</small>")
    figcaption = f"<figcaption>{' '.join(caption)}</figcaption>" if caption else ""
    return f'<figure class="lead-image">{img}{figcaption}</figure>'


def _shows_image(body: str, image: Image) -> bool:
    # Sanitised bodies write attributes double-quoted with "&" as "&amp;".
    return f'src="{_attribute(image.url)}"' in body


def contact_html(contact: Contact) -> str:
    """The press contact as a closing paragraph: name, phone (tel:) and e-mail (mailto:)."""
    parts: list[str] = []
    if contact.name:
        parts.append(html_escaped(contact.name))
    if contact.phone:
        dialled = _NOT_DIALLED.sub("", contact.phone)
        phone = html_escaped(contact.phone)
        parts.append(f'Tel. <a href="tel:{_attribute(dialled)}">{phone}</a>' if dialled else f"Tel. {phone}")
    if contact.email:
        address = html_escaped(contact.email)
        parts.append(f'<a href="mailto:{_attribute(contact.email)}">{address}</a>')
    return f'<p class="contact">Pressekontakt: {", ".join(parts)}</p>' if parts else ""


def source_html(url: str) -> str:
    """A link to the release on the press office's own site."""
    return f'<p class="source">Quelle: <a href="{_attribute(url)}">{html_escaped(url)}</a></p>'


def file_size_label(length: int) -> str:
    """A size in bytes as German readers expect it: "850 kB", "1,2 MB" (decimal units)."""
    if length < 1000:
        return f"{length} Byte"
    if length < 1_000_000:
        return f"{round(length / 1000)} kB"
    megabytes = length / 1_000_000
    shown = f"{megabytes:.1f}".removesuffix(".0") if megabytes < 100 else f"{round(megabytes)}"
    return f"{shown.replace('.', ',')} MB"


def attachment_html(attachment: Attachment) -> str:
    """A document of the release as a closing line: its title linked, its type and size."""
    title = html_escaped(attachment.title or "Dokument")
    facts = ["PDF" if attachment.type == "application/pdf" else html_escaped(attachment.type)]
    if attachment.length:
        facts.append(file_size_label(attachment.length))
    link = f'<a href="{_attribute(attachment.url)}">{title}</a>'
    return f'<p class="attachment">Anhang: {link} ({", ".join(facts)})</p>'


def entry_content_html(entry: Entry) -> str:
    """The HTML body as every format carries it, built here once.

    An embargo notice comes first (it decides whether the text may be used at all), then a
    correction notice, the lead image (unless the body shows it already), the release body,
    its documents (attachments), and at the end the press contact and the release on the
    press office's site.
    """
    parts: list[str] = []
    if entry.embargoed_until is not None:
        parts.append(embargo_notice(entry.embargoed_until))
    if entry.correction_note.strip():
        parts.append(correction_notice(entry.correction_note, entry.updated))
    if entry.images and not _shows_image(entry.content_html, entry.images[0]):
        parts.append(lead_image_html(entry.images[0]))
    parts.append(entry.content_html)
    parts.extend(attachment_html(attachment) for attachment in entry.attachments)
    if entry.contact is not None:
        parts.append(contact_html(entry.contact))
    if entry.source_url:
        parts.append(source_html(entry.source_url))
    return "".join(parts)


def _check_ttl(ttl_seconds: int) -> int:
    if ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    return ttl_seconds


def ttl_minutes(ttl_seconds: int) -> int | None:
    """RSS `<ttl>`: whole minutes, rounded down, so a poller never keeps the feed longer
    than the seconds given; None when that is less than a minute (no `<ttl>` then)."""
    minutes = _check_ttl(ttl_seconds) // 60
    return minutes or None


def update_schedule(update_seconds: int) -> tuple[str, int]:
    """`(sy:updatePeriod, sy:updateFrequency)` with period / frequency ≈ the interval.

    Uses the shortest period that is at least the interval, so 15 minutes is
    `("hourly", 4)` and 6 hours is `("daily", 4)`.
    """
    seconds = _check_ttl(update_seconds)
    for name, length in _PERIODS:
        if seconds <= length:
            return name, max(1, round(length / seconds))
    return _PERIODS[-1][0], 1
