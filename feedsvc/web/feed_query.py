"""What a feed request asks for (`limit`, the RFC 5005 page cursors) and the
paging and archive links of the page it gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from werkzeug.datastructures import MultiDict

from feedsvc.feeds.model import Link
from feedsvc.models import Release
from feedsvc.store.scope import Cursor
from feedsvc.store.search import Search, SearchError, parse_search
from feedsvc.web import urls
from feedsvc.web.feed_content import decode_cursor, encode_cursor

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class FeedQuery:
    """The query parameters a feed understands, validated.

    `after` asks for the releases older than a cursor (the `next` page),
    `before` for those newer than it (the `previous` page); `search` keeps
    only the releases matching a full-text search (`q`).
    """

    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None
    before: Cursor | None = None
    search: Search | None = None

    def params(self) -> dict[str, str]:
        """Canonical query string: the self link and cache key of a page."""
        params: dict[str, str] = {}
        if self.search is not None:
            params["q"] = self.search.text
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        if self.after is not None:
            params["after"] = encode_cursor(self.after)
        if self.before is not None:
            params["before"] = encode_cursor(self.before)
        return params

    @property
    def is_archive(self) -> bool:
        """A page older than a cursor holds releases that are complete: an archive (RFC 5005 §4)."""
        return self.after is not None


def parse_query(args: MultiDict[str, str]) -> FeedQuery | str:
    """The feed query, or a message saying what is wrong with it."""
    limit = DEFAULT_LIMIT
    if "limit" in args:
        raw = args["limit"]
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            return f"limit must be a whole number from 1 to {MAX_LIMIT}"
        limit = int(raw)
    cursors: dict[str, Cursor | None] = {"after": None, "before": None}
    for name in cursors:
        if name in args:
            cursors[name] = decode_cursor(args[name])
            if cursors[name] is None:
                return f"{name} must be a cursor taken from a feed's paging links"
    if cursors["after"] is not None and cursors["before"] is not None:
        return "give either after or before, not both"
    try:
        search = parse_search(args.get("q", ""))
    except SearchError as error:
        return str(error)
    return FeedQuery(limit=limit, after=cursors["after"], before=cursors["before"], search=search)


def _cursor(release: Release) -> Cursor:
    return Cursor(release.published_at, release.id)


def paging_links(
    path: str, query: FeedQuery, page: Sequence[Release], *, older: bool, newer: bool
) -> list[Link]:
    """RFC 5005 links of a page: paging (`first`, `next`, `previous`) and
    archive (`current`, `prev-archive`). `older`/`newer`: whether releases
    exist beyond this page on either side."""
    first = FeedQuery(limit=query.limit, search=query.search)
    links: list[Link] = []
    if older or newer or query != first:
        links.append(Link(rel="first", href=urls.absolute(path, first.params())))
    if page and older:
        older_page = replace(first, after=_cursor(page[-1]))
        links.append(Link(rel="next", href=urls.absolute(path, older_page.params())))
        links.append(Link(rel="prev-archive", href=urls.absolute(path, older_page.params())))
    if page and newer:
        newer_page = replace(first, before=_cursor(page[0]))
        links.append(Link(rel="previous", href=urls.absolute(path, newer_page.params())))
    if query != first:
        links.append(Link(rel="current", href=urls.absolute(path, first.params())))
    return links
