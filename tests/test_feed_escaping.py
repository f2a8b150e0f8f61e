"""Every text field of every format is escaped once, for the element it lands in.

Random Unicode and markup-like text is rendered as title, summary, author, image caption
and credit through Atom, RSS and JSON Feed and read back as readers read it (feedparser,
lxml for Media RSS, json): what comes back as text is what was stored, and no HTML element
appears where text was stored. No Flask, no database: the writers alone.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import feedparser
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc.formats import render_atom, render_json, render_rss
from feedsvc.formats.model import Entry, Feed, Image, Person
from feedsvc.text import strip_xml_forbidden
from tests.feed_text import html_reading, shown_summary, shown_text

# Every CI run checks the property, on each backend's run.
pytestmark = pytest.mark.every_backend

BERLIN = ZoneInfo("Europe/Berlin")
MEDIA = "{http://search.yahoo.com/mrss/}"
WHEN = datetime(2026, 11, 25, 9, 30, 15, tzinfo=BERLIN)

# Pieces readers, validators and sanitisers have tripped over, between random characters.
PIECES = [
    "<b>",
    "</b>",
    "<script>alert(1)</script>",
    "<ok>",
    "&amp;",
    "&amp;amp;",
    "&lt;script&gt;",
    "&#x26;",
    "&#60;",
    "&nbsp;",
    "&copy",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    '"',
    "'",
    "<",
    ">",
    "&",
    "🎉",
    "李伟",
    "שלום",
    "مرحبا",
    "\u202e",
    "\u200b",
    "Grüße",
]
_NOT_STORED = re.compile("[\x7f-\x9f\ufffd]")


def stored(raw: str) -> str:
    """Text as the store keeps a plain-text field: nothing XML forbids, no controls or
    U+FFFD, whitespace collapsed (text.plain_text guarantees all of it)."""
    return " ".join(_NOT_STORED.sub("", strip_xml_forbidden(raw)).split())


TEXT = (
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), min_size=1, max_size=8)
    .map(lambda parts: stored(" ".join(parts)))
    .filter(bool)
)


def _feedparser_repairs(text: str) -> bool:
    """feedparser "repairs" text that is all Latin-1 and is UTF-8 when written as Latin-1
    bytes ("Ã¤" becomes "ä"), whatever the feed says: such text cannot come back."""
    try:
        return text.encode("iso-8859-1").decode("utf-8") != text
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False


def make_feed(title: str, summary: str, author: str, caption: str, credit: str) -> Feed:
    entry = Entry(
        id="tag:feeds.example.test,2026-11-25:release:1",
        title=title,
        link="https://feeds.example.test/releases/1-x",
        summary=summary,
        content_html="<p>Text</p>",
        published=WHEN,
        updated=WHEN,
        author=Person(author, "presse@samerberg.bayern"),
        images=(Image("https://img.example.test/a.jpg?w=1&h=2", "image/jpeg", None, caption, credit),),
    )
    return Feed(
        id="https://feeds.example.test/",
        title=f"Pressemitteilungen – {title}",
        subtitle=summary,
        self_url="https://feeds.example.test/feed.atom?q=a&limit=2",
        alternate_url="https://feeds.example.test/",
        language="de",
        updated=WHEN,
        author=Person("feedsvc"),
        entries=(entry,),
        stylesheet_url="https://feeds.example.test/static/feed.xsl",
    )


def media_text(data: bytes) -> tuple[str, str]:
    """`(caption, credit)` of the first media:content, read as its type says."""
    content = etree.fromstring(data).find(f".//{MEDIA}content")
    assert content is not None
    description, credit = content.find(f"{MEDIA}description"), content.find(f"{MEDIA}credit")
    assert description is not None and credit is not None
    assert description.get("type") == "html"
    caption, markup = html_reading(description.text or "")
    assert not markup, markup
    return caption, credit.text or ""


def check_round_trip(title: str, summary: str, author: str, caption: str, credit: str) -> None:
    feed = make_feed(title, summary, author, caption, credit)
    for render in (render_atom, render_rss):
        data = render(feed)
        result = feedparser.parse(data)
        assert not result.bozo, result.get("bozo_exception")
        entry = result.entries[0]
        assert shown_text(entry.title_detail) == title
        assert shown_summary(entry, data) == summary
        assert shown_text(result.feed.title_detail) == feed.title
        # Atom: <name> (feedparser's `author` adds the e-mail); RSS: dc:creator as it stands.
        assert (entry.author_detail["name"] if render is render_atom else entry.author) == author
        assert media_text(data) == (caption, credit)
    item = json.loads(render_json(feed))["items"][0]
    assert (item["title"], item["summary"], item["authors"][0]["name"]) == (title, summary, author)
    assert (item["_media"][0]["caption"], item["_media"][0]["credit"]) == (caption, credit)
    assert item["attachments"][0]["title"] == caption


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, summary=TEXT, author=TEXT, caption=TEXT, credit=TEXT)
@example(
    title="<script>alert(1)</script> &lt;ok&gt; &amp;",
    summary="<script>alert('x')</script> <ok> &amp; ]]> \"'",
    author="Müller &amp; Söhne",
    caption="<img src=x onerror=alert(1)>",
    credit="Foto: <b>Stadt</b> & Co",
)
def test_text_comes_back_as_stored_in_every_format(
    title: str, summary: str, author: str, caption: str, credit: str
) -> None:
    assume(not any(_feedparser_repairs(text) for text in (title, summary, author, caption, credit)))
    check_round_trip(title, summary, author, caption, credit)


def test_no_html_element_where_text_was_stored() -> None:
    """The payloads that ran in a rendered RSS entry reach readers as text, in every element."""
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    feed = make_feed(payload, payload, "Presse", payload, "Foto")
    rss = render_rss(feed)
    for tag in ("title", "description"):  # RSS elements readers read as HTML
        for element in etree.fromstring(rss).iter(tag):
            assert html_reading(element.text or "")[1] == [], tag
    atom = render_atom(feed)
    root = etree.fromstring(atom)
    atom_title = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
    assert atom_title is not None and atom_title.get("type") == "html"
    assert html_reading(atom_title.text or "") == (payload, [])
    check_round_trip(payload, payload, "Presse", payload, "Foto")


def test_plain_text_without_markup_characters_stays_plain() -> None:
    feed = make_feed("Neue Radwege", "Kurz gesagt", "Presse", "Brücke", "Foto")
    atom = etree.fromstring(render_atom(feed))
    title = atom.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
    assert title is not None and title.get("type") is None and title.text == "Neue Radwege"
