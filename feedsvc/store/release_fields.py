"""What the store writes into a release: plain values, already validated and clean.

The store does not judge input; whoever calls it has (docs/api.md#a-release).
`ReleaseFields` are a new release's, `ReleaseUpdate` a change to one, in which a
field left `UNCHANGED` keeps its stored value. A release's city and topics are
not values but rows (`feedsvc.store.releases.References`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final


class Unchanged(enum.Enum):
    """The type of `UNCHANGED`: distinct from None, which removes an optional field."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED
# IPTC's ordinary urgency (1 most urgent, 9 least).
DEFAULT_URGENCY: Final = 5


@dataclass(frozen=True)
class ImageFields:
    """An image; its `url` is a site path (`/media/…`) when it was uploaded to feedsvc."""

    url: str
    caption: str
    credit: str
    media_type: str
    length: int  # 0: unknown
    width: int | None = None
    height: int | None = None
    usage_terms: str = ""


@dataclass(frozen=True)
class AttachmentFields:
    """A PDF document; its `url` is a site path (`/media/…`) when it was uploaded to feedsvc."""

    url: str
    title: str
    media_type: str
    length: int  # 0: unknown


@dataclass(frozen=True)
class ContactFields:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ReleaseFields:
    """A new release. Empty (or None) `summary` and `author` take their defaults."""

    title: str
    body_html: str
    # Fingerprint of the submitted input: a later publish with the same one is a retry.
    content_hash: str
    language: str = "de"
    external_id: str | None = None
    published_at: datetime | None = None  # None: at once
    summary: str | None = None  # derived from the body
    author: str | None = None  # the press office's name
    correction_note: str | None = None
    urgency: int = DEFAULT_URGENCY
    source_url: str | None = None
    contact: ContactFields | None = None
    images: tuple[ImageFields, ...] = ()
    attachments: tuple[AttachmentFields, ...] = ()


@dataclass(frozen=True)
class ReleaseUpdate:
    """A change to a release: every field not `UNCHANGED` is replaced.

    An empty (or None) `summary` is derived from the body from now on, an empty
    (or None) `author` is the press office's name; None removes the other
    optional fields.
    """

    title: str | Unchanged = UNCHANGED
    body_html: str | Unchanged = UNCHANGED
    summary: str | Unchanged | None = UNCHANGED
    published_at: datetime | Unchanged = UNCHANGED
    author: str | Unchanged | None = UNCHANGED
    language: str | Unchanged = UNCHANGED
    correction_note: str | Unchanged | None = UNCHANGED
    urgency: int | Unchanged = UNCHANGED
    source_url: str | Unchanged | None = UNCHANGED
    contact: ContactFields | Unchanged | None = UNCHANGED
    images: tuple[ImageFields, ...] | Unchanged = UNCHANGED
    attachments: tuple[AttachmentFields, ...] | Unchanged = UNCHANGED
    # Only an import replaces it: a correction through the API keeps the fingerprint of
    # what was first published, so a retry of that publish still finds its release.
    content_hash: str | Unchanged = UNCHANGED
