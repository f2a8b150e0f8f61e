"""What the API answers: output models (also the OpenAPI response schemas) and
the conversion of stored rows into them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from feedsvc import paths
from feedsvc.media.sniffing import EXTENSIONS
from feedsvc.models import City, Media, Publisher, Region, Release, Topic
from feedsvc.publishing.input import FieldError
from feedsvc.publishing.media import canonical_rendition
from feedsvc.web import urls


# Output models are separate from the input models (ImageIn, ContactIn): building an input
# model runs its cleaning again, and stored plain text cleaned twice would decode twice
# ("&amp;lt;" was stored as "&lt;" and would come back as "<").
class ImageOut(BaseModel):
    url: str
    caption: str
    credit: str
    # Left out when the press office gave none.
    usage_terms: str = Field("", exclude_if=lambda value: not value)
    type: str
    # 0 when unknown.
    length: int
    # Pixels, where known (always for an image uploaded to feedsvc); left out when not.
    width: int | None = Field(None, exclude_if=lambda value: value is None)
    height: int | None = Field(None, exclude_if=lambda value: value is None)


class AttachmentOut(BaseModel):
    url: str
    title: str
    type: str
    # 0 when unknown.
    length: int


class RenditionOut(BaseModel):
    """One served form of an upload: the URL it is at for good, and what is there."""

    url: str
    type: str
    length: int
    width: int | None
    height: int | None


class MediaOut(BaseModel):
    """An upload (docs/api.md#uploading-images-and-pdfs): `url` is what a release's `images`
    (an image's full size) or `attachments` (a PDF) name; the other fields describe it."""

    url: str
    kind: str
    type: str
    length: int
    width: int | None
    height: int | None
    pages: int | None
    name: str
    caption: str
    credit: str
    renditions: dict[str, RenditionOut]


class ContactOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class WarningOut(BaseModel):
    """Something a write did that the writer may not expect; the write itself succeeded."""

    field: str
    message: str


class ReleaseOut(BaseModel):
    id: int
    guid: str
    url: str
    title: str
    summary: str
    body: str
    city: str
    region: str
    topics: list[str]
    published_at: datetime
    images: list[ImageOut]
    attachments: list[AttachmentOut] = []
    source_url: str | None
    author: str
    publisher: str
    contact: ContactOut | None
    language: str
    external_id: str | None
    correction_note: str | None
    urgency: int
    created_at: datetime
    updated_at: datetime
    revision: int
    # Only in the answer to the write that caused them (docs/api.md#warnings).
    warnings: list[WarningOut] = []


class ReleaseList(BaseModel):
    items: list[ReleaseOut]
    next: str | None


class CityOut(BaseModel):
    slug: str
    name: str
    state: str
    region: str
    ags: str | None
    url: str
    feeds: dict[str, str]
    # Since when it takes no new releases (docs/api.md#the-catalog); listings show none such.
    retired_at: datetime | None = None


class TopicOut(BaseModel):
    slug: str
    name: str
    url: str
    feeds: dict[str, str]
    retired_at: datetime | None = None


class RegionOut(BaseModel):
    slug: str
    name: str
    state: str
    # Official regions (`feedsvc import-municipalities`): the key of the Land, Regierungsbezirk
    # or Kreis (2, 3 or 5 digits), the level, and the regions above and right below; the feeds
    # of a region hold those of every region below it. Null and empty for regions of one's own.
    ags: str | None
    level: str | None
    parent: str | None
    regions: list[str]
    cities: list[str]
    url: str
    feeds: dict[str, str]
    retired_at: datetime | None = None


class PublisherOut(BaseModel):
    """A press office: the cities it publishes for by default."""

    id: int
    name: str
    cities: list[str]
    url: str
    retired_at: datetime | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    # 422: what is wrong with which field ("topics.1", "images.0.url", "(body)" for the whole body).
    errors: list[FieldError] | None = None
    # 409: the release that already holds the external_id.
    existing_id: int | None = None
    existing_url: str | None = None


def _feeds(page_path: str) -> dict[str, str]:
    return {fmt: urls.absolute(paths.feed_path(page_path, fmt)) for fmt in paths.FEED_FORMATS}


def release_out(release: Release) -> ReleaseOut:
    contact = None
    if release.contact_name or release.contact_email or release.contact_phone:
        contact = ContactOut(
            name=release.contact_name, email=release.contact_email, phone=release.contact_phone
        )
    return ReleaseOut(
        id=release.id,
        guid=release.guid,
        url=urls.release_url(release),
        title=release.title,
        summary=release.summary,
        body=release.body_html,
        city=release.city.slug,
        region=release.city.region.slug,
        topics=[topic.slug for topic in release.topics],
        published_at=release.published_at,
        images=[
            ImageOut(
                url=urls.asset_url(i.url),
                caption=i.caption,
                credit=i.credit,
                usage_terms=i.usage_terms,
                type=i.media_type,
                length=i.length,
                width=i.width,
                height=i.height,
            )
            for i in release.images
        ],
        attachments=[
            AttachmentOut(url=urls.asset_url(a.url), title=a.title, type=a.media_type, length=a.length)
            for a in release.attachments
        ],
        source_url=release.source_url,
        author=release.author,
        publisher=release.publisher.name,
        contact=contact,
        language=release.language,
        external_id=release.external_id,
        correction_note=release.correction_note,
        urgency=release.urgency,
        created_at=release.created_at,
        updated_at=release.updated_at,
        revision=release.revision,
    )


def city_out(city: City) -> CityOut:
    path = paths.subject_path(city=city)
    return CityOut(
        slug=city.slug,
        name=city.name,
        state=city.state,
        region=city.region.slug,
        ags=city.ags,
        url=urls.absolute(path),
        feeds=_feeds(path),
        retired_at=city.retired_at,
    )


def topic_out(topic: Topic) -> TopicOut:
    path = paths.subject_path(topic=topic)
    return TopicOut(
        slug=topic.slug,
        name=topic.name,
        url=urls.absolute(path),
        feeds=_feeds(path),
        retired_at=topic.retired_at,
    )


def region_out(region: Region) -> RegionOut:
    path = paths.subject_path(region=region)
    return RegionOut(
        slug=region.slug,
        name=region.name,
        state=region.state,
        ags=region.ags,
        level=region.level,
        parent=region.parent.slug if region.parent is not None else None,
        regions=[each.slug for each in region.children if not each.is_retired],
        cities=[city.slug for city in region.cities],
        url=urls.absolute(path),
        feeds=_feeds(path),
        retired_at=region.retired_at,
    )


def publisher_out(publisher: Publisher) -> PublisherOut:
    return PublisherOut(
        id=publisher.id,
        name=publisher.name,
        cities=[city.slug for city in publisher.cities],
        url=urls.absolute(f"/api/v1/publishers/{publisher.id}"),
        retired_at=publisher.retired_at,
    )


def media_out(media: Media) -> MediaOut:
    renditions = {
        each.name: RenditionOut(
            url=urls.absolute(paths.media_path(media.key, each.name, EXTENSIONS[each.media_type])),
            type=each.media_type,
            length=each.length,
            width=each.width,
            height=each.height,
        )
        for each in media.renditions
    }
    named = renditions[canonical_rendition(media)]
    return MediaOut(
        url=named.url,
        kind=media.kind,
        type=named.type,
        length=named.length,
        width=named.width,
        height=named.height,
        pages=media.pages,
        name=media.name,
        caption=media.caption,
        credit=media.credit,
        renditions=renditions,
    )
