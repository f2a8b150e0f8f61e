"""`/feeds`: every feed there is (everything, each region, city and topic), to copy
into a reader, plus the OPML subscription list of all of them.

The page shows only the catalog, and with thousands of cities it is large (1.7 MB
of HTML for 2,000 cities, 300 ms to render): each worker renders it once per
catalog change and keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template

from feedsvc import db
from feedsvc.legal import LegalPage
from feedsvc.store import catalog
from feedsvc.store.keys import CATALOG_KEY
from feedsvc.web import urls
from feedsvc.web.feeds.cache import state_reader
from feedsvc.web.feeds.content import Subject, subject_of
from feedsvc.web.pages.head import FeedLink, Head, feed_links
from feedsvc.web.pages.legal import present_pages
from feedsvc.web.pages.responses import public_html

blueprint = Blueprint("feed_directory", __name__)

OPML_PATH = "/feeds.opml"
_KEPT = "feedsvc.feed_directory"


@dataclass(frozen=True)
class FeedRow:
    label: str
    page_path: str
    feeds: tuple[FeedLink, ...]
    note: str = ""


@dataclass(frozen=True)
class FeedSection:
    heading: str
    rows: list[FeedRow]


def _row(label: str, subject: Subject, note: str = "") -> FeedRow:
    return FeedRow(label, subject.page_path or "/", feed_links(subject.page_path, subject.title), note)


@blueprint.get("/feeds")
def feed_directory() -> Response:
    catalog_version = state_reader().states([CATALOG_KEY])[CATALOG_KEY].version
    # The footer links the legal pages there are: one added or removed renders it again.
    stamp = (catalog_version, urls.base_url(), present_pages())
    kept: tuple[tuple[int, str, tuple[LegalPage, ...]], str] | None = current_app.extensions.get(_KEPT)
    if kept is None or kept[0] != stamp:
        kept = (stamp, _render())
        if urls.rendering_is_shareable():
            current_app.extensions[_KEPT] = kept
    return public_html(kept[1])


def _render() -> str:
    session = db.session()
    sections = [
        FeedSection("Alle Städte und Gemeinden", [_row("Alle Pressemitteilungen", subject_of())]),
        FeedSection(
            "Regionen", [_row(region.name, subject_of(region=region)) for region in catalog.regions(session)]
        ),
        FeedSection(
            "Städte und Gemeinden",
            [_row(city.name, subject_of(city=city), city.region.name) for city in catalog.cities(session)],
        ),
        FeedSection(
            "Themen", [_row(topic.name, subject_of(topic=topic)) for topic in catalog.topics(session)]
        ),
    ]
    head = Head(
        title="Alle Feeds",
        description="Atom, RSS und JSON Feed für jede Stadt, jedes Thema und jede Region.",
        canonical=urls.absolute("/feeds"),
        alternates=feed_links("", subject_of().title),
    )
    return render_template(
        "pages/feeds.html", head=head, sections=sections, opml_url=urls.absolute(OPML_PATH)
    )
