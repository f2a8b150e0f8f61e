"""A feed's byte budget for full content: past it, entries carry their summary and a link.

Twenty releases of a megabyte each made the main feeds 19 MB for every poller. Entries, newest
first, carry their full body while the bodies so far add up to at most FEED_CONTENT_BUDGET
bytes (UTF-8); every entry after that carries its summary and a link to its page instead. The
newest entry always carries its full body. (docs/feeds.md#how-much-content-a-feed-carries)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from html import escape

from flask import current_app

from feedsvc.formats.model import Entry

DEFAULT_CONTENT_BUDGET = 1_000_000  # bytes of entry bodies per feed document
READ_ON = "Vollständige Mitteilung lesen"


def content_budget() -> int:
    """FEED_CONTENT_BUDGET of the current app, in bytes (0: no budget)."""
    budget: int = current_app.config.get("FEED_CONTENT_BUDGET", DEFAULT_CONTENT_BUDGET)
    return budget


def within_budget(entries: Sequence[Entry], budget: int) -> tuple[Entry, ...]:
    """`entries` with full bodies up to `budget` bytes, summaries and links beyond it."""
    if budget <= 0:
        return tuple(entries)
    spent = 0
    kept: list[Entry] = []
    for index, entry in enumerate(entries):
        size = len(entry.content_html.encode("utf-8"))
        if index == 0 or spent + size <= budget:
            spent += size
            kept.append(entry)
        else:
            spent = budget  # once past the budget, later entries stay short even if small
            kept.append(dataclasses.replace(entry, content_html=summary_html(entry), shortened=True))
    return tuple(kept)


def summary_html(entry: Entry) -> str:
    """An entry's summary as HTML, with a link to its page."""
    summary = f"<p>{escape(entry.summary, quote=False)}</p>" if entry.summary else ""
    return f'{summary}<p><a href="{escape(entry.link)}">{READ_ON}</a></p>'
