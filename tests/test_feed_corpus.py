"""A corpus of hostile and awkward releases, rendered as every feed kind in every format
and checked as the W3C feed validator and real readers check it.

Entities, literal tag text, controls, emoji and CJK, right-to-left text, a title of the
longest length, relative links, images of unknown size, contacts with every field and
long top-level domains, a retraction, a correction, an embargo and empty feeds. Each feed
parses in feedparser without a warning, shows every text as stored, and keeps the rules
the validator applies: one author element per RSS item, no length of 0 where a positive
one is required, dates in whole seconds and never newer than the feed, `self` the URL
served, archives linked both ways. Atom, RSS and JSON Feed list the same ids, titles,
links and instants.

With FEEDSVC_CORPUS_DIR set, every rendered feed is also written there (with its URL in
`<file>.url`), for running the W3C feed validator over them (docs/feeds.md#validation).
"""

from __future__ import annotations

import calendar
import email.utils
import itertools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc import db
from feedsvc.models import Release
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store.tokens import create_token
from tests.conftest import BASE_URL, FakeClock
from tests.factories import BY_OPERATOR, add_release, make_catalog, patch_release, retract
from tests.feed_text import html_reading, shown_summary, shown_text

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
DC = "{http://purl.org/dc/elements/1.1/}"
FORMATS = ("atom", "rss", "json")
# Wall clock with a fraction of a second: every instant written must come out whole.
START = datetime(2026, 11, 25, 11, 0, 0, 225623, tzinfo=UTC)
LONG_TITLE = " ".join(["Bürgerversammlung zur Sanierung der Innbrücke und des Salingarten-Parkhauses"] * 4)[
    :300
]
HOSTILE_SUMMARY_BODY = (
    "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;ok&gt; &amp;amp; ]]&gt; "
    "&quot;Zitat&quot; &lt;img src=x onerror=alert(2)&gt;</p>"
)
SUBJECTS = (
    "",
    "/cities/rosenheim",
    "/cities/bad-aibling",
    "/cities/muenchen",  # only an embargoed release: empty in public
    "/topics/kultur",
    "/topics/verkehr",  # the same
    "/cities/rosenheim/topics/kultur",
    "/regions/region-rosenheim",
)


