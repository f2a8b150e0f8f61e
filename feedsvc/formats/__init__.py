"""Feed writers: one neutral `Feed` value → Atom 1.0, RSS 2.0, JSON Feed 1.1 or ninjs 3.1 bytes.

    from feedsvc.formats import FORMATS
    fmt = FORMATS["atom"]
    body, content_type = fmt.render(feed), fmt.media_type

Rendering is pure and deterministic (no clock, no I/O): equal `Feed` values give
byte-identical output, so callers can cache bytes and derive ETags from them.
Modules: `model` (the Feed value), `common` (rules shared by all formats),
`atom_rss` (feedgen, with its workarounds), `extensions` (feedgen extensions),
`jsonfeed` (JSON Feed 1.1), `ninjs` (IPTC ninjs 3.1, for newsroom systems; also writes
a release alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from feedsvc.formats.atom_rss import render_atom, render_rss
from feedsvc.formats.jsonfeed import render_json
from feedsvc.formats.model import Feed
from feedsvc.formats.ninjs import MEDIA_TYPE as NINJS_MEDIA_TYPE
from feedsvc.formats.ninjs import render_ninjs

__all__ = ["FORMATS", "NINJS", "FeedFormat", "render_atom", "render_json", "render_ninjs", "render_rss"]

# The `FMT` of ninjs documents: `/feed.ninjs.json`, and `/releases/<id>-<slug>.ninjs.json`.
NINJS = "ninjs.json"


@dataclass(frozen=True)
class FeedFormat:
    name: str  # "atom" | "rss" | "json" | "ninjs.json": the `FMT` of `/feed.FMT`
    media_type: str  # the Content-Type to serve it with (docs/feeds.md#polling-http-caching)
    label: str  # what people call it
    render: Callable[[Feed], bytes]
    # Whether feed readers read it, so that pages announce it (autodiscovery) and OPML lists
    # it. ninjs is for newsroom systems: a reader taking its `application/json` for a JSON
    # Feed would fail on it.
    for_readers: bool = True

    @property
    def bare_media_type(self) -> str:
        """The media type without parameters, as autodiscovery links name it."""
        return self.media_type.partition(";")[0]


FORMATS: Mapping[str, FeedFormat] = MappingProxyType(
    {
        "atom": FeedFormat("atom", "application/atom+xml; charset=utf-8", "Atom", render_atom),
        "rss": FeedFormat("rss", "application/rss+xml; charset=utf-8", "RSS", render_rss),
        "json": FeedFormat("json", "application/feed+json", "JSON Feed", render_json),
        NINJS: FeedFormat(NINJS, NINJS_MEDIA_TYPE, "IPTC ninjs", render_ninjs, for_readers=False),
    }
)
