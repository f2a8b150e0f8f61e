"""Every resource path of feedsvc, and the list of feed formats. No Flask: the web
layer makes these absolute (`web.urls`), the worker tells hubs and caches about them.

| thing              | page                            | feeds (`FMT` in `FEED_FORMATS`)          |
|--------------------|---------------------------------|------------------------------------------|
| everything         | `/`                             | `/feed.FMT`                              |
| a city             | `/cities/<city>`                | `/cities/<city>/feed.FMT`                |
| a topic            | `/topics/<topic>`               | `/topics/<topic>/feed.FMT`               |
| a city and a topic | `/cities/<city>/topics/<topic>` | `/cities/<city>/topics/<topic>/feed.FMT` |
| a region           | `/regions/<region>`             | `/regions/<region>/feed.FMT`             |
| an official key    | `/ags/<key>`                    | `/ags/<key>/feed.FMT`                    |
| one release        | `/releases/<id>-<slug>`         | `/releases/<id>-<slug>.ninjs.json`       |
| an upload          | `/media/<key>/<rendition>.<ext>`: `full`, `page`, `feed` of an image; `document` |

An official key (AGS) answers 301 to the page or feed of the city or region it names.
Feed readers are offered `READER_FEED_FORMATS` (pages' autodiscovery links, OPML); ninjs
is for newsroom systems, which find it in the API's `feeds` and in docs/feeds.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from feedsvc.formats import FORMATS, NINJS
from feedsvc.text import slugify_de

FEED_FORMATS: tuple[str, ...] = tuple(FORMATS)
READER_FEED_FORMATS: tuple[str, ...] = tuple(name for name, fmt in FORMATS.items() if fmt.for_readers)
API_RELEASES = "/api/v1/releases"
# `/early/<id>/<signature>`: a release under embargo, for those handed the link in a journalist feed.
EARLY_ACCESS = "/early"


class Named(Protocol):
    @property
    def slug(self) -> str: ...


class Slugged(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def slug(self) -> str: ...


def subject_path(city: Named | None = None, topic: Named | None = None, region: Named | None = None) -> str:
    """Path of the HTML page of a feed's subject; '' for everything."""
    if region is not None:
        return f"/regions/{region.slug}"
    if city is not None and topic is not None:
        return f"/cities/{city.slug}/topics/{topic.slug}"
    if city is not None:
        return f"/cities/{city.slug}"
    if topic is not None:
        return f"/topics/{topic.slug}"
    return ""


def official_key_path(ags: str) -> str:
    """Where an official key (AGS of a Gemeinde, or the 2, 3 or 5 digits of a Land,
    Regierungsbezirk or Kreis) leads: 301 to the page of what it names; `feed_path` of it
    to its feeds."""
    return f"/ags/{ags}"


class Minted(Protocol):
    @property
    def id_slug(self) -> str: ...


@dataclass(frozen=True)
class _Slug:
    slug: str


def subject_id_path(
    city: Minted | None = None, topic: Minted | None = None, region: Minted | None = None
) -> str:
    """The path a subject's feed ids are made of: its page path with the slugs its city,
    topic or region had first (`models.SluggedEntry.id_slug`), so a rename never changes
    the id of a feed. For entries never renamed it is the page path itself."""
    return subject_path(
        *(_Slug(entry.id_slug) if entry is not None else None for entry in (city, topic, region))
    )


def subscription_path(key: str) -> str:
    """The page of a subscription (a saved filter, `store.subscriptions`); its feeds are
    `feed_path` of it."""
    return f"/subscriptions/{key}"


def feed_path(subject: str, fmt: str) -> str:
    return f"{subject}/feed.{fmt}"


def feed_paths(subject: str) -> list[str]:
    """The subject's feed in every format."""
    return [feed_path(subject, fmt) for fmt in FEED_FORMATS]


RELEASE_SLUG_LENGTH = 60


def release_slug(title: str) -> str:
    """The slug a release's link gets from its title when it is created, and keeps for
    good: a corrected title never moves the link (migration 0008 stores it)."""
    return slugify_de(title, max_length=RELEASE_SLUG_LENGTH)


def release_path(release: Slugged) -> str:
    """The canonical path of a release's page, the link of its feed entries: the same
    for the life of the release. Other spellings redirect here (web/pages/release.py)."""
    slug = release.slug
    return f"/releases/{release.id}-{slug}" if slug else f"/releases/{release.id}"


MEDIA_PREFIX = "/media/"
_MEDIA_PATH = re.compile(r"/media/(?P<key>[0-9a-f]{64})/(?P<rendition>[a-z]+)\.(?P<extension>[a-z]+)")


@dataclass(frozen=True)
class MediaPath:
    key: str
    rendition: str
    extension: str


def media_path(key: str, rendition: str, extension: str) -> str:
    """Where an upload's rendition is served, for good (its bytes never change)."""
    return f"{MEDIA_PREFIX}{key}/{rendition}.{extension}"


def parse_media_path(path: str) -> MediaPath | None:
    """The parts of a `media_path`, or None when `path` is none."""
    found = _MEDIA_PATH.fullmatch(path)
    return MediaPath(found["key"], found["rendition"], found["extension"]) if found else None


def release_ninjs_path(release: Slugged) -> str:
    """The release alone as an IPTC ninjs document, beside its page."""
    return f"{release_path(release)}.{NINJS}"


def api_release_path(release_id: int) -> str:
    return f"{API_RELEASES}/{release_id}"


# For search engines: the sitemaps (sitemaps.org; a sitemap index past 50,000 URLs) and robots.txt.
ROBOTS = "/robots.txt"
SITEMAP = "/sitemap.xml"
NEWS_SITEMAP = "/sitemap-news.xml"
PAGES_SITEMAP = "/sitemap-pages.xml"


def releases_sitemap_path(part: int) -> str:
    """A child sitemap of the index: the release pages of one range of ids."""
    return f"/sitemap-releases-{part}.xml"
