"""What a page says about itself in `<head>`: title, canonical URL, the feeds it
shows (autodiscovery, `rel="alternate"`) and OpenGraph tags for link previews.

All URLs here are absolute: feed readers and link previews see them out of context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from feedsvc import paths
from feedsvc.config import site_identity
from feedsvc.formats import FORMATS
from feedsvc.web import urls


@dataclass(frozen=True)
class FeedLink:
    fmt: str
    label: str
    media_type: str
    href: str
    title: str


@dataclass(frozen=True)
class Head:
    """`title` names the page alone; the layout adds the site's name."""

    title: str
    description: str
    canonical: str
    alternates: tuple[FeedLink, ...] = ()
    og_type: str = "website"
    image: str | None = None
    image_alt: str = ""
    published: datetime | None = None
    modified: datetime | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    # Error pages and the publish form are nothing to find in a search engine.
    noindex: bool = False


def feed_links(page_path: str, subject_title: str) -> tuple[FeedLink, ...]:
    """The Atom, RSS and JSON feeds of a subject, titled as the feeds title themselves (not
    ninjs, which is for newsroom systems, not readers: `FeedFormat.for_readers`)."""
    return tuple(
        FeedLink(
            fmt=fmt.name,
            label=fmt.label,
            # Without parameters, as autodiscovery (and readers) expect them.
            media_type=fmt.bare_media_type,
            href=urls.absolute(paths.feed_path(page_path, fmt.name)),
            title=f"{fmt.label}: {site_identity(current_app).feed_title(subject_title)}",
        )
        for fmt in FORMATS.values()
        if fmt.for_readers
    )
