"""Feed writers: Atom, RSS and JSON Feed from one `Feed` value. No Flask, no database.

Each workaround of a feedgen 1.0.0 bug or gap is tested here.
"""

from __future__ import annotations

import json
import locale
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from feedsvc.formats import FORMATS, FeedFormat, render_atom, render_json, render_ninjs, render_rss
from feedsvc.formats.common import ttl_minutes, update_schedule
from feedsvc.formats.model import Category, Contact, Entry, Feed, Image, Link, Person, Tombstone
from tests.feed_text import shown_text

BERLIN = ZoneInfo("Europe/Berlin")
BASE = "https://feedsvc.example"
SELF_URL = f"{BASE}/cities/rosenheim/feed.atom"
ALT_URL = f"{BASE}/cities/rosenheim"
HUB_URL = "https://hub.example/websub"
NEXT_URL = f"{BASE}/cities/rosenheim/feed.atom?before=2"
TOPICS = f"{BASE}/topics/"
CITIES = f"{BASE}/cities/"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "fh": "http://purl.org/syndication/history/1.0",
    "at": "http://purl.org/atompub/tombstones/1.0",
}
XML_RENDERERS = {"atom": render_atom, "rss": render_rss}
RENDERERS: dict[str, Callable[[Feed], bytes]] = {**XML_RENDERERS, "json": render_json}

UNICODE_TITLE = "Grüße aus Rosenheim: Straße fertig, 李伟 gratuliert 🎉"
UNICODE_SUMMARY = "Die Brücke über den Inn ist offen – ÄÖÜ äöü ß, 李伟, 🎉."
UNICODE_BODY = "<p>Oberbürgermeister und 李伟 eröffnen die Straße 🎉</p>"
UNICODE_CAPTION = "Blick über die Brücke – 李伟 🎉"
TRICKY_TITLE = "Use <b>&amp; not &lt;"


def make_entry(n: int) -> Entry:
    published = datetime(2024, 3, n, 9, 30, tzinfo=BERLIN)
    return Entry(
        id=f"tag:feedsvc.example,2024:release-{n}",
        title=f"Pressemitteilung {n}",
        link=f"{BASE}/releases/{n}",
        summary=f"Zusammenfassung {n}",
        content_html=f"<p>Text {n}</p>",
        published=published,
        updated=published + timedelta(hours=1),
        author=Person("Pressestelle Rosenheim", "presse@rosenheim.de"),
        categories=(Category("verkehr", TOPICS, "Verkehr"), Category("rosenheim", CITIES, "Rosenheim")),
    )


IMAGES = (
    Image(f"{BASE}/img/lead.jpg", "image/jpeg", 123456, UNICODE_CAPTION, "Foto: Stadt Rosenheim"),
    Image(f"{BASE}/img/second.png", "image/png", 4567, "Zweites Bild", "Foto: 李伟"),
)


def make_feed() -> Feed:
    entries = (
        replace(
            make_entry(3),
            title=UNICODE_TITLE,
            summary=UNICODE_SUMMARY,
            content_html=UNICODE_BODY,
            images=IMAGES,
            # Summer time: the offsets differ between published and updated.
            updated=datetime(2024, 7, 1, 12, 0, tzinfo=BERLIN),
        ),
        replace(make_entry(2), title=TRICKY_TITLE),
        replace(make_entry(1), author=Person("Amt für Verkehr")),
    )
    return Feed(
        id="tag:feedsvc.example,2024:cities/rosenheim",
        title="Pressemitteilungen – Rosenheim",
        subtitle="Pressemitteilungen der Stadt Rosenheim",
        self_url=SELF_URL,
        alternate_url=ALT_URL,
        language="de",
        updated=datetime(2024, 7, 1, 12, 0, tzinfo=BERLIN),
        author=Person("feedsvc", "info@feedsvc.de"),
        entries=entries,
        links=(Link("hub", HUB_URL), Link("next", NEXT_URL)),
    )


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def parsed(data: bytes) -> feedparser.FeedParserDict:
    result = feedparser.parse(data)
    assert not result.bozo, result.get("bozo_exception")
    return result


