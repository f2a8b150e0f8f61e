"""What the API answers: output models (also the OpenAPI response schemas) and
the conversion of stored rows into them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from feedsvc import paths
from feedsvc.models import City, Publisher, Region, Release, Topic
from feedsvc.publishing.input import FieldError
from feedsvc.web import urls


# Output models are separate from the input models (ImageIn, ContactIn): building an input
# model runs its cleaning again, and stored plain text cleaned twice would decode twice
# ("&amp;lt;" was stored as "&lt;" and would come back as "<").
class ImageOut(BaseModel):
    url: str
    caption: str
    credit: str
    type: str
    length: int


class ContactOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


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
    source_url: str | None
    author: str
    publisher: str
    contact: ContactOut | None
    language: str
    external_id: str | None
    correction_note: str | None
    created_at: datetime
    updated_at: datetime
    revision: int


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
                type=i.media_type,
                length=i.length,
            )
            for i in release.images
        ],
        source_url=release.source_url,
        author=release.author,
        publisher=release.publisher.name,
        contact=contact,
        language=release.language,
        external_id=release.external_id,
        correction_note=release.correction_note,
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