def add_corpus(app: Flask, clock: FakeClock) -> dict[str, int]:
    """The releases, written through the store as the API writes them."""
    ids: dict[str, int] = {}
    add = add_release
    ids["entities"] = add(
        app,
        title="Grüße &amp; „Glück“ &auml;&ouml;&uuml;&szlig; &#8222;Zitat&#8220; "
        "&lt;b&gt;fett&lt;/b&gt; &copy",
        body="<p>Gr&uuml;&szlig;e &amp; &bdquo;Gl&uuml;ck&ldquo; &lt;b&gt; &nbsp;aus&nbsp;Rosenheim</p>",
        topics=("kultur",),
        minutes_ago=200,
    )
    ids["literal tags"] = add(
        app,
        title="Tom &amp;amp; Jerry: a &lt; b, 3&lt;4 &gt; 2, ]]&gt; \"x\" 'y'",
        author="Redaktion &amp;amp; Co. &lt; 3",
        body=HOSTILE_SUMMARY_BODY,
        topics=("kultur",),
        minutes_ago=190,
    )
    ids["controls"] = add(
        app,
        title="Zeile\u0085eins\u009f\u0007 zwei\u200bdrei\ufffd",
        summary="Kurz\u000b gesagt\u0080: \u00a0Sperrung\u001f",
        body="<p>Text\u0008 mit &#0; Steuerzeichen\u0090</p>",
        minutes_ago=180,
    )
    ids["emoji and CJK"] = add(
        app,
        title="Delegation aus Shanghai: 李伟 besucht Rosenheim 🎉👩‍👩‍👧 ẞ",
        topics=("kultur",),
        minutes_ago=170,
    )
    ids["right to left"] = add(
        app,
        title="Städtepartnerschaft: שלום – مرحبا بكم في روزنهايم \u202eabc",
        language="ar",
        minutes_ago=160,
    )
    ids["long title"] = add(app, title=LONG_TITLE, minutes_ago=150)
    ids["relative links"] = add(
        app,
        title="Neue Fahrradstraße",
        body='<p><a href="/aktuelles?id=1&amp;x=2">Aktuelles</a> <img src="bild.jpg" alt="Bild"></p>',
        source_url="https://www.rosenheim.de/presse/meldung?id=7&lang=de",
        minutes_ago=140,
    )
    ids["images"] = add(
        app,
        title="Blick über den Inn",
        images=[
            {
                "url": "https://img.example.test/inn.jpg?w=800&h=600",
                "caption": "&lt; Blick &gt; &lt;b&gt;über&lt;/b&gt; den Inn &amp;amp; die Brücke",
                "credit": "Foto: Müller &amp; Söhne",
                "type": "image/jpeg",
                "length": 0,
            },
            {
                "url": "https://img.example.test/bruecke.png",
                "caption": "Die Brücke",
                "credit": "Foto: Stadt Rosenheim",
                "type": "image/png",
                "length": 123456,
            },
        ],
        minutes_ago=130,
    )
    ids["contact"] = add(
        app,
        city="bad-aibling",
        title="Kurpark wird saniert",
        author="Gemeinde Samerberg – Pressestelle &amp; Bürgerbüro",
        contact={
            "name": "Dr. Maria Huber-Özdemir &amp; Team",
            "email": "presse@samerberg.bayern",
            "phone": "+49 (0) 8032 123-45",
        },
        topics=("kultur",),
        minutes_ago=120,
    )
    ids["long tld"] = add(
        app,
        city="bad-aibling",
        title="Neue Öffnungszeiten",
        contact={"email": "rathaus@gemeinde.international"},
        minutes_ago=110,
    )
    ids["retracted"] = add(app, title="Wird zurückgezogen", minutes_ago=100)
    ids["corrected"] = add(app, title="Stadtfest am Samstag", topics=("kultur",), minutes_ago=90)
    ids["embargoed"] = add(
        app,
        city="muenchen",
        title="Haushalt 2027 unter Sperrfrist",
        topics=("verkehr",),
        published_at=START + timedelta(days=2),
    )
    clock.advance(minutes=30)
    retract(app, ids["retracted"])
    patch_release(
        app,
        ids["corrected"],
        ReleasePatch(
            title="Stadtfest am Sonntag &amp; Montag",
            body="<p>Das Stadtfest ist am Sonntag.</p>",
            correction_note="Tag &lt;falsch&gt; korrigiert",
        ),
    )
    return ids


@dataclass
class Served:
    url: str  # absolute, as requested
    fmt: str
    body: bytes
    headers: dict[str, str]
    private: bool = False

    @property
    def path(self) -> str:
        return self.url.removeprefix(BASE_URL)


@dataclass
class Corpus:
    app: Flask
    client: FlaskClient
    clock: FakeClock
    ids: dict[str, int]
    journalist: str
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)  # by guid, as stored
    served: list[Served] = field(default_factory=list)

    def get(self, path: str, *, private: bool = False) -> Served:
        headers = {"Accept-Encoding": "identity"}
        if private:
            headers["Authorization"] = f"Bearer {self.journalist}"
        response = self.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.data[:300])
        fmt = path.split("?")[0].rsplit(".", 1)[1]
        served = Served(f"{BASE_URL}{path}", fmt, response.data, dict(response.headers), private)
        self.served.append(served)
        return served


def _stored(app: Flask) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session().query(Release).all()
        return {
            row.guid: {
                "title": row.title,
                "summary": row.summary,
                "author": row.author,
                "email": row.contact_email,
                "images": [(image.caption, image.credit, image.length) for image in row.images],
                "retracted": row.retracted_at is not None,
                "id": row.id,
            }
            for row in rows
        }


@pytest.fixture
def corpus(app: Flask, client: FlaskClient, clock: FakeClock) -> Corpus:
    clock.now = START
    make_catalog(app)
    ids = add_corpus(app, clock)
    with app.app_context():
        _, secret = create_token(db.session(), role="journalist", now=clock.now, by=BY_OPERATOR)
        db.session().commit()
    found = Corpus(app, client, clock, ids, secret, _stored(app))
    for subject in SUBJECTS:
        for fmt in FORMATS:
            found.get(f"{subject}/feed.{fmt}")
    for fmt in FORMATS:
        found.get(f"/feed.{fmt}?q=Rosenheim")
        found.get(f"/feed.{fmt}", private=True)
        found.get(f"/topics/verkehr/feed.{fmt}", private=True)
    walk_pages(found)
    dump(found)
    return found


