"""Searching the pages: `?q=` on `/` and on every overview (a city, a topic, a
city×topic, a region), with the feeds' syntax (`store.search`, docs/feeds.md#searching-a-feed).

Results are paged like an overview (`?q=…&after=<cursor>`) and link the feed of
the same search, so a search can be subscribed to. A query that cannot be searched
for is a German 400 page that keeps what was typed; none of this is a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Response, current_app

from feedsvc import db, paths
from feedsvc.config import site_identity
from feedsvc.formats import FORMATS
from feedsvc.store.keys import ALL_KEY
from feedsvc.store.releases import newest_visible_ids, releases_by_ids
from feedsvc.store.scope import Cursor, encode_cursor
from feedsvc.store.search import MAX_QUERY_LENGTH, MAX_WORDS, Search, SearchError
from feedsvc.web import urls
from feedsvc.web.pages.head import FeedLink, Head
from feedsvc.web.pages.overview_content import Overview
from feedsvc.web.pages.responses import now, public_page

PAGE_SIZE = 20
# Hits are counted up to this many; beyond, the page says "mehr als 1.000 Treffer".
MAX_COUNTED = 1000

MESSAGES = {
    SearchError.TOO_LONG: f"Der Suchbegriff ist zu lang. Erlaubt sind höchstens {MAX_QUERY_LENGTH} Zeichen.",
    SearchError.NOTHING_TO_FIND: (
        "Bitte geben Sie mindestens ein Wort ein, nach dem gesucht werden soll. "
        "Mit einem Minuszeichen (-Wort) lassen sich Wörter nur ausschließen."
    ),
    SearchError.TOO_MANY_WORDS: f"Die Suche darf höchstens {MAX_WORDS} Wörter enthalten.",
}
FALLBACK_MESSAGE = "Nach diesem Suchbegriff lässt sich nicht suchen."


@dataclass(frozen=True)
class SearchBox:
    """The search form in the page header: where it searches, and what it says it searches."""

    action: str = "/"
    placeholder: str = "Pressemitteilungen durchsuchen"


DEFAULT_BOX = SearchBox()


def search_box(found: Overview) -> SearchBox:
    """The header's search form on an overview: it searches what the overview shows.
    (A results page has its own form instead, with what was searched for.)"""
    if found.subject.key == ALL_KEY:
        return DEFAULT_BOX
    return SearchBox(action=found.path, placeholder=f"Suchen in: {found.subject.title}")


def where(found: Overview) -> str:
    """What a search on this overview looks through, for headings ("in Rosenheim")."""
    if found.subject.key == ALL_KEY:
        return "in allen Pressemitteilungen"
    return f"in „{found.subject.title}“"


def crumbs(found: Overview) -> list[tuple[str, str]]:
    """The overview's breadcrumbs, and the overview itself: a search is a page below it."""
    return [
        *found.breadcrumbs,
        ("Start" if found.subject.key == ALL_KEY else found.subject.title, found.path),
    ]


def hits_label(counted: int) -> str:
    if counted > MAX_COUNTED:
        return f"Mehr als {MAX_COUNTED:,} Treffer".replace(",", ".")
    return "1 Treffer" if counted == 1 else f"{counted} Treffer"


def search_path(path: str, text: str, after: Cursor | None = None) -> str:
    params = {"q": text} | ({"after": encode_cursor(after)} if after is not None else {})
    return f"{path}?{urlencode(params)}"


def search_feeds(found: Overview, text: str) -> tuple[FeedLink, ...]:
    """The feeds of the same search (`/feed.atom?q=…`), titled as those feeds title themselves."""
    feed_title = site_identity(current_app).feed_title(found.subject.title)
    return tuple(
        FeedLink(
            fmt=fmt.name,
            label=fmt.label,
            media_type=fmt.bare_media_type,
            href=urls.absolute(paths.feed_path(found.subject.page_path, fmt.name), {"q": text}),
            title=f"{fmt.label}: {feed_title} – Suche: {text}",
        )
        for fmt in FORMATS.values()
        if fmt.for_readers
    )


def results(found: Overview, search: Search, after: Cursor | None) -> Response:
    """A page of the releases matching `search`, newest first."""
    session, moment, scope = db.session(), now(), found.subject.scope
    # Counted up to a bound: counting every hit of a common word would read the whole index.
    # On the first page the same walk also gives the page (a common word costs one walk, not two).
    counted_ids = newest_visible_ids(session, scope, moment, MAX_COUNTED + 1, search=search)
    if after is None:
        page_ids = counted_ids[: PAGE_SIZE + 1]
    else:
        page_ids = newest_visible_ids(session, scope, moment, PAGE_SIZE + 1, after, search=search)
    rows = releases_by_ids(session, page_ids)
    releases = rows[:PAGE_SIZE]
    older = None
    if len(rows) > PAGE_SIZE:
        older = search_path(found.path, search.text, Cursor(releases[-1].published_at, releases[-1].id))
    counted = len(counted_ids)
    feeds = search_feeds(found, search.text)
    params = {"q": search.text} | ({"after": encode_cursor(after)} if after is not None else {})
    head = Head(
        title=f"Suche: {search.text}",
        description=f"Pressemitteilungen {where(found)} zur Suche „{search.text}“.",
        canonical=urls.absolute(found.path, params),
        alternates=feeds,
        # Search results are nothing to index; the releases they find are.
        noindex=True,
    )
    return public_page(
        "pages/search.html",
        subjects=[found.subject.key],
        head=head,
        overview=found,
        query=search.text,
        where=where(found),
        releases=releases,
        crumbs=crumbs(found),
        hits=hits_label(counted),
        older=older,
        first_page=search_path(found.path, search.text),
        is_first_page=after is None,
        feeds=feeds,
        everywhere=None if found.subject.key == ALL_KEY else search_path("/", search.text),
    )


def refused(found: Overview, raw: str, error: SearchError) -> Response:
    """A query that cannot be searched for: 400, in German, with the query kept in the form."""
    message = MESSAGES.get(error.reason, FALLBACK_MESSAGE)
    typed = " ".join(raw.split())[: MAX_QUERY_LENGTH * 2]
    head = Head(
        title="Ungültige Suche",
        description=message,
        canonical=urls.absolute(found.path, {"q": typed}),
        noindex=True,
    )
    return public_page(
        "pages/search.html",
        status=400,
        subjects=[found.subject.key],
        head=head,
        overview=found,
        crumbs=crumbs(found),
        query=typed,
        where=where(found),
        error=message,
        releases=[],
    )
