"""For search engines: `/robots.txt`, `/sitemap.xml` and the Google News sitemap
`/sitemap-news.xml` (docs/pages.md#for-search-engines).

`/sitemap.xml` lists every public release page with its `lastmod`, and the overview
pages. Past `MAX_URLS` (50,000, the protocol's limit) it is a sitemap index instead,
of `/sitemap-pages.xml` (the overviews) and `/sitemap-releases-<n>.xml`, each the
releases of one range of `RELEASES_PER_PART` ids: a child is one range of the primary
key, whatever the size of the archive. A child's ETag comes from two numbers about
the visible releases of its range (`store.browse.range_state`), so a crawler holding it
gets its 304 without the child being rendered.

Embargoed and retracted releases never appear, and nothing written to a release under
embargo changes a sitemap, its ETag or its Cache-Control before the instant. Sitemaps
are cached like feeds, for `FEEDSVC_FEED_MAX_AGE` at most, until the next point of the
expiry grid (`FEEDSVC_FEED_EXPIRY_GRID`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app

from feedsvc import db, paths
from feedsvc.config import site_identity
from feedsvc.store import browse, catalog
from feedsvc.store.browse import ListedRelease
from feedsvc.store.changes import from_micros
from feedsvc.store.keys import ALL_KEY, CATALOG_KEY, scope_key
from feedsvc.store.scope import Scope
from feedsvc.web import urls
from feedsvc.web.feeds.cache import state_reader
from feedsvc.web.pages import counts
from feedsvc.web.pages.responses import now, page_max_age, public_document

blueprint = Blueprint("sitemaps", __name__)

# The sitemap protocol's limit of URLs per file (sitemaps.org).
MAX_URLS = 50_000
RELEASES_PER_PART = 10_000
# Google News lists releases of the last two days, at most 1,000 per sitemap.
NEWS_WINDOW = timedelta(days=2)
NEWS_MAX_URLS = 1000
# Bump when the rendering changes, so no crawler keeps old bytes under a known ETag.
SITEMAP_REVISION = "1"

XML = "application/xml"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

Entry = tuple[str, datetime | None]


def w3c_datetime(moment: datetime) -> str:
    """The W3C Datetime form sitemaps use, in UTC to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(loc: str, lastmod: datetime | None) -> str:
    modified = f"<lastmod>{w3c_datetime(lastmod)}</lastmod>" if lastmod is not None else ""
    return f"<url><loc>{escape(loc)}</loc>{modified}</url>\n"


def _urlset(entries: Iterable[Entry]) -> str:
    body = "".join(_url(loc, lastmod) for loc, lastmod in entries)
    return f'{_HEAD}<urlset xmlns="{SITEMAP_NS}">\n{body}</urlset>\n'


def _tag(*parts: object) -> str:
    digest = hashlib.sha256(repr((SITEMAP_REVISION, urls.base_url(), *parts)).encode()).hexdigest()
    return digest[:40]


def _longest() -> int:
    longest: int = current_app.config["FEED_MAX_AGE"]
    return longest


def _release_entries(releases: Sequence[ListedRelease]) -> list[Entry]:
    base = urls.base_url()
    return [(base + paths.release_path(release), release.last_modified) for release in releases]


def overview_entries() -> list[Entry]:
    """The overview pages (everything, each region, city and topic) and the feed
    directory, each with the last change of what it shows."""
    session = db.session()
    pages: list[tuple[str, str]] = [("/", ALL_KEY), ("/feeds", CATALOG_KEY)]
    pages += [
        (paths.subject_path(region=region), scope_key(Scope(region_id=region.id)))
        for region in catalog.regions(session)
    ]
    pages += [
        (paths.subject_path(city=city), scope_key(Scope(city_id=city.id))) for city in catalog.cities(session)
    ]
    pages += [
        (paths.subject_path(topic=topic), scope_key(Scope(topic_id=topic.id)))
        for topic in catalog.topics(session)
    ]
    states = state_reader().states([key for _, key in pages])
    return [
        (urls.absolute(path), from_micros(states[key].changed_us) if states[key].changed_us else None)
        for path, key in pages
    ]


def _is_index(pages: int) -> bool:
    return pages + counts.total(db.session(), Scope(), now()) > MAX_URLS


