"""What a feed request asks for (`limit`, the RFC 5005 page cursors) and the
paging and archive links of the page it gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from werkzeug.datastructures import MultiDict

from feedsvc.formats.model import Link
from feedsvc.models import Release
from feedsvc.store.scope import Cursor, decode_cursor, encode_cursor
from feedsvc.store.search import Search, SearchError, parse_search
from feedsvc.web import urls

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


def cursor_of(release: Release) -> Cursor:
    return Cursor(release.published_at, release.id)


@dataclass(frozen=True)
class Neighbours:
    """What lies beyond a page, as the walks found it.

    `older`/`newer`: whether visible releases exist beyond the page on either side.
    `newer_archive`: on an archive page, the cursor of the archive just newer than it (the
    page older than that cursor continues this one), or None when at most a page of newer
    releases exists, all of them in the subscription document (the first page).
    """

    older: bool
    newer: bool
    newer_archive: Cursor | None = None


def paging_links(path: str, query: FeedQuery, page: Sequence[Release], beyond: Neighbours) -> list[Link]:
    """RFC 5005 links of a page.

    Paging (§3): `first`, `next` (older), `previous` (newer). Archives (§4): the first page
    is the subscription document and links `prev-archive`, the page older than it; every
    page older than a cursor is an archive document and links `current`, `prev-archive`
    (older, while there is any) and `next-archive` (newer: the archive whose prev-archive it
    is, or the subscription document when that one holds every newer release). So the
    archives are linked both ways, and the oldest links the newer one.
    """
    first = FeedQuery(limit=query.limit, search=query.search)
    links: list[Link] = []
    if beyond.older or beyond.newer or query != first:
        links.append(Link(rel="first", href=urls.absolute(path, first.params())))
    if page and beyond.older:
        older_page = replace(first, after=cursor_of(page[-1]))
        links.append(Link(rel="next", href=urls.absolute(path, older_page.params())))
        if query.before is None:  # the subscription document and archives
            links.append(Link(rel="prev-archive", href=urls.absolute(path, older_page.params())))
    if page and beyond.newer:
        newer_page = replace(first, before=cursor_of(page[0]))
        links.append(Link(rel="previous", href=urls.absolute(path, newer_page.params())))
    if query.is_archive and beyond.newer:
        archive = first if beyond.newer_archive is None else replace(first, after=beyond.newer_archive)
        links.append(Link(rel="next-archive", href=urls.absolute(path, archive.params())))
    if query != first:
        links.append(Link(rel="current", href=urls.absolute(path, first.params())))
    return links
