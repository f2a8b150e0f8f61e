"""A release as the neutral feed model's entry (`formats.model.Entry`): what every feed,
each release's ninjs document and every webhook say of it.

A pure function of the release and the base URL its links are made on, so the web (on the
request's base URL, `web.feeds.content.entry_of`) and the delivery worker (on
FEEDSVC_BASE_URL, `worker.webhooks`) build the same entry, byte for byte once written.
Uploads are shown in the rendition made for each place (`shown`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedsvc import paths
from feedsvc.formats.common import BERLIN
from feedsvc.formats.model import (
    Attachment,
    Category,
    Concept,
    Contact,
    Entry,
    Image,
    Person,
    Place,
    Tombstone,
)
from feedsvc.media import sniffing
from feedsvc.media.renditions import FEED
from feedsvc.models import Media, Release, ReleaseAttachment, ReleaseImage
from feedsvc.publishing.media import DOCUMENT_RENDITION

# Category scheme of a city's Amtlicher Gemeindeschlüssel (8 digits, Destatis).
AGS_SCHEME = "urn:de:destatis:ags"
# The link of a release under embargo in a journalist feed (`web.urls.early_access_url`).
EarlyAccessUrl = Callable[[Release], str]


@dataclass(frozen=True)
class Shown:
    """An image or attachment of a release as one place shows it: where (a site path for an
    upload, `asset_url` makes it absolute), what, how large (None: unknown)."""

    url: str
    type: str
    length: int | None
    width: int | None = None
    height: int | None = None


def shown(item: ReleaseImage | ReleaseAttachment | Any, rendition: str) -> Shown:
    """`item` as `rendition` of its upload shows it (an image's `page` or `feed`); an image
    or document elsewhere as it was given. Also takes what only looks like an image of a
    release (an earlier version's: a URL, maybe a size)."""
    media: Media | None = getattr(item, "media", None)
    made = media.rendition(rendition) if media is not None else None
    if media is None or made is None:
        length: int = getattr(item, "length", 0)
        return Shown(
            item.url,
            getattr(item, "media_type", ""),
            length or None,
            getattr(item, "width", None),
            getattr(item, "height", None),
        )
    path = paths.media_path(media.key, made.name, sniffing.EXTENSIONS[made.media_type])
    return Shown(path, made.media_type, made.length, made.width, made.height)


def asset_url(url: str, base: str) -> str:
    """An image URL as it goes out: an absolute one as stored, a site path (an upload's
    `/media/…`, the sample's `/static/sample/…`) on `base`."""
    return f"{base}{url}" if url.startswith("/") else url


def release_entry(
    release: Release,
    base: str,
    *,
    embargo_now: datetime | None = None,
    early_access_url: EarlyAccessUrl | None = None,
) -> Entry:
    """The entry of a release with links on `base` (no trailing slash); with `embargo_now`,
    one still under embargo then is marked so and linked by `early_access_url`."""
    categories = [
        Category(term=topic.name, scheme=f"{base}/topics/", label=topic.name) for topic in release.topics
    ]
    city = release.city
    categories.append(Category(term=city.name, scheme=f"{base}/cities/", label=city.name))
    if city.ags:
        # The official municipality key lets aggregators match cities across sources.
        categories.append(Category(term=city.ags, scheme=AGS_SCHEME, label=city.ags))
    images = tuple(_image(image, base) for image in release.images)
    attachments = tuple(_attachment(attachment, base) for attachment in release.attachments)
    published, updated = release.published_at, _updated(release)
    embargoed = embargo_now is not None and release.published_at > embargo_now
    link = f"{base}{paths.release_path(release)}"
    if embargo_now is not None and embargoed:
        if early_access_url is None:
            raise ValueError("an entry under embargo needs the early-access link of journalist feeds")
        # Shown to journalists before its instant: dated by when it was last written, never
        # from the future; the embargo instant is in the notice (and JSON's `_feedsvc`).
        published = updated = min(release.updated_at, embargo_now)
        # Journalists follow the link to the page marked SPERRFRIST.
        link = early_access_url(release)
    return Entry(
        id=release.guid,
        title=release.title,
        link=link,
        summary=release.summary,
        content_html=release.body_html,
        published=published.astimezone(BERLIN),
        updated=updated.astimezone(BERLIN),
        author=Person(name=release.author, email=release.contact_email),
        categories=tuple(categories),
        images=images,
        attachments=attachments,
        language=release.language,
        correction_note=release.correction_note or "",
        embargoed_until=release.published_at.astimezone(BERLIN) if embargoed else None,
        source_url=release.source_url,
        contact=_contact(release),
        revision=release.revision,
        urgency=release.urgency,
        place=Place(name=city.name, ags=city.ags),
        # A topic is named by the URL its feeds' ids are made of, which a rename keeps.
        topics=tuple(
            Concept(name=topic.name, uri=f"{base}{paths.subject_id_path(topic=topic)}")
            for topic in release.topics
        ),
        document_url=f"{base}{paths.release_ninjs_path(release)}",
    )


def tombstone_of(release: Release) -> Tombstone | None:
    """What is left of a retracted release: its id, when and why it was retracted, and the
    version the retraction made; None for a release that is not retracted."""
    if release.retracted_at is None:
        return None
    return Tombstone(
        ref=release.guid,
        when=release.retracted_at.astimezone(BERLIN),
        comment=release.retraction_reason,
        revision=release.revision,
    )


def _image(image: ReleaseImage, base: str) -> Image:
    # An upload is announced in its size for feeds, with its true length; the API takes 0
    # (or nothing) for the size of an image elsewhere that nobody knows, which no feed
    # format allows: unknown (None) then.
    fed = shown(image, FEED)
    return Image(
        url=asset_url(fed.url, base),
        type=fed.type,
        length=fed.length,
        caption=image.caption,
        credit=image.credit,
        usage_terms=image.usage_terms,
        width=fed.width,
        height=fed.height,
    )


def _attachment(attachment: ReleaseAttachment, base: str) -> Attachment:
    document = shown(attachment, DOCUMENT_RENDITION)
    return Attachment(
        url=asset_url(document.url, base),
        type=document.type,
        length=document.length,
        title=attachment.title,
    )


def _contact(release: Release) -> Contact | None:
    if not (release.contact_name or release.contact_email or release.contact_phone):
        return None
    return Contact(name=release.contact_name or "", email=release.contact_email, phone=release.contact_phone)


def _updated(release: Release) -> datetime:
    # Until its first correction a release's content dates from its publication, however
    # long after it was written or imported.
    return max(release.updated_at, release.published_at) if release.revision > 1 else release.published_at
