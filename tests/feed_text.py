"""What a reader shows of a feed's text: feedparser's value of an element, read as its type says.

feedparser hands text on as it found it, with its type: `text/plain` is shown as it is,
`text/html` (RSS titles and descriptions, Atom `type="html"`) is read as HTML. Where a feed
stores plain text, the HTML must hold no element at all, only text.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Reader(HTMLParser):
    """Collects the text of HTML and every element (or comment, declaration) it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.markup: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.markup.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self.markup.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.markup.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.markup.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.markup.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.markup.append(f"<![{data}]>")


def html_reading(markup: str) -> tuple[str, list[str]]:
    """`(text, elements)` of HTML as a browser reads it."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return "".join(reader.text), reader.markup


def shown_text(detail: Any) -> str:
    """The text a reader shows for feedparser's `*_detail` of a plain-text field.

    Fails when the value, read as the HTML its type says it is, holds markup: that would
    be live markup where plain text was stored.
    """
    return shown_value(detail["value"], detail["type"])


def shown_value(value: str, content_type: str) -> str:
    """The text a reader shows for a value of this type (see `shown_text`)."""
    if content_type == "text/plain":
        return value
    assert content_type in ("text/html", "application/xhtml+xml"), content_type
    text, markup = html_reading(value)
    assert not markup, f"markup where text was stored: {markup} in {value!r}"
    return text


def shown_summary(entry: Any, data: bytes) -> str:
    """The summary a reader shows. feedparser lets a later `media:description` overwrite
    `summary_detail` (not `summary`), so the type is the one the feed declares: Atom's
    `type` attribute, HTML for an RSS description."""
    atom = b'xmlns="http://www.w3.org/2005/Atom"' in data
    html = b'<summary type="html">' in data if atom else True
    return shown_value(entry.summary, "text/html" if html else "text/plain")
