"""`/feeds.opml`: every feed as one OPML 2.0 subscription list a reader imports.

Grouped by region (the region's feed, then each city's) and by topic. A city with
releases in some topics is a group of its own: the city's feed, then its city×topic
feeds, only those with releases (from the kept counts, so 2,000 cities cost one read).
Atom by default; `?format=rss` or `?format=json` lists those instead. ninjs is left out:
OPML is for feed readers (`FeedFormat.for_readers`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request
from lxml import etree

from feedsvc import db, paths
from feedsvc.config import site_identity
from feedsvc.store import catalog, counts
from feedsvc.store.changes import from_micros
from feedsvc.store.keys import ALL_KEY, CATALOG_KEY
from feedsvc.web import urls
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, RenderedFeed, state_reader
from feedsvc.web.feeds.conditional import encoding_for
from feedsvc.web.problems import problem

blueprint = Blueprint("opml", __name__)

MEDIA_TYPE = "text/x-opml; charset=utf-8"
_MEMO = "feedsvc.opml"


def _feed_outline(parent: etree._Element, base: str, name: str, page_path: str, fmt: str) -> None:
    # OPML 2.0 marks every subscription type="rss", whatever the feed's format.
    title = site_identity(current_app).feed_title(name)
    etree.SubElement(
        parent,
        "outline",
        type="rss",
        text=title,
        title=title,
        xmlUrl=f"{base}{paths.feed_path(page_path, fmt)}",
        htmlUrl=f"{base}{page_path or '/'}",
        language="de",
    )


def opml_document(fmt: str) -> bytes:
    session = db.session()
    base = urls.base_url()
    topics = catalog.topics(session)  # by name
    topics_of: dict[int, set[int]] = {}
    for city_id, topic_id in counts.city_topic_counts(session, current_app.config["CLOCK"]()):
        topics_of.setdefault(city_id, set()).add(topic_id)
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    site = site_identity(current_app)
    etree.SubElement(head, "title").text = f"{site.name} – alle Feeds"
    etree.SubElement(head, "ownerName").text = site.name
    if site.contact.email:
        etree.SubElement(head, "ownerEmail").text = site.contact.email
    body = etree.SubElement(root, "body")
    _feed_outline(body, base, "alle Städte", "", fmt)
    regions = etree.SubElement(body, "outline", text="Regionen und Städte", title="Regionen und Städte")
    for region in catalog.regions(session):
        group = etree.SubElement(regions, "outline", text=region.name, title=region.name)
        _feed_outline(group, base, region.name, paths.subject_path(region=region), fmt)
        for city in region.cities:
            held = topics_of.get(city.id)
            if not held:
                _feed_outline(group, base, city.name, paths.subject_path(city=city), fmt)
                continue
            city_group = etree.SubElement(group, "outline", text=city.name, title=city.name)
            _feed_outline(city_group, base, city.name, paths.subject_path(city=city), fmt)
            for topic in topics:
                if topic.id in held:
                    path = paths.subject_path(city=city, topic=topic)
                    _feed_outline(city_group, base, f"{city.name}: {topic.name}", path, fmt)
    topic_group = etree.SubElement(body, "outline", text="Themen", title="Themen")
    for topic in topics:
        _feed_outline(topic_group, base, f"Thema {topic.name}", paths.subject_path(topic=topic), fmt)
    document: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return document


def _rendered(fmt: str) -> RenderedFeed:
    """The list in this format, rendered once per change of the catalog or of any release
    (with 2,000 cities and their city×topic feeds it is megabytes), compressed once."""
    keys = (ALL_KEY, CATALOG_KEY)
    states = state_reader().states(keys)
    versions = tuple(states[key].version for key in keys)
    memo: dict[tuple[str, str], RenderedFeed] = current_app.extensions.setdefault(_MEMO, {})
    cached = memo.get((urls.base_url(), fmt))
    if cached is not None and cached.versions == versions:
        return cached
    body = opml_document(fmt)
    changed = max(state.changed_us for state in states.values())
    rendered = RenderedFeed(
        keys=keys,
        versions=versions,
        body=body,
        media_type=MEDIA_TYPE,
        tag=hashlib.blake2b(body, digest_size=12).hexdigest(),
        last_modified=from_micros(changed) if changed else datetime(2000, 1, 1, tzinfo=UTC),
    )
    if urls.rendering_is_shareable():
        memo[(urls.base_url(), fmt)] = rendered
    return rendered


@blueprint.get("/feeds.opml")
def feeds_opml() -> Response:
    fmt = request.args.get("format", "atom")
    if fmt not in paths.READER_FEED_FORMATS:
        return problem(400, f"format must be one of {', '.join(paths.READER_FEED_FORMATS)}")
    rendered = _rendered(fmt)
    encoding = encoding_for(request.headers.get("Accept-Encoding", ""))
    response = Response(rendered.encoded(encoding), content_type=MEDIA_TYPE)
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=3600"
    # The list shows the catalog, and the city×topic pairs that have releases: a change to
    # either takes the list out of caches in front.
    response.headers[SURROGATE_KEY_HEADER] = f"{ALL_KEY} {CATALOG_KEY}"
    response.headers["Content-Disposition"] = 'inline; filename="feedsvc-feeds.opml"'
    response.set_etag(rendered.etag(encoding))
    response.last_modified = rendered.last_modified.replace(microsecond=0)
    response.make_conditional(request)
    return response
