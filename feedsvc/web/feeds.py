"""Feed endpoints (CONTRACT §1, §3, §4): every subject in Atom, RSS and JSON Feed."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict

from feedsvc import db
from feedsvc.feeds import FORMATS
from feedsvc.feeds.model import Link
from feedsvc.store.releases import Cursor, newest_visible
from feedsvc.web import urls
from feedsvc.web.feed_content import Subject, decode_cursor, encode_cursor, feed_of, find_subject
from feedsvc.web.problems import problem

blueprint = Blueprint("feeds", __name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class FeedQuery:
    """The query parameters a feed understands, validated."""

    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None

    def params(self) -> dict[str, str]:
        """Canonical query string: the self link and cache key of a page."""
        params: dict[str, str] = {}
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        if self.after is not None:
            params["after"] = encode_cursor(self.after)
        return params


def parse_query(args: MultiDict[str, str]) -> FeedQuery | str:
    """The feed query, or a message saying what is wrong with it."""
    limit = DEFAULT_LIMIT
    if "limit" in args:
        raw = args["limit"]
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            return f"limit must be a whole number from 1 to {MAX_LIMIT}"
        limit = int(raw)
    after = None
    if "after" in args and (after := decode_cursor(args["after"])) is None:
        return "after must be a cursor taken from a feed's next link"
    return FeedQuery(limit=limit, after=after)


def render(subject: Subject, fmt: str, query: FeedQuery) -> bytes:
    now = current_app.config["CLOCK"]()
    releases = newest_visible(db.session(), subject.scope, now, query.limit + 1, query.after)
    page, more = releases[: query.limit], len(releases) > query.limit
    path = urls.feed_path(subject.page_path, fmt)
    paging: list[Link] = []
    if query.after is not None or more:
        paging.append(Link(rel="first", href=urls.absolute(path, FeedQuery(limit=query.limit).params())))
    if more:
        last = page[-1]
        next_query = FeedQuery(limit=query.limit, after=Cursor(last.published_at, last.id))
        paging.append(Link(rel="next", href=urls.absolute(path, next_query.params())))
    feed = feed_of(
        subject,
        fmt,
        page,
        self_url=urls.absolute(path, query.params()),
        paging=paging,
        hubs=current_app.config["HUB_URLS"],
    )
    return FORMATS[fmt].render(feed)


@blueprint.get("/feed.<fmt>")
@blueprint.get("/cities/<city>/feed.<fmt>")
@blueprint.get("/topics/<topic>/feed.<fmt>")
@blueprint.get("/cities/<city>/topics/<topic>/feed.<fmt>")
@blueprint.get("/regions/<region>/feed.<fmt>")
def feed(fmt: str, city: str | None = None, topic: str | None = None, region: str | None = None) -> Response:
    if fmt not in FORMATS:
        abort(404)
    query = parse_query(request.args)
    if isinstance(query, str):
        return problem(400, query)
    subject = find_subject(db.session(), city, topic, region)
    if subject is None:
        abort(404)
    response = Response(render(subject, fmt, query), content_type=FORMATS[fmt].media_type)
    response.add_etag()
    response.make_conditional(request)
    return response
