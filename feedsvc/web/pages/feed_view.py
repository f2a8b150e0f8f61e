"""Feeds opened in a browser tab: the same bytes, shown as a page.

Browsers show Atom and RSS served as `application/atom+xml` or `application/rss+xml`
as plain text (Chromium) or offer them for download, and never apply the feed's
stylesheet to them. A browser navigating to an Atom or RSS feed (`Sec-Fetch-Dest:
document`, which feed readers do not send) gets the very bytes a feed reader gets,
labelled `application/xml`: the browser then applies the feed's
`<?xml-stylesheet href="/static/feed.xsl"?>`, a German page saying what a feed is
and how to subscribe, with the feed's address and its entries (docs/feeds.md#feeds-in-a-browser).

Only that answer says `Vary: Sec-Fetch-Dest`, and it is `private` (a cache in front
keyed on the URL alone never stores it, so never hands it to a feed reader) and
carries the pages' security headers, which the page made from it runs under. Feed
readers' answers stay exactly as they were.

A WSGI wrapper around the poll front (`create_app`), so polls the front answers and
those Flask answers are shown alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from feedsvc.web.pages.security import HEADERS

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FEED_ENDINGS = ("/feed.atom", "/feed.rss")
FEED_MEDIA_TYPES = ("application/atom+xml", "application/rss+xml")
SHOWN_AS = "application/xml; charset=utf-8"
VARY_ON = "Sec-Fetch-Dest"


def is_navigation_to_feed(environ: WSGIEnvironment) -> bool:
    path: str = environ.get("PATH_INFO", "")
    return environ.get("HTTP_SEC_FETCH_DEST") == "document" and path.endswith(FEED_ENDINGS)


def shown_in_browser(status: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of a feed answer as a browser tab gets it: another label, the same bytes."""
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    is_feed = content_type.split(";")[0].strip().lower() in FEED_MEDIA_TYPES
    if not (is_feed or status.startswith("304")):
        return headers  # an error, a redirect: as it is
    shown: list[tuple[str, str]] = []
    vary: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "vary":
            vary += [part.strip() for part in value.split(",") if part.strip()]
        elif lowered == "content-type" and is_feed:
            shown.append((name, SHOWN_AS))
        elif lowered == "cache-control" and value.startswith("public"):
            # For this browser alone: a cache in front (which may not key on Sec-Fetch-Dest)
            # must never hand this label to a feed reader.
            shown.append((name, "private" + value.removeprefix("public")))
        else:
            shown.append((name, value))
    shown.append(("Vary", ", ".join([*vary, VARY_ON])))
    present = {name.lower() for name, _ in shown}
    shown += [(name, value) for name, value in HEADERS.items() if name.lower() not in present]
    return shown


class FeedView:
    """WSGI middleware: navigations to Atom and RSS feeds are answered as shown above."""

    def __init__(self, app: WSGIApplication) -> None:
        # `app`, as ProxyFix names what it wraps (`web.feeds.front.front_of` walks it).
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not is_navigation_to_feed(environ):
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> object:
            return start_response(status, shown_in_browser(status, headers), exc_info)

        return self.app(environ, start)  # type: ignore[arg-type]
