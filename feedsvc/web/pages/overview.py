"""Overview pages (docs/feeds.md#urls): everything (`/`), a city, a topic, a city and a
topic, a region. Each lists its visible releases newest first, a page at a time
(`?after=<cursor>`, the same cursor as the feeds' `next` links). With `?q=` an
overview searches what it shows (`pages.search`).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from feedsvc import db
from feedsvc.config import site_identity
from feedsvc.store.keys import ALL_KEY
from feedsvc.store.releases import newest_visible
from feedsvc.store.scope import Cursor, Scope, decode_cursor, encode_cursor
from feedsvc.store.search import SearchError, parse_search
from feedsvc.web import urls
from feedsvc.web.pages import counts, search
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.overview_content import Overview, find_overview
from feedsvc.web.pages.responses import now, public_page

blueprint = Blueprint("pages", __name__)

PAGE_SIZE = 20


@blueprint.get("/")
@blueprint.get("/cities/<city>")
@blueprint.get("/topics/<topic>")
@blueprint.get("/cities/<city>/topics/<topic>")
@blueprint.get("/regions/<region>")
def overview(city: str | None = None, topic: str | None = None, region: str | None = None) -> Response:
    after = None
    if "after" in request.args and (after := decode_cursor(request.args["after"])) is None:
        abort(400)
    found = find_overview(db.session(), now(), city, topic, region)
    if found is None:
        abort(404)
    raw_query = request.args.get("q", "")
    try:
        wanted = parse_search(raw_query)
    except SearchError as error:
        return search.refused(found, raw_query, error)
    if wanted is not None:
        return search.results(found, wanted, after)
    return _overview_page(found, after)


def _overview_page(found: Overview, after: Cursor | None) -> Response:
    session, moment, scope = db.session(), now(), found.subject.scope
    assert isinstance(scope, Scope), "an overview is of a subject, not a subscription"
    rows = newest_visible(session, scope, moment, PAGE_SIZE + 1, after)
    releases = rows[:PAGE_SIZE]
    older = None
    if len(rows) > PAGE_SIZE:
        cursor = Cursor(releases[-1].published_at, releases[-1].id)
        older = f"{found.path}?after={encode_cursor(cursor)}"
    return public_page(
        "pages/home.html" if found.subject.key == ALL_KEY else "pages/overview.html",
        subjects=[found.subject.key],
        head=_head(found, after),
        overview=found,
        releases=releases,
        total=counts.total(session, scope, moment),
        older=older,
        is_first_page=after is None,
        search_box=search.search_box(found),
    )


def _head(found: Overview, after: Cursor | None) -> Head:
    params = {"after": encode_cursor(after)} if after is not None else None
    return Head(
        title=site_identity(current_app).name if found.subject.key == ALL_KEY else found.heading,
        description=found.intro,
        canonical=urls.absolute(found.path, params),
        alternates=found.subscriptions[0].feeds,
    )