def xml_links(served: Served) -> dict[str, str]:
    root = etree.fromstring(served.body)
    parent = root if served.fmt == "atom" else root.find("channel")
    assert parent is not None
    return {link.get("rel", ""): link.get("href", "") for link in parent.findall(f"{ATOM}link")}


def walk_pages(corpus: Corpus) -> None:
    """Every page of a paged feed, both ways, in both XML formats."""
    for fmt in ("atom", "rss"):
        seen: set[str] = set()
        todo = [f"/cities/rosenheim/feed.{fmt}?limit=3"]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            links = xml_links(corpus.get(path))
            for rel in ("next", "previous", "prev-archive", "next-archive", "current", "first"):
                if rel in links:
                    todo.append(links[rel].removeprefix(BASE_URL))


def dump(corpus: Corpus) -> None:
    target = os.environ.get("FEEDSVC_CORPUS_DIR")
    if not target:
        return
    directory = Path(target)
    directory.mkdir(parents=True, exist_ok=True)
    for n, served in enumerate(corpus.served):
        name = re.sub(r"[^A-Za-z0-9.]+", "_", served.path.strip("/")) or "root"
        prefix = "private_" if served.private else ""
        path = directory / f"{n:03d}_{prefix}{name}"
        path.write_bytes(served.body)
        path.with_name(path.name + ".url").write_text(served.url)


def xml_feeds(corpus: Corpus) -> Iterator[Served]:
    return (served for served in corpus.served if served.fmt in ("atom", "rss"))


def parse(served: Served) -> feedparser.FeedParserDict:
    result = feedparser.parse(served.body)
    assert not result.bozo, (served.url, result.get("bozo_exception"))
    return result