@blueprint.get(paths.SITEMAP)
def sitemap() -> Response:
    """Every public page; past `MAX_URLS`, the index of the child sitemaps."""
    session, moment = db.session(), now()
    pages = overview_entries()
    last_id = browse.last_release_id(session, moment)
    if _is_index(len(pages)):
        parts = last_id // RELEASES_PER_PART + 1
        return public_document(
            lambda: _index(parts),
            mimetype=XML,
            etag=_tag("index", parts),
            longest=_longest(),
            subjects=[ALL_KEY],
        )
    state = browse.range_state(session, moment, 0, last_id + 1)
    return public_document(
        lambda: _urlset([*pages, *_release_entries(browse.listed_releases(session, moment, 0, last_id + 1))]),
        mimetype=XML,
        etag=_tag("all", pages, last_id, state),
        longest=_longest(),
        subjects=[ALL_KEY],
    )


def _index(parts: int) -> str:
    children = [paths.PAGES_SITEMAP, *(paths.releases_sitemap_path(part) for part in range(parts))]
    body = "".join(f"<sitemap><loc>{escape(urls.absolute(child))}</loc></sitemap>\n" for child in children)
    return f'{_HEAD}<sitemapindex xmlns="{SITEMAP_NS}">\n{body}</sitemapindex>\n'


@blueprint.get(paths.PAGES_SITEMAP)
def pages_sitemap() -> Response:
    """The overview pages, a child of the sitemap index."""
    pages = overview_entries()
    return public_document(
        lambda: _urlset(pages),
        mimetype=XML,
        etag=_tag("pages", pages),
        longest=_longest(),
        subjects=[ALL_KEY],
    )


@blueprint.get("/sitemap-releases-<int:part>.xml")
def releases_sitemap(part: int) -> Response:
    """The release pages with ids from part × `RELEASES_PER_PART` on, a child of the index."""
    session, moment = db.session(), now()
    if part > browse.last_release_id(session, moment) // RELEASES_PER_PART:
        abort(404)
    first = part * RELEASES_PER_PART
    end = first + RELEASES_PER_PART
    state = browse.range_state(session, moment, first, end)
    return public_document(
        lambda: _urlset(_release_entries(browse.listed_releases(session, moment, first, end))),
        mimetype=XML,
        etag=_tag("releases", part, state),
        longest=_longest(),
        subjects=[ALL_KEY],
    )


@blueprint.get(paths.NEWS_SITEMAP)
def news_sitemap() -> Response:
    """Releases of the last two days, as Google News wants them."""
    session, moment = db.session(), now()
    releases = browse.newest_listed(session, moment, moment - NEWS_WINDOW, NEWS_MAX_URLS)
    # The sitemap changes when a release is published (on the grid, as every page) or when
    # the oldest leaves the window, which is public.
    leaves = releases[-1].published_at + NEWS_WINDOW if releases else None
    return public_document(
        lambda: _news(releases),
        mimetype=XML,
        max_age=page_max_age(_longest(), until=leaves),
        longest=_longest(),
        subjects=[ALL_KEY],
    )


def _news(releases: Sequence[ListedRelease]) -> str:
    name = escape(site_identity(current_app).name)

    def entry(release: ListedRelease) -> str:
        language = release.language.split("-")[0].lower() or "de"
        return (
            f"<url><loc>{escape(urls.absolute(paths.release_path(release)))}</loc>"
            "<news:news><news:publication>"
            f"<news:name>{name}</news:name><news:language>{escape(language)}</news:language>"
            "</news:publication>"
            f"<news:publication_date>{w3c_datetime(release.published_at)}</news:publication_date>"
            f"<news:title>{escape(release.title)}</news:title>"
            "</news:news></url>\n"
        )

    body = "".join(map(entry, releases))
    return f'{_HEAD}<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">\n{body}</urlset>\n'


@blueprint.get(paths.ROBOTS)
def robots() -> Response:
    """What crawlers may fetch (not the publish form, the API or the probes) and where the sitemaps are."""
    lines = [
        "User-agent: *",
        "Disallow: /publish",
        "Disallow: /api/",
        "Disallow: /healthz",
        "Disallow: /metrics",
        "",
        f"Sitemap: {urls.absolute(paths.SITEMAP)}",
        f"Sitemap: {urls.absolute(paths.NEWS_SITEMAP)}",
    ]
    body = "\n".join(lines) + "\n"
    return public_document(lambda: body, mimetype="text/plain", max_age=3600, longest=3600)
