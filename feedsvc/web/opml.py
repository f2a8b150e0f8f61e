"""`/feeds.opml`: every feed as one OPML 2.0 subscription list a reader imports.

Grouped by region (the region's feed, then each city's) and by topic. Atom by
default; `?format=rss` or `?format=json` lists those instead.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from lxml import etree

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.web import urls
from feedsvc.web.problems import problem

blueprint = Blueprint("opml", __name__)

FEED_FORMATS = ("atom", "rss", "json")
FEED_TITLE = "Pressemitteilungen – {}"


def _feed_outline(parent: etree._Element, name: str, page_path: str, fmt: str) -> None:
    # OPML 2.0 marks every subscription type="rss", whatever the feed's format.
    etree.SubElement(
        parent,
        "outline",
        type="rss",
        text=FEED_TITLE.format(name),
        title=FEED_TITLE.format(name),
        xmlUrl=urls.absolute(urls.feed_path(page_path, fmt)),
        htmlUrl=urls.absolute(page_path or "/"),
        language="de",
    )


def opml_document(fmt: str) -> bytes:
    session = db.session()
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "Pressemitteilungen der Städte und Gemeinden – alle Feeds"
    etree.SubElement(head, "ownerName").text = "feedsvc"
    body = etree.SubElement(root, "body")
    _feed_outline(body, "alle Städte", "", fmt)
    regions = etree.SubElement(body, "outline", text="Regionen und Städte", title="Regionen und Städte")
    for region in catalog.regions(session):
        group = etree.SubElement(regions, "outline", text=region.name, title=region.name)
        _feed_outline(group, region.name, urls.subject_path(region=region), fmt)
        for city in region.cities:
            _feed_outline(group, city.name, urls.subject_path(city=city), fmt)
    topics = etree.SubElement(body, "outline", text="Themen", title="Themen")
    for topic in catalog.topics(session):
        _feed_outline(topics, f"Thema {topic.name}", urls.subject_path(topic=topic), fmt)
    document: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return document


@blueprint.get("/feeds.opml")
def feeds_opml() -> Response:
    fmt = request.args.get("format", "atom")
    if fmt not in FEED_FORMATS:
        return problem(400, f"format must be one of {', '.join(FEED_FORMATS)}")
    response = Response(opml_document(fmt), content_type="text/x-opml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Disposition"] = 'inline; filename="feedsvc-feeds.opml"'
    response.add_etag()
    response.make_conditional(request)
    return response