def json_doc(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(data.decode("utf-8"))
    return doc


def atom_entries(feed: Feed) -> list[etree._Element]:
    return xml(render_atom(feed)).findall("a:entry", NS)


def rss_items(feed: Feed) -> list[etree._Element]:
    return xml(render_rss(feed)).findall("channel/item")


# --- registry and module boundaries -------------------------------------------------------------


def test_formats_registry() -> None:
    assert list(FORMATS) == ["atom", "rss", "json", "ninjs.json"]
    assert FORMATS["atom"] == FeedFormat("atom", "application/atom+xml; charset=utf-8", "Atom", render_atom)
    assert FORMATS["rss"] == FeedFormat("rss", "application/rss+xml; charset=utf-8", "RSS", render_rss)
    assert FORMATS["json"] == FeedFormat("json", "application/feed+json", "JSON Feed", render_json)
    # No registered media type exists for ninjs; feed readers are not offered it (tests/test_ninjs.py).
    ninjs = FeedFormat("ninjs.json", "application/json", "IPTC ninjs", render_ninjs, for_readers=False)
    assert FORMATS["ninjs.json"] == ninjs
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert isinstance(fmt.render(make_feed()), bytes)


# --- validity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_xml_formats_parse_without_bozo(fmt: str) -> None:
    result = parsed(XML_RENDERERS[fmt](make_feed()))
    assert result.version == {"atom": "atom10", "rss": "rss20"}[fmt]
    assert len(result.entries) == 3


def test_json_feed_has_the_required_keys() -> None:
    # feedparser 6.0 does not read JSON Feed, so check the JSON Feed 1.1 requirements directly.
    doc = json_doc(render_json(make_feed()))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "Pressemitteilungen – Rosenheim"
    assert isinstance(doc["items"], list)
    for item in doc["items"]:
        assert isinstance(item["id"], str)
        assert isinstance(item["content_html"], str)
        assert "author" not in item  # deprecated in 1.1; `authors` is used
    assert "author" not in doc


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_empty_feed_renders_valid(fmt: str) -> None:
    feed = replace(make_feed(), entries=(), links=())
    data = RENDERERS[fmt](feed)
    if fmt == "json":
        doc = json_doc(data)
        assert doc["items"] == []
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
    else:
        result = parsed(data)
        assert result.entries == []
        assert result.feed.title == feed.title


# --- entries: ids and order ------------------------------------------------------------------------


def test_same_ids_in_the_same_order_in_all_formats() -> None:
    feed = make_feed()
    expected = [entry.id for entry in feed.entries]
    assert expected == sorted(expected, reverse=True)  # newest first, as given
    atom_ids = [entry.id for entry in parsed(render_atom(feed)).entries]
    rss_ids = [entry.id for entry in parsed(render_rss(feed)).entries]
    json_ids = [item["id"] for item in json_doc(render_json(feed))["items"]]
    assert atom_ids == rss_ids == json_ids == expected


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_given_order_is_kept_never_reversed(fmt: str) -> None:
    """feedgen: feedgen prepends by default; the writers append."""
    entries = tuple(make_entry(n) for n in (2, 5, 1, 4))
    data = RENDERERS[fmt](replace(make_feed(), entries=entries))
    if fmt == "json":
        ids = [item["id"] for item in json_doc(data)["items"]]
    else:
        ids = [entry.id for entry in parsed(data).entries]
    assert ids == [entry.id for entry in entries]


def test_rss_guid_is_the_entry_id_and_not_a_permalink() -> None:
    items = rss_items(make_feed())
    guids = [item.find("guid") for item in items]
    assert [g.text for g in guids if g is not None] == [e.id for e in make_feed().entries]
    assert {g.get("isPermaLink") for g in guids if g is not None} == {"false"}


# --- links ------------------------------------------------------------------------------------------------


def test_self_link_equals_self_url_in_all_formats() -> None:
    feed = make_feed()
    atom = xml(render_atom(feed))
    assert [link.get("href") for link in atom.findall("a:link[@rel='self']", NS)] == [SELF_URL]
    rss = xml(render_rss(feed))
    assert [link.get("href") for link in rss.findall("channel/a:link[@rel='self']", NS)] == [SELF_URL]
    assert json_doc(render_json(feed))["feed_url"] == SELF_URL


def test_atom_feed_links_alternate_hub_and_next() -> None:
    atom = xml(render_atom(make_feed()))
    links = {(link.get("rel"), link.get("href")) for link in atom.findall("a:link", NS)}
    assert links == {("self", SELF_URL), ("hub", HUB_URL), ("next", NEXT_URL), ("alternate", ALT_URL)}
    assert parsed(render_atom(make_feed())).feed.link == ALT_URL


def test_rss_channel_link_is_alternate_even_with_hub_and_next() -> None:
    """feedgen: the RSS channel link is the last fg.link(), and RSS drops hub/next links."""
    rss = xml(render_rss(make_feed()))
    assert rss.findtext("channel/link") == ALT_URL
    atom_links = {(link.get("rel"), link.get("href")) for link in rss.findall("channel/a:link", NS)}
    assert atom_links == {("self", SELF_URL), ("hub", HUB_URL), ("next", NEXT_URL)}
    assert parsed(render_rss(make_feed())).feed.link == ALT_URL


def test_rss_carries_every_paging_link() -> None:
    rels = ["first", "previous", "prev-archive", "next-archive", "current", "last"]
    feed = replace(make_feed(), links=tuple(Link(rel, f"{BASE}/archive/{rel}") for rel in rels))
    rss = xml(render_rss(feed))
    assert [link.get("rel") for link in rss.findall("channel/a:link", NS)] == ["self", *rels]
    atom = xml(render_atom(feed))
    assert [link.get("rel") for link in atom.findall("a:link", NS)] == ["self", *rels, "alternate"]
    assert rss.findtext("channel/link") == ALT_URL


def test_json_hubs_next_url_and_home_page() -> None:
    doc = json_doc(render_json(make_feed()))
    assert doc["home_page_url"] == ALT_URL
    assert doc["hubs"] == [{"type": "WebSub", "url": HUB_URL}]
    assert doc["next_url"] == NEXT_URL
    bare = json_doc(render_json(replace(make_feed(), links=())))
    assert "hubs" not in bare
    assert "next_url" not in bare


def test_atom_entry_enclosures_keep_their_attributes() -> None:
    """feedgen #135: enclosures must not become extra alternates."""
    entry = atom_entries(make_feed())[0]
    enclosures = entry.findall("a:link[@rel='enclosure']", NS)
    assert [(e.get("href"), e.get("type"), e.get("length")) for e in enclosures] == [
        (IMAGES[0].url, "image/jpeg", "123456"),
        (IMAGES[1].url, "image/png", "4567"),
    ]
    alternates = entry.findall("a:link[@rel='alternate']", NS)
    assert [a.get("href") for a in alternates] == [f"{BASE}/releases/3"]
    assert all(link.get("rel") for link in entry.findall("a:link", NS))
    for other in atom_entries(make_feed())[1:]:
        assert len(other.findall("a:link[@rel='alternate']", NS)) == 1


def test_atom_enclosures_seen_by_feedparser() -> None:
    entry = parsed(render_atom(make_feed())).entries[0]
    assert entry.link == f"{BASE}/releases/3"
    assert [(e["href"], e["type"], e["length"]) for e in entry.enclosures] == [
        (IMAGES[0].url, "image/jpeg", "123456"),
        (IMAGES[1].url, "image/png", "4567"),
    ]


def test_rss_has_one_enclosure_the_first_image() -> None:
    """feedgen: RSS allows one enclosure; feedgen would pick the last image."""
    item = rss_items(make_feed())[0]
    enclosures = item.findall("enclosure")
    assert [(e.get("url"), e.get("length"), e.get("type")) for e in enclosures] == [
        (IMAGES[0].url, "123456", "image/jpeg")
    ]
    assert rss_items(make_feed())[1].find("enclosure") is None
    entry = parsed(render_rss(make_feed())).entries[0]
    assert entry.link == f"{BASE}/releases/3"
    assert [e["href"] for e in entry.enclosures] == [IMAGES[0].url]


# --- media ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_media_rss_caption_and_credit_for_every_image(fmt: str) -> None:
    """feedgen has no media:description/credit; the namespace is declared on the root."""
    data = XML_RENDERERS[fmt](make_feed())
    root = xml(data)
    assert root.nsmap["media"] == NS["media"]
    assert data.count(b"xmlns:media=") == 1
    assert b"ns0:" not in data
    first = root.findall(".//media:content", NS)[:2]
    assert [(c.get("url"), c.get("type"), c.get("fileSize"), c.get("medium")) for c in first] == [
        (IMAGES[0].url, "image/jpeg", "123456", "image"),
        (IMAGES[1].url, "image/png", "4567", "image"),
    ]
    assert [c.findtext("media:description", namespaces=NS) for c in first] == [
        UNICODE_CAPTION,
        "Zweites Bild",
    ]
    # type="html", escaped: readers that take every description for HTML still show text.
    assert [c.find("media:description", NS).get("type") for c in first] == ["html", "html"]  # type: ignore[union-attr]
    assert [c.findtext("media:credit", namespaces=NS) for c in first] == [
        "Foto: Stadt Rosenheim",
        "Foto: 李伟",
    ]
    entry = parsed(data).entries[0]
    assert [m["url"] for m in entry.media_content] == [IMAGES[0].url, IMAGES[1].url]
    assert [c["content"] for c in entry.media_credit] == ["Foto: Stadt Rosenheim", "Foto: 李伟"]


def test_no_media_namespace_without_images() -> None:
    feed = replace(make_feed(), entries=(make_entry(1),))
    for render in XML_RENDERERS.values():
        assert b"xmlns:media" not in render(feed)


def test_json_attachments_image_and_media_extension() -> None:
    item = json_doc(render_json(make_feed()))["items"][0]
    assert item["image"] == IMAGES[0].url
    assert item["attachments"] == [
        {"url": IMAGES[0].url, "mime_type": "image/jpeg", "size_in_bytes": 123456, "title": UNICODE_CAPTION},
        {"url": IMAGES[1].url, "mime_type": "image/png", "size_in_bytes": 4567, "title": "Zweites Bild"},
    ]
    assert item["_media"] == [
        {"url": IMAGES[0].url, "caption": UNICODE_CAPTION, "credit": "Foto: Stadt Rosenheim"},
        {"url": IMAGES[1].url, "caption": "Zweites Bild", "credit": "Foto: 李伟"},
    ]
    plain = json_doc(render_json(make_feed()))["items"][1]
    assert "image" not in plain
    assert "attachments" not in plain
    assert "_media" not in plain


# --- categories, authors, dates ----------------------------------------------------------------------


def test_categories_with_scheme_agree_across_formats() -> None:
    """feedgen: no label, so Atom term and RSS text agree."""
    atom_cats = atom_entries(make_feed())[0].findall("a:category", NS)
    assert [(c.get("term"), c.get("scheme"), c.get("label")) for c in atom_cats] == [
        ("verkehr", TOPICS, None),
        ("rosenheim", CITIES, None),
    ]
    rss_cats = rss_items(make_feed())[0].findall("category")
    assert [(c.text, c.get("domain")) for c in rss_cats] == [("verkehr", TOPICS), ("rosenheim", CITIES)]
    for fmt in ("atom", "rss"):
        tags = parsed(XML_RENDERERS[fmt](make_feed())).entries[0].tags
        assert [(t["term"], t["scheme"]) for t in tags] == [("verkehr", TOPICS), ("rosenheim", CITIES)]
    assert json_doc(render_json(make_feed()))["items"][0]["tags"] == ["verkehr", "rosenheim"]


def test_authors_in_every_format() -> None:
    feed = make_feed()
    atom = atom_entries(feed)
    assert atom[0].findtext("a:author/a:name", namespaces=NS) == "Pressestelle Rosenheim"
    assert atom[0].findtext("a:author/a:email", namespaces=NS) == "presse@rosenheim.de"
    assert atom[2].find("a:author/a:email", NS) is None
    assert xml(render_atom(feed)).findtext("a:author/a:name", namespaces=NS) == "feedsvc"

    items = rss_items(feed)
    # One author element per item: dc:creator, never also <author> (DuplicateItemSemantics).
    assert [item.find("author") for item in items] == [None, None, None]
    assert items[0].findtext("dc:creator", namespaces=NS) == "Pressestelle Rosenheim"
    assert items[2].findtext("dc:creator", namespaces=NS) == "Amt für Verkehr"
    assert [entry.author for entry in parsed(render_rss(feed)).entries] == [
        "Pressestelle Rosenheim",
        "Pressestelle Rosenheim",
        "Amt für Verkehr",
    ]

    doc = json_doc(render_json(feed))
    assert doc["authors"] == [{"name": "feedsvc", "url": "mailto:info@feedsvc.de"}]
    assert doc["items"][0]["authors"] == [
        {"name": "Pressestelle Rosenheim", "url": "mailto:presse@rosenheim.de"}
    ]
    assert doc["items"][2]["authors"] == [{"name": "Amt für Verkehr"}]
    with_uri = replace(
        make_feed(), author=Person("feedsvc", "info@feedsvc.de", "https://feedsvc.example/about")
    )
    assert json_doc(render_json(with_uri))["authors"][0]["url"] == "https://feedsvc.example/about"


def test_dates_carry_their_offsets() -> None:
    feed = make_feed()
    atom_root = xml(render_atom(feed))
    assert atom_root.findtext("a:updated", namespaces=NS) == "2024-07-01T12:00:00+02:00"
    entry = atom_root.findall("a:entry", NS)[0]
    assert entry.findtext("a:published", namespaces=NS) == "2024-03-03T09:30:00+01:00"
    assert entry.findtext("a:updated", namespaces=NS) == "2024-07-01T12:00:00+02:00"

    rss_root = xml(render_rss(feed))
    assert rss_root.findtext("channel/lastBuildDate") == "Mon, 01 Jul 2024 12:00:00 +0200"
    assert rss_root.findtext("channel/item/pubDate") == "Sun, 03 Mar 2024 09:30:00 +0100"

    item = json_doc(render_json(feed))["items"][0]
    assert item["date_published"] == "2024-03-03T09:30:00+01:00"
    assert item["date_modified"] == "2024-07-01T12:00:00+02:00"

    utc_feed = replace(
        make_feed(), entries=(replace(make_entry(1), published=datetime(2024, 1, 5, 8, 0, tzinfo=UTC)),)
    )
    assert xml(render_rss(utc_feed)).findtext("channel/item/pubDate") == "Fri, 05 Jan 2024 08:00:00 +0000"
    assert json_doc(render_json(utc_feed))["items"][0]["date_published"] == "2024-01-05T08:00:00+00:00"


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_naive_datetimes_are_refused(fmt: str) -> None:
    naive = datetime(2024, 3, 1, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone"):
        RENDERERS[fmt](replace(make_feed(), entries=(replace(make_entry(1), published=naive),)))


def test_rss_dates_do_not_touch_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedgen: feedgen's formatRFC2822 calls locale.setlocale (process-global, racy)."""
    expected = render_rss(make_feed())

    def forbidden(*args: object) -> str:
        raise AssertionError(f"locale.setlocale{args} called while rendering")

    monkeypatch.setattr(locale, "setlocale", forbidden)
    assert render_rss(make_feed()) == expected
    render_atom(make_feed())


def test_feed_language_and_entry_language() -> None:
    feed = replace(make_feed(), entries=(make_entry(2), replace(make_entry(1), language="en")))
    atom = xml(render_atom(feed))
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert atom.get(lang) == "de"
    assert [e.get(lang) for e in atom.findall("a:entry", NS)] == [None, "en"]
    assert xml(render_rss(feed)).findtext("channel/language") == "de"
    doc = json_doc(render_json(feed))
    assert doc["language"] == "de"
    assert [item["language"] for item in doc["items"]] == ["de", "en"]


# --- text: escaping and Unicode ---------------------------------------------------------------------


LEAD_FIGURE = (
    f'<figure class="lead-image"><img src="{BASE}/img/lead.jpg" alt="{UNICODE_CAPTION}">'
    f"<figcaption>{UNICODE_CAPTION} <small>Foto: Stadt Rosenheim</small></figcaption></figure>"
)


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_unicode_round_trips_through_feedparser(fmt: str) -> None:
    result = parsed(XML_RENDERERS[fmt](make_feed()))
    entry = result.entries[0]
    assert entry.title == UNICODE_TITLE
    assert entry.summary == UNICODE_SUMMARY
    # feedparser's sanitiser writes the figure again (attributes sorted, "<img ... />").
    value = entry.content[0].value
    assert value.startswith('<figure class="lead-image"><img alt="Blick über die Brücke – 李伟 🎉" src=')
    assert value.endswith(f"<small>Foto: Stadt Rosenheim</small></figcaption></figure>{UNICODE_BODY}")
    assert result.feed.title == "Pressemitteilungen – Rosenheim"


def test_unicode_is_written_as_utf8_not_escaped() -> None:
    for fmt, render in RENDERERS.items():
        data = render(make_feed())
        for text in ("李伟", "🎉", "Straße", "Grüße"):
            assert text.encode("utf-8") in data, (fmt, text)
        # No \\u escapes, and no character references but RSS's for "&", "<" and ">".
        assert b"\\u" not in data, fmt
        assert set(re.findall(rb"&#x?[0-9A-Fa-f]+;", data)) <= {b"&#x26;", b"&#x3C;", b"&#x3E;"}, fmt
    item = json_doc(render_json(make_feed()))["items"][0]
    assert (item["title"], item["summary"], item["content_html"]) == (
        UNICODE_TITLE,
        UNICODE_SUMMARY,
        LEAD_FIGURE + UNICODE_BODY,
    )
    assert item["attachments"][0]["title"] == UNICODE_CAPTION


def test_title_is_escaped_once_for_the_element_it_lands_in() -> None:
    """Atom: type="html", HTML-escaped, then XML-escaped. RSS: a title is read as HTML, so the
    same. XML's escapes are written as hexadecimal references (RSS Best Practices Profile)."""
    atom = render_atom(make_feed())
    assert b'<title type="html">Use &#x26;lt;b&#x26;gt;&#x26;amp;amp; not &#x26;amp;lt;</title>' in atom
    rss = render_rss(make_feed())
    assert b"<title>Use &#x26;lt;b&#x26;gt;&#x26;amp;amp; not &#x26;amp;lt;</title>" in rss
    for data in (atom, rss):
        assert shown_text(parsed(data).entries[1].title_detail) == TRICKY_TITLE
    # Text without "&" or "<" stays plain: type="text" in Atom, as it is in RSS.
    assert b"<title>Pressemitteilung 1</title>" in atom and b"<title>Pressemitteilung 1</title>" in rss


def test_json_title_is_literal_text() -> None:
    assert json_doc(render_json(make_feed()))["items"][1]["title"] == TRICKY_TITLE


def test_html_content_is_type_html_never_cdata() -> None:
    """feedgen: `type="CDATA"` is invalid Atom."""
    atom = render_atom(make_feed())
    rss = render_rss(make_feed())
    assert b"CDATA" not in atom and b"CDATA" not in rss
    contents = xml(atom).findall("a:entry/a:content", NS)
    assert {c.get("type") for c in contents} == {"html"}
    summaries = xml(atom).findall("a:entry/a:summary", NS)
    assert {s.get("type") for s in summaries} == {None}  # plain text
    item = rss_items(make_feed())[0]
    assert item.findtext("description") == UNICODE_SUMMARY
    assert item.findtext("content:encoded", namespaces=NS) == LEAD_FIGURE + UNICODE_BODY


# --- correction and embargo -----------------------------------------------------------------------


CORRECTION = (
    '<p class="correction"><strong>Korrektur vom 01.03.2024:</strong> '
    "Datum &lt;falsch&gt; &amp; korrigiert</p>"
)


def test_correction_note_leads_the_content_in_every_format() -> None:
    feed = replace(
        make_feed(), entries=(replace(make_entry(1), correction_note="Datum <falsch> & korrigiert"),)
    )
    expected = CORRECTION + "<p>Text 1</p>"
    assert atom_entries(feed)[0].findtext("a:content", namespaces=NS) == expected
    assert rss_items(feed)[0].findtext("content:encoded", namespaces=NS) == expected
    assert json_doc(render_json(feed))["items"][0]["content_html"] == expected
    for fmt in ("atom", "rss"):
        assert parsed(XML_RENDERERS[fmt](feed)).entries[0].content[0].value == expected


def test_embargo_notice_in_berlin_time_and_json_extension() -> None:
    until = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin (winter time)
    feed = replace(
        make_feed(), entries=(replace(make_entry(1), embargoed_until=until, correction_note="Neu"),)
    )
    notice = '<p class="embargo"><strong>SPERRFRIST bis 01.03.2024 09:00 Uhr</strong></p>'
    correction = '<p class="correction"><strong>Korrektur vom 01.03.2024:</strong> Neu</p>'
    expected = notice + correction + "<p>Text 1</p>"
    assert atom_entries(feed)[0].findtext("a:content", namespaces=NS) == expected
    assert rss_items(feed)[0].findtext("content:encoded", namespaces=NS) == expected
    item = json_doc(render_json(feed))["items"][0]
    assert item["content_html"] == expected
    assert item["_feedsvc"] == {"embargoed": True, "embargoed_until": "2024-03-01T08:00:00+00:00"}
    summer = replace(
        make_feed(),
        entries=(replace(make_entry(1), embargoed_until=datetime(2024, 7, 1, 22, 30, tzinfo=UTC)),),
    )
    assert "SPERRFRIST bis 02.07.2024 00:30 Uhr" in json_doc(render_json(summer))["items"][0]["content_html"]
    assert "_feedsvc" not in json_doc(render_json(make_feed()))["items"][0]


# --- determinism and suppressed defaults -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_rendering_twice_gives_identical_bytes(fmt: str) -> None:
    """feedgen: no clock anywhere; equal Feed values give equal bytes."""
    render = RENDERERS[fmt]
    assert render(make_feed()) == render(make_feed())
    gone = (Tombstone("tag:x,2024:gone", datetime(2024, 6, 1, tzinfo=UTC)),)
    feed = replace(make_feed(), tombstones=gone, ttl_seconds=600)
    assert render(feed) == render(feed)


def test_no_generator_and_no_docs() -> None:
    """No <generator> or <docs> naming the library."""
    atom = render_atom(make_feed())
    rss = render_rss(make_feed())
    assert xml(atom).find("a:generator", NS) is None
    assert xml(rss).find("channel/generator") is None
    assert xml(rss).find("channel/docs") is None
    assert b"feedgen" not in atom and b"feedgen" not in rss


def test_updated_comes_from_the_data() -> None:
    feed = replace(make_feed(), updated=datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert xml(render_atom(feed)).findtext("a:updated", namespaces=NS) == "2001-02-03T04:05:06+00:00"
    assert xml(render_rss(feed)).findtext("channel/lastBuildDate") == "Sat, 03 Feb 2001 04:05:06 +0000"


# --- feed-level extras ------------------------------------------------------------------------------


def test_tombstones_only_in_atom() -> None:
    gone = datetime(2024, 6, 1, 10, 0, tzinfo=BERLIN)
    feed = replace(make_feed(), tombstones=(Tombstone("tag:feedsvc.example,2024:release-0", gone),))
    atom_data = render_atom(feed)
    deleted = xml(atom_data).findall("at:deleted-entry", NS)
    assert [(d.get("ref"), d.get("when")) for d in deleted] == [
        ("tag:feedsvc.example,2024:release-0", "2024-06-01T10:00:00+02:00")
    ]
    assert atom_data.count(b"xmlns:at=") == 1
    parsed(atom_data)
    assert b"deleted-entry" not in render_rss(feed)
    assert b"release-0" not in render_rss(feed)
    assert b"release-0" not in render_json(feed)
    assert b"xmlns:at" not in render_atom(make_feed())


@pytest.mark.parametrize(
    ("ttl", "minutes", "period", "frequency"),
    [(900, 15, "hourly", 4), (3600, 60, "hourly", 1), (61, 1, "hourly", 59), (6 * 3600, 360, "daily", 4)],
)
def test_rss_ttl_and_syndication_module(ttl: int, minutes: int, period: str, frequency: int) -> None:
    """feedgen: own lowercase sy: elements, not feedgen's syndication extension.
    <ttl> is rounded down: it never promises longer than the seconds it was given."""
    data = render_rss(replace(make_feed(), ttl_seconds=ttl, update_seconds=ttl))
    channel = xml(data).find("channel")
    assert channel is not None
    assert channel.findtext("ttl") == str(minutes)
    assert channel.findtext("sy:updatePeriod", namespaces=NS) == period
    assert channel.findtext("sy:updateFrequency", namespaces=NS) == str(frequency)
    assert b"UpdatePeriod" not in data
    result = parsed(data)
    assert result.feed.ttl == str(minutes)
    assert result.feed.sy_updateperiod == period


def test_no_ttl_elements_without_ttl() -> None:
    data = render_rss(make_feed())
    assert b"<ttl>" not in data and b"sy:" not in data
    assert b"<ttl>" not in render_atom(replace(make_feed(), ttl_seconds=900, update_seconds=900))
    # The usual schedule without a ttl (a lift is pending): sy:* only.
    schedule_only = render_rss(replace(make_feed(), update_seconds=300))
    assert b"<ttl>" not in schedule_only and b"<sy:updateFrequency>12<" in schedule_only
    # Less than a minute: no whole minute to promise.
    assert b"<ttl>" not in render_rss(replace(make_feed(), ttl_seconds=59))


def test_ttl_helpers() -> None:
    assert ttl_minutes(1) is None
    assert ttl_minutes(60) == 1
    assert ttl_minutes(61) == 1
    assert ttl_minutes(119) == 1
    assert update_schedule(30 * 86400) == ("monthly", 1)
    assert update_schedule(10 * 365 * 86400) == ("yearly", 1)
    with pytest.raises(ValueError, match="positive"):
        update_schedule(0)


@pytest.mark.parametrize(("complete", "archive"), [(True, False), (False, True), (False, False)])
def test_feed_history_markers(complete: bool, archive: bool) -> None:
    feed = replace(make_feed(), complete=complete, archive=archive)
    roots = {"atom": xml(render_atom(feed)), "rss": xml(render_rss(feed)).find("channel")}
    for fmt, root in roots.items():
        assert root is not None
        assert (root.find("fh:complete", NS) is not None) is complete, fmt
        assert (root.find("fh:archive", NS) is not None) is archive, fmt
        parsed(XML_RENDERERS[fmt](feed))


def test_icon_and_logo() -> None:
    feed = replace(make_feed(), icon=f"{BASE}/favicon.png", logo=f"{BASE}/logo.png")
    atom = xml(render_atom(feed))
    assert atom.findtext("a:icon", namespaces=NS) == f"{BASE}/favicon.png"
    assert atom.findtext("a:logo", namespaces=NS) == f"{BASE}/logo.png"
    image = xml(render_rss(feed)).find("channel/image")
    assert image is not None
    assert (image.findtext("url"), image.findtext("title"), image.findtext("link")) == (
        f"{BASE}/logo.png",
        feed.title,
        ALT_URL,
    )
    doc = json_doc(render_json(feed))
    assert (doc["icon"], doc["favicon"]) == (f"{BASE}/logo.png", f"{BASE}/favicon.png")

    icon_only = replace(make_feed(), icon=f"{BASE}/favicon.png")
    assert xml(render_rss(icon_only)).find("channel/image") is None
    assert xml(render_atom(icon_only)).find("a:logo", NS) is None
    assert "icon" not in json_doc(render_json(icon_only))
    plain = make_feed()
    assert xml(render_atom(plain)).find("a:icon", NS) is None
    assert "favicon" not in json_doc(render_json(plain))


def test_subtitle_in_every_format() -> None:
    feed = make_feed()
    assert xml(render_atom(feed)).findtext("a:subtitle", namespaces=NS) == feed.subtitle
    assert xml(render_rss(feed)).findtext("channel/description") == feed.subtitle
    assert json_doc(render_json(feed))["description"] == feed.subtitle


def test_json_serialisation_is_stable_and_utf8() -> None:
    data = render_json(make_feed())
    assert data.endswith(b"}\n")
    assert data.decode("utf-8")  # valid UTF-8
    keys = list(json_doc(data))
    assert keys[:4] == ["version", "title", "home_page_url", "feed_url"]
    assert keys[-1] == "items"


# --- dates in whole seconds, lengths, lead image, contact, source, stylesheet ------------------------


def test_every_format_writes_whole_seconds() -> None:
    """newsboat drops the offset of `…:57.225623+01:00`: fractions are cut in one place."""
    exact = datetime(2026, 11, 25, 19, 20, 57, 225623, tzinfo=BERLIN)
    gone = (Tombstone("tag:x,2026:gone", exact),)
    entry = replace(make_entry(1), published=exact, updated=exact, embargoed_until=exact)
    feed = replace(make_feed(), entries=(entry,), updated=exact, tombstones=gone)
    for fmt, render in RENDERERS.items():
        data = render(feed)
        assert b".225623" not in data and b"225623" not in data, fmt
    assert b"<updated>2026-11-25T19:20:57+01:00</updated>" in render_atom(feed)
    assert b'when="2026-11-25T19:20:57+01:00"' in render_atom(feed)
    assert b"<pubDate>Wed, 25 Nov 2026 19:20:57 +0100</pubDate>" in render_rss(feed)
    item = json_doc(render_json(feed))["items"][0]
    assert item["date_published"] == item["date_modified"] == "2026-11-25T19:20:57+01:00"
    assert item["_feedsvc"]["embargoed_until"] == "2026-11-25T19:20:57+01:00"


def test_an_unknown_image_length_is_left_out_and_rss_says_0() -> None:
    """media:content fileSize and Atom link length must be positive: left out when unknown.
    RSS requires an enclosure length: 0, as the RSS Advisory Board asks for an unknown one."""
    unknown = Image(f"{BASE}/img/unknown.jpg", "image/jpeg", None, "Ohne Größe", "Foto")
    feed = replace(make_feed(), entries=(replace(make_entry(1), images=(unknown, IMAGES[1])),))
    atom = xml(render_atom(feed))
    assert [link.get("length") for link in atom.findall(".//a:link[@rel='enclosure']", NS)] == [None, "4567"]
    assert [c.get("fileSize") for c in atom.findall(".//media:content", NS)] == [None, "4567"]
    rss = xml(render_rss(feed))
    assert [e.get("length") for e in rss.findall(".//enclosure")] == ["0"]
    assert [c.get("fileSize") for c in rss.findall(".//media:content", NS)] == [None, "4567"]
    attachments = json_doc(render_json(feed))["items"][0]["attachments"]
    assert ["size_in_bytes" in attachment for attachment in attachments] == [False, True]
    for fmt in ("atom", "rss"):
        parsed(XML_RENDERERS[fmt](feed))


def test_the_lead_image_leads_the_content_once() -> None:
    entry = replace(make_entry(1), images=IMAGES, correction_note="Bild ergänzt")
    content = json_doc(render_json(replace(make_feed(), entries=(entry,))))["items"][0]["content_html"]
    assert content.index('class="correction"') < content.index("<figure") < content.index("<p>Text 1</p>")
    assert content.count("<img") == 1 and IMAGES[1].url not in content  # the lead image only
    # A body that shows the lead image already gets no second one.
    shown = replace(entry, content_html=f'<p><img src="{IMAGES[0].url}" alt="Blick"></p>')
    content = json_doc(render_json(replace(make_feed(), entries=(shown,))))["items"][0]["content_html"]
    assert content.count("<img") == 1 and "<figure" not in content
    # The caption is the alt text and the figcaption, escaped; without caption or credit, no figcaption.
    hostile = Image(f"{BASE}/a.jpg?x=1&y=2", "image/jpeg", None, '"><script>x</script>', "A & B")
    figure = json_doc(render_json(replace(make_feed(), entries=(replace(entry, images=(hostile,)),))))
    html_part = figure["items"][0]["content_html"]
    assert (
        f'<img src="{BASE}/a.jpg?x=1&amp;y=2" alt="&quot;&gt;&lt;script&gt;x&lt;/script&gt;">'
        '<figcaption>"&gt;&lt;script&gt;x&lt;/script&gt; <small>A &amp; B</small></figcaption>'
    ) in html_part
    bare = Image(f"{BASE}/b.jpg", "image/jpeg", None)
    plain = json_doc(render_json(replace(make_feed(), entries=(replace(entry, images=(bare,)),))))
    assert (
        f'<figure class="lead-image"><img src="{BASE}/b.jpg" alt=""></figure>'
        in plain["items"][0]["content_html"]
    )


def test_contact_and_source_in_every_format() -> None:
    contact = Contact("Maria Huber & Team", "presse@samerberg.bayern", "+49 (0) 8032 123-45")
    source = "https://www.samerberg.de/presse?id=7&lang=de"
    escaped = source.replace("&", "&amp;")
    entry = replace(make_entry(1), contact=contact, source_url=source)
    feed = replace(make_feed(), entries=(entry,))
    footer = (
        '<p class="contact">Pressekontakt: Maria Huber &amp; Team, Tel. <a href="tel:+49803212345">'
        '+49 (0) 8032 123-45</a>, <a href="mailto:presse@samerberg.bayern">presse@samerberg.bayern</a></p>'
        f'<p class="source">Quelle: <a href="{escaped}">{escaped}</a></p>'
    )
    item = json_doc(render_json(feed))["items"][0]
    assert item["content_html"].endswith(footer)
    assert item["external_url"] == source
    assert item["_feedsvc"] == {
        "contact": {
            "name": "Maria Huber & Team",
            "email": "presse@samerberg.bayern",
            "phone": "+49 (0) 8032 123-45",
        }
    }
    atom = xml(render_atom(feed))
    via = atom.findall("a:entry/a:link[@rel='via']", NS)
    assert [(link.get("href"), link.get("type")) for link in via] == [(source, "text/html")]
    assert atom.findtext("a:entry/a:content", namespaces=NS).endswith(footer)  # type: ignore[union-attr]
    rss = xml(render_rss(feed))
    assert rss.findtext("channel/item/content:encoded", namespaces=NS).endswith(footer)  # type: ignore[union-attr]
    # RSS has no element for it: <source> names a channel, <comments> a page for comments.
    assert rss.find("channel/item/source") is None and rss.find("channel/item/comments") is None
    assert parsed(render_atom(feed)).entries[0].link == entry.link  # the alternate stays the link


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_the_stylesheet_is_named_for_browsers(fmt: str) -> None:
    feed = replace(make_feed(), stylesheet_url=f"{BASE}/static/feed.xsl")
    lines = XML_RENDERERS[fmt](feed).split(b"\n")
    assert lines[0] == b"<?xml version='1.0' encoding='UTF-8'?>"
    assert lines[1] == f'<?xml-stylesheet type="text/xsl" href="{BASE}/static/feed.xsl"?>'.encode()
    parsed(XML_RENDERERS[fmt](feed))
    assert b"xml-stylesheet" not in XML_RENDERERS[fmt](make_feed())