def rfc3339(value: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", value), value  # whole seconds
    return datetime.fromisoformat(value)


def rfc2822(value: str) -> datetime:
    parsed = email.utils.parsedate_to_datetime(value)
    assert email.utils.format_datetime(parsed) == value, value
    return parsed


# --- what readers see ---------------------------------------------------------------------------


def check_every_feed_parses_without_a_warning_and_shows_the_stored_text(corpus: Corpus) -> None:
    assert len(corpus.served) > 40
    for served in xml_feeds(corpus):
        data = served.body
        result = parse(served)
        for entry in result.entries:
            stored = corpus.releases[entry.id]
            assert not stored["retracted"], served.url
            assert shown_text(entry.title_detail) == stored["title"], served.url
            assert shown_summary(entry, data) == stored["summary"], (served.url, entry.id)
            if served.fmt == "atom":
                assert entry.author_detail["name"] == stored["author"]
                assert entry.author_detail.get("email") == stored["email"]
            else:
                assert entry.author == stored["author"]
    for served in corpus.served:
        if served.fmt != "json":
            continue
        doc = json.loads(served.body)
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
        for item in doc["items"]:
            stored = corpus.releases[item["id"]]
            assert (item["title"], item.get("summary", "")) == (stored["title"], stored["summary"])
            assert item["authors"][0]["name"] == stored["author"]
            captions = [(media["caption"], media["credit"]) for media in item.get("_media", [])]
            assert captions == [(caption, credit) for caption, credit, _ in stored["images"]]


def check_hostile_text_is_stored_as_meant_and_reaches_readers_as_text(corpus: Corpus) -> None:
    guids = {stored["id"]: guid for guid, stored in corpus.releases.items()}
    by_name = {name: corpus.releases[guids[release_id]] for name, release_id in corpus.ids.items()}
    assert by_name["entities"]["title"] == "Grüße & „Glück“ äöüß „Zitat“ fett ©"
    assert by_name["literal tags"]["title"] == "Tom &amp; Jerry: a < b, 3<4 > 2, ]]> \"x\" 'y'"
    assert by_name["literal tags"]["summary"] == (
        '<script>alert(1)</script> <ok> &amp; ]]> "Zitat" <img src=x onerror=alert(2)>'
    )
    assert by_name["literal tags"]["author"] == "Redaktion &amp; Co. < 3"
    assert by_name["controls"]["title"] == "Zeile eins zwei\u200bdrei"
    assert by_name["controls"]["summary"] == "Kurz gesagt: Sperrung"
    caption = "< Blick > über den Inn &amp; die Brücke"
    assert by_name["images"]["images"][0] == (caption, "Foto: Müller & Söhne", 0)
    rss = next(s for s in corpus.served if s.path == "/cities/rosenheim/feed.rss")
    # No element where text was stored, in every element RSS readers read as HTML.
    for element in etree.fromstring(rss.body).iter("title", "description", f"{MEDIA}description"):
        assert html_reading(element.text or "")[1] == [], element.text
    # Plain-text elements hold no markup either: text.plain_text leaves none to find.
    for element in etree.fromstring(rss.body).iter(f"{MEDIA}credit", f"{DC}creator", "category"):
        assert html_reading(element.text or "")[1] == [], element.text


def check_media_captions_and_credits_are_the_stored_text(corpus: Corpus) -> None:
    for served in xml_feeds(corpus):
        root = etree.fromstring(served.body)
        entries = root.iter(f"{ATOM}entry") if served.fmt == "atom" else root.iter("item")
        for entry in entries:
            guid = entry.findtext(f"{ATOM}id") if served.fmt == "atom" else entry.findtext("guid")
            media = entry.findall(f"{MEDIA}content")
            expected = [(caption, credit) for caption, credit, _ in corpus.releases[guid or ""]["images"]]
            seen = []
            for content in media:
                description = content.find(f"{MEDIA}description")
                assert description is not None and description.get("type") == "html"
                text, markup = html_reading(description.text or "")
                assert not markup
                seen.append((text, content.findtext(f"{MEDIA}credit")))
            assert seen == expected, served.url


# --- the validator's rules ----------------------------------------------------------------------


def check_one_author_element_per_rss_item(corpus: Corpus) -> None:
    for served in xml_feeds(corpus):
        if served.fmt != "rss":
            continue
        for item in etree.fromstring(served.body).iter("item"):
            assert len(item.findall("author")) + len(item.findall(f"{DC}creator")) == 1, served.url


def check_lengths_are_positive_or_left_out(corpus: Corpus) -> None:
    for served in xml_feeds(corpus):
        root = etree.fromstring(served.body)
        for content in root.iter(f"{MEDIA}content"):
            assert content.get("fileSize") is None or int(content.get("fileSize", "")) > 0
        for link in root.iter(f"{ATOM}link"):
            assert link.get("length") is None or int(link.get("length", "")) > 0
        for enclosure in root.iter("enclosure"):
            # RSS requires the attribute; the RSS Advisory Board asks for 0 when unknown.
            assert enclosure.get("length", "").isdigit(), served.url
    unknown = corpus.releases[next(g for g, r in corpus.releases.items() if r["id"] == corpus.ids["images"])]
    assert [length for _, _, length in unknown["images"]] == [0, 123456]
    rss = next(s for s in corpus.served if s.path == "/feed.rss")
    item = next(
        i for i in etree.fromstring(rss.body).iter("item") if i.findtext("title") == "Blick über den Inn"
    )
    assert [e.get("length") for e in item.findall("enclosure")] == ["0"]
    assert [c.get("fileSize") for c in item.findall(f"{MEDIA}content")] == [None, "123456"]
    json_feed = json.loads(next(s for s in corpus.served if s.path == "/feed.json").body)
    images = next(i for i in json_feed["items"] if i["title"] == "Blick über den Inn")["attachments"]
    assert ["size_in_bytes" in attachment for attachment in images] == [False, True]


def _instants(served: Served) -> tuple[datetime, list[datetime]]:
    """The feed's date and every other date in it (entries, tombstones)."""
    root = etree.fromstring(served.body)
    if served.fmt == "atom":
        feed_date = rfc3339(root.findtext(f"{ATOM}updated", ""))
        dates = [rfc3339(e.text or "") for e in root.iter(f"{ATOM}published", f"{ATOM}updated")]
        dates += [
            rfc3339(t.get("when", ""))
            for t in root.iter("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
        ]
        return feed_date, dates
    feed_date = rfc2822(root.findtext("channel/lastBuildDate", ""))
    return feed_date, [rfc2822(e.text or "") for e in root.iter("pubDate")]


def check_dates_are_whole_seconds_and_never_newer_than_the_feed(corpus: Corpus) -> None:
    now = corpus.clock.now
    for served in corpus.served:
        if served.fmt == "json":
            for item in json.loads(served.body)["items"]:
                for key in ("date_published", "date_modified"):
                    rfc3339(item[key])
            continue
        feed_date, dates = _instants(served)
        assert feed_date <= now, served.url  # journalist feeds too: never the embargo instant
        assert all(date <= feed_date for date in dates), served.url
        assert "Last-Modified" in served.headers, served.url


def check_self_is_the_url_served(corpus: Corpus) -> None:
    for served in corpus.served:
        if served.fmt == "json":
            assert json.loads(served.body)["feed_url"] == served.url
        else:
            assert xml_links(served)["self"] == served.url


def check_a_non_canonical_url_redirects_to_the_one_self_names(corpus: Corpus) -> None:
    client = corpus.client
    for asked, canonical in [
        ("/feed.atom?limit=50", "/feed.atom"),
        ("/feed.rss?utm_source=newsletter&utm_medium=mail", "/feed.rss"),
        ("/feed.atom?limit=3&q=Rosenheim", "/feed.atom?q=Rosenheim&limit=3"),
        ("/feed.json?q=%20Rosenheim%20", "/feed.json?q=Rosenheim"),
        ("/cities/rosenheim/feed.atom?limit=3&utm_source=x", "/cities/rosenheim/feed.atom?limit=3"),
    ]:
        response = client.get(asked)
        assert (response.status_code, response.headers["Location"]) == (301, canonical), asked
        assert client.get(canonical).status_code == 200
    assert client.get("/feed.atom?q=a+b").status_code == client.get("/feed.atom?q=a%20b").status_code == 200


def check_archives_link_each_other_both_ways(corpus: Corpus) -> None:
    for fmt in ("atom", "rss"):
        pages = {s.url: s for s in corpus.served if s.fmt == fmt and "/cities/rosenheim/" in s.url}
        current = pages[f"{BASE_URL}/cities/rosenheim/feed.{fmt}?limit=3"]
        chain = [current]
        while "prev-archive" in xml_links(chain[-1]):
            chain.append(pages[xml_links(chain[-1])["prev-archive"]])
        assert len(chain) >= 3, [s.url for s in chain]
        for newer, older in itertools.pairwise(chain):
            links = xml_links(older)
            assert links["next-archive"] == newer.url
            assert links["current"] == current.url
            assert (
                etree.fromstring(older.body).find(".//{http://purl.org/syndication/history/1.0}archive")
                is not None
            )
        assert "next-archive" not in xml_links(current)
        ids = [entry.id for page in chain for entry in parse(page).entries]
        visible = [
            g for g, r in corpus.releases.items() if not r["retracted"] and r["id"] != corpus.ids["embargoed"]
        ]
        rosenheim = {
            e.id
            for e in parse(
                next(s for s in corpus.served if s.path == f"/cities/rosenheim/feed.{fmt}")
            ).entries
        }
        assert len(ids) == len(set(ids)) and set(ids) == rosenheim and rosenheim <= set(visible)


def check_rss_ttl_never_promises_longer_than_cache_control(corpus: Corpus) -> None:
    for served in corpus.served:
        if served.fmt != "rss":
            continue
        ttl = etree.fromstring(served.body).findtext("channel/ttl")
        if served.private:
            assert ttl is None and served.headers["Cache-Control"] == "private, no-store"
            continue
        max_age = int(served.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
        # A first page's max-age counts down to the next grid point while its bytes stay the
        # same, embargo pending or not: no <ttl> could follow it. An archive's is fixed.
        if "after=" in served.path:
            assert ttl is not None and int(ttl) * 60 <= max_age, served.url
        else:
            assert ttl is None, served.url


def check_every_xml_feed_names_its_stylesheet(corpus: Corpus) -> None:
    for served in xml_feeds(corpus):
        assert served.body.split(b"\n")[1] == (
            f'<?xml-stylesheet type="text/xsl" href="{BASE_URL}/static/feed.xsl"?>'.encode()
        )


# --- the three formats agree --------------------------------------------------------------------


def _entries(served: Served) -> list[tuple[str, str, str, datetime]]:
    """(id, title as shown, link, published) of every entry."""
    if served.fmt == "json":
        return [
            (item["id"], item["title"], item["url"], rfc3339(item["date_published"]))
            for item in json.loads(served.body)["items"]
        ]
    result = parse(served)
    return [
        (
            entry.id,
            shown_text(entry.title_detail),
            entry.link,
            datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC),
        )
        for entry in result.entries
    ]


def check_atom_rss_and_json_list_the_same_ids_titles_links_and_instants(corpus: Corpus) -> None:
    by_path: dict[tuple[str, bool], dict[str, Served]] = {}
    for served in corpus.served:
        by_path.setdefault((served.path.replace(f".{served.fmt}", ".FMT", 1), served.private), {})[
            served.fmt
        ] = served
    compared = 0
    for (path, _private), formats in by_path.items():
        if set(formats) != set(FORMATS):
            continue
        atom, rss, json_feed = (_entries(formats[fmt]) for fmt in FORMATS)
        assert atom == rss == json_feed, path
        compared += 1
    assert compared >= len(SUBJECTS) + 3


def check_links_stay_put_when_a_title_is_corrected(corpus: Corpus) -> None:
    corrected = next(g for g, r in corpus.releases.items() if r["id"] == corpus.ids["corrected"])
    release_id = corpus.ids["corrected"]
    atom = parse(next(s for s in corpus.served if s.path == "/feed.atom"))
    entry = next(e for e in atom.entries if e.id == corrected)
    assert shown_text(entry.title_detail) == "Stadtfest am Sonntag & Montag"
    assert entry.link == f"{BASE_URL}/releases/{release_id}-stadtfest-am-samstag"
    assert corpus.client.get(entry.link.removeprefix(BASE_URL)).status_code == 200  # the page's own URL
    moved = corpus.client.get(f"/releases/{release_id}-stadtfest-am-sonntag-montag")
    assert (moved.status_code, moved.headers["Location"]) == (301, entry.link.removeprefix(BASE_URL))


def check_journalist_feeds_are_compressed_and_dated_by_their_last_change(corpus: Corpus) -> None:
    headers = {"Authorization": f"Bearer {corpus.journalist}", "Accept-Encoding": "gzip, br"}
    response = corpus.client.get("/topics/verkehr/feed.atom", headers=headers)
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Vary"] == "Authorization, Accept-Encoding"
    modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified <= corpus.clock.now
    again = corpus.client.get(
        "/topics/verkehr/feed.atom", headers={**headers, "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    private = next(s for s in corpus.served if s.private and s.path == "/topics/verkehr/feed.atom")
    entry = parse(private).entries[0]
    assert entry.title == "Haushalt 2027 unter Sperrfrist"
    assert "SPERRFRIST bis 27.11.2026 12:00 Uhr" in entry.content[0].value


# --- the tests: each builds the corpus once (about a second) and checks a group of rules --------


def test_readers_see_the_stored_text_alike_in_every_format(corpus: Corpus) -> None:
    check_every_feed_parses_without_a_warning_and_shows_the_stored_text(corpus)
    check_hostile_text_is_stored_as_meant_and_reaches_readers_as_text(corpus)
    check_media_captions_and_credits_are_the_stored_text(corpus)
    check_atom_rss_and_json_list_the_same_ids_titles_links_and_instants(corpus)


def test_the_rules_of_the_w3c_feed_validator_hold(corpus: Corpus) -> None:
    check_one_author_element_per_rss_item(corpus)
    check_lengths_are_positive_or_left_out(corpus)
    check_dates_are_whole_seconds_and_never_newer_than_the_feed(corpus)
    check_self_is_the_url_served(corpus)
    check_archives_link_each_other_both_ways(corpus)
    check_rss_ttl_never_promises_longer_than_cache_control(corpus)
    check_every_xml_feed_names_its_stylesheet(corpus)


def test_feeds_answer_at_one_url_links_stay_and_journalists_get_compressed_feeds(corpus: Corpus) -> None:
    check_a_non_canonical_url_redirects_to_the_one_self_names(corpus)
    check_links_stay_put_when_a_title_is_corrected(corpus)
    check_journalist_feeds_are_compressed_and_dated_by_their_last_change(corpus)
