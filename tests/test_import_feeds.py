"""`feedsvc import FEED --city …`: RSS 2.0, Atom and JSON Feed documents of a city's own
site, from files and from URLs (a real HTTP server on loopback), as releases: relative URLs
made absolute, bodies sanitised, images, topics through a mapping, dates with and without
zones; a second import adds what is new and corrects what changed; documents that are no
feed are refused with one line and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.models import OutboxEntry, Release
from feedsvc.publishing.feed_reading import document_kind
from feedsvc.worker.fetch import Fetched, FetchFailed, NotModified, fetch
from tests.feed_server import FeedServer, feed_server

DATA = Path(__file__).resolve().parent / "data"
RSS = DATA / "feed_rosenheim.rss"
ATOM = DATA / "feed_bad_aibling.atom"
ROSENHEIM = "https://www.rosenheim.example"
AIBLING = "https://www.bad-aibling.example/aktuelles"


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "themen.json"
    path.write_text(json.dumps({"Verkehr": "verkehr-mobilitaet", "Pressemitteilung": None}), encoding="utf-8")
    return path


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def release_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Release)) or 0


def imported(app: Flask, external_id: str) -> Release:
    with app.app_context():
        session = db.session()
        release = session.scalars(select(Release).where(Release.external_id == external_id)).one()
        release.topics, release.images  # noqa: B018 - loaded before the session closes
        session.expunge_all()
        return release


def topics_of(release: Release) -> list[str]:
    return [topic.slug for topic in release.topics]


def images_of(release: Release) -> list[tuple[str, str, int]]:
    return [(image.url, image.media_type, image.length) for image in release.images]


def run_import(runner: FlaskCliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(args=["import", *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_rss_feed_of_a_city_site_becomes_its_releases(
    sample_app: Flask, runner: FlaskCliRunner, mapping: Path
) -> None:
    before = release_count(sample_app)
    code, out, err = run_import(runner, str(RSS), "--city", "rosenheim", "--topics", str(mapping))
    assert code == 0, out + err
    assert (
        "imported 4 items from feed_rosenheim.rss (RSS 2.0): 4 new, 0 changed, 0 unchanged, 0 failed" in out
    )
    assert "categories without a topic: Baustellen (1), Stadtrat (1)" in out
    assert release_count(sample_app) == before + 4

    bridge = imported(sample_app, "ro-2026-0412")
    assert bridge.title == "Innbrücke ab Montag gesperrt"
    assert bridge.publisher.name == "Pressestelle der Stadt Rosenheim"
    assert bridge.author == "Pressestelle der Stadt Rosenheim"
    assert bridge.city.slug == "rosenheim"
    assert topics_of(bridge) == ["verkehr-mobilitaet"]
    # +01:00 kept as the instant it names.
    assert bridge.published_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert bridge.source_url == f"{ROSENHEIM}/presse/2026/innbruecke-gesperrt.html"
    # Relative links and images resolve against the feed's link; script and handlers are gone.
    assert f'href="{ROSENHEIM}/presse/umleitungsplan.pdf"' in bridge.body_html
    assert f'href="{ROSENHEIM}/verkehr/baustellen/"' in bridge.body_html
    assert f'src="{ROSENHEIM}/fileadmin/bilder/innbruecke-karte.png"' in bridge.body_html
    assert "script" not in bridge.body_html and "trackPageView" not in bridge.body_html
    assert "onclick" not in bridge.body_html and "Straßenbauamt" in bridge.body_html
    assert images_of(bridge) == [(f"{ROSENHEIM}/fileadmin/bilder/innbruecke.jpg", "image/jpeg", 48213)]

    library = imported(sample_app, f"{ROSENHEIM}/presse/2026/stadtbibliothek.html")
    assert topics_of(library) == ["kultur"], "a category of a topic's name needs no mapping"
    assert f'href="{ROSENHEIM}/bibliothek/programm.html"' in library.body_html
    # The same image as enclosure (length 0) and media:content (fileSize): one image, its size known.
    assert images_of(library) == [(f"{ROSENHEIM}/fileadmin/bilder/bibliothek.png", "image/png", 120400)]

    family = imported(sample_app, "ro-2026-0415")
    assert topics_of(family) == ["soziales-familie"]
    assert family.published_at == datetime(2026, 11, 25, 7, 15, tzinfo=UTC), "MEZ is +01:00"
    assert "kostenlos – " in family.body_html and f'href="{ROSENHEIM}/familie/"' in family.body_html
    # The PDF is no image; the image's size is unknown: 0, never written as a length.
    assert images_of(family) == [(f"{ROSENHEIM}/fileadmin/bilder/familienstuetzpunkt.jpg", "image/jpeg", 0)]

    recycling = imported(sample_app, "ro-2026-0416")
    assert topics_of(recycling) == []
    assert recycling.published_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "no zone: Europe/Berlin"
    # A description of plain text becomes a paragraph, as a plain-text body does in the API.
    assert recycling.body_html.startswith("<p>Der Wertstoffhof")


def test_the_imported_releases_are_in_the_citys_feeds_without_a_length_of_0(
    sample_app: Flask, runner: FlaskCliRunner, mapping: Path
) -> None:
    code, out, err = run_import(runner, str(RSS), "--city", "rosenheim", "--topics", str(mapping))
    assert code == 0, out + err
    response = sample_app.test_client().get("/cities/rosenheim/feed.atom")
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entries = {entry.title: entry for entry in parsed.entries}
    family = entries["Neuer Familienstützpunkt in der Innenstadt"]
    enclosure = next(link for link in family.links if link.rel == "enclosure")
    assert enclosure.href == f"{ROSENHEIM}/fileadmin/bilder/familienstuetzpunkt.jpg"
    assert "length" not in enclosure, "an unknown size is left out"
    bridge = entries["Innbrücke ab Montag gesperrt"]
    assert next(link for link in bridge.links if link.rel == "enclosure").length == "48213"


def test_an_atom_feed_resolves_against_its_xml_base(sample_app: Flask, runner: FlaskCliRunner) -> None:
    code, out, err = run_import(runner, str(ATOM), "--city", "bad-aibling")
    assert code == 0, out + err
    assert "(Atom 1.0): 3 new, 0 changed, 0 unchanged, 0 failed" in out
    assert "categories without a topic" not in out

    budget = imported(sample_app, "tag:bad-aibling.example,2026:aktuelles/haushalt-2027")
    assert budget.title == "Haushalt 2027: Stadtrat berät über Investitionen & Schulden"
    assert budget.publisher.name == "Pressestelle der Stadt Bad Aibling"
    # By label ("Rathaus & Politik") and by slug ("wirtschaft").
    assert set(topics_of(budget)) == {"rathaus-politik", "wirtschaft"}
    assert budget.published_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert budget.source_url == f"{AIBLING}/2026/haushalt-2027.html", "the entry's own xml:base"
    assert f'href="{AIBLING}/2026/haushaltsplan-2027.pdf"' in budget.body_html
    assert f'src="{AIBLING}/2026/bilder/grafik-investitionen.png"' in budget.body_html
    assert images_of(budget) == [(f"{AIBLING}/2026/bilder/sitzungssaal.jpg", "image/jpeg", 88000)]

    lights = imported(sample_app, "tag:bad-aibling.example,2026:aktuelles/winterbeleuchtung")
    assert topics_of(lights) == ["tourismus"]
    assert f'href="{AIBLING}/kurpark.html"' in lights.body_html
    assert images_of(lights) == [(f"{AIBLING}/bilder/kurpark-lichter.webp", "image/webp", 51200)]

    office_hours = imported(sample_app, "tag:bad-aibling.example,2026:aktuelles/sprechstunde")
    # No <published>: its <updated>, without a zone, in Europe/Berlin.
    assert office_hours.published_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert office_hours.body_html.count("<p>") == 2, "a plain-text summary becomes paragraphs"


def test_importing_again_corrects_what_changed_and_leaves_the_rest(
    sample_app: Flask, runner: FlaskCliRunner, mapping: Path, tmp_path: Path
) -> None:
    args = ("--city", "rosenheim", "--topics", str(mapping))
    assert run_import(runner, str(RSS), *args)[0] == 0
    first = imported(sample_app, f"{ROSENHEIM}/presse/2026/stadtbibliothek.html")
    count = release_count(sample_app)

    code, out, _ = run_import(runner, str(RSS), *args)
    assert code == 0
    assert "0 new, 0 changed, 4 unchanged, 0 failed" in out

    changed = tmp_path / "feed.rss"
    changed.write_text(RSS.read_text(encoding="utf-8").replace("bis 18&nbsp;Uhr", "bis 20&nbsp;Uhr"))
    code, out, _ = run_import(runner, str(changed), *args)
    assert code == 0
    assert "0 new, 1 changed, 3 unchanged, 0 failed" in out
    assert release_count(sample_app) == count
    corrected = imported(sample_app, f"{ROSENHEIM}/presse/2026/stadtbibliothek.html")
    assert corrected.id == first.id and corrected.guid == first.guid
    assert corrected.revision == first.revision + 1
    assert "20\u00a0Uhr" in corrected.body_html
    with sample_app.app_context():
        kinds = db.session().scalars(select(OutboxEntry.kind).where(OutboxEntry.release_id == first.id)).all()
    assert kinds == ["published", "corrected"], "the correction is delivered like any other"


def test_an_html_page_is_refused_naming_its_feeds(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    page = tmp_path / "presse.rss"  # the name says feed; the content says otherwise
    page.write_text(
        """<!DOCTYPE html>
<html lang="de"><head><title>Presse</title><base href="https://www.rosenheim.example/presse/">
<link rel="alternate" type="application/rss+xml" title="RSS" href="rss.xml">
<link rel="alternate" type="application/atom+xml" href="https://www.rosenheim.example/presse/atom.xml">
<link rel="stylesheet" href="/style.css"></head><body><h1>Pressemitteilungen</h1></body></html>""",
        encoding="utf-8",
    )
    before = release_count(sample_app)
    code, _, err = run_import(runner, str(page), "--city", "rosenheim")
    assert code == 1
    assert err.splitlines() == [
        "presse.rss: this is an HTML page, not a feed; its feed links are: "
        f"{ROSENHEIM}/presse/rss.xml, {ROSENHEIM}/presse/atom.xml",
        "nothing was imported",
    ]
    assert release_count(sample_app) == before


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Presse</title>\n'
            b"<item><title>Innbr\xc3\xbccke</item></channel></rss>",
            "not well-formed XML (line 3, column 24): mismatched tag",
        ),
        (
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "not an RSS, Atom or JSON feed (its root element is <urlset>)",
        ),
        (b"", "the document is empty"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}',
            "this JSON Feed has no list of 'items'",
        ),
    ],
)
def test_a_document_that_is_no_feed_is_refused_in_one_line(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path, document: bytes, message: str
) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(document)
    before = release_count(sample_app)
    code, _, err = run_import(runner, str(path), "--city", "rosenheim")
    assert code == 1
    assert err.splitlines() == [f"feed.xml: {message}", "nothing was imported"]
    assert release_count(sample_app) == before


def feed_with(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Presse</title>'
        f"<link>{ROSENHEIM}/presse/</link>{''.join(items)}</channel></rss>"
    )


def item(guid: str, date: str = "Mo, 23 Nov 2026 09:00:00 +0100", body: str = "Text der Mitteilung.") -> str:
    return (
        f"<item><title>Mitteilung {guid}</title><guid>{guid}</guid><pubDate>{date}</pubDate>"
        f"<description>{body}</description></item>"
    )


def test_an_item_that_cannot_be_imported_stops_the_import_unless_told_otherwise(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "feed.rss"
    path.write_text(
        feed_with(
            item("a-1"), item("a-2", date="gestern"), item("a-3", body="&lt;script&gt;x&lt;/script&gt;")
        ),
        encoding="utf-8",
    )
    before = release_count(sample_app)
    code, _, err = run_import(runner, str(path), "--city", "rosenheim")
    assert code == 1
    assert err.splitlines() == [
        "item 2 (a-2): published_at: 'gestern' is no date feedsvc can read",
        "item 3 (a-3): body: must contain text after sanitising",
        "nothing was imported: 2 of 3 items failed (--skip-failed imports the others)",
    ]
    assert release_count(sample_app) == before

    code, out, err = run_import(runner, str(path), "--city", "rosenheim", "--skip-failed")
    assert code == 0, err
    assert "1 new, 0 changed, 0 unchanged, 2 failed" in out
    assert "item 2 (a-2): published_at" in err
    assert release_count(sample_app) == before + 1


def test_what_is_wrong_with_the_import_as_a_whole_is_said_before_anything_is_written(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    before = release_count(sample_app)
    code, _, err = run_import(runner, str(RSS), "--city", "atlantis")
    assert (code, err.splitlines()[0]) == (1, "unknown city 'atlantis'")

    bad = tmp_path / "themen.json"
    bad.write_text(json.dumps({"Verkehr": "verkehr", "Kultur": ["kultur", "Theater"], "Bauen": 3}))
    code, _, err = run_import(runner, str(RSS), "--city", "rosenheim", "--topics", str(bad))
    assert code == 1
    assert err.splitlines() == [
        "themen.json: 'Kultur': must be a topic slug, a list of topic slugs, or null",
        "themen.json: 'Bauen': must be a topic slug, a list of topic slugs, or null",
        "nothing was imported",
    ]
    bad.write_text(json.dumps({"Verkehr": "verkehr"}))
    code, _, err = run_import(runner, str(RSS), "--city", "rosenheim", "--topics", str(bad))
    assert (code, err.splitlines()[0]) == (1, "themen.json: 'Verkehr': unknown topic 'verkehr'")

    result = runner.invoke(args=["import", str(RSS)])
    assert result.exit_code == 2
    assert "feed_rosenheim.rss is a feed (RSS 2.0): name the city it is for with --city SLUG" in result.output

    records = tmp_path / "releases.jsonl"
    records.write_text('{"city": "rosenheim", "title": "T", "body": "<p>B</p>"}\n')
    result = runner.invoke(args=["import", str(records), "--city", "rosenheim"])
    assert result.exit_code == 2
    assert "--city, --topics and --skip-failed are for feeds" in result.output

    result = runner.invoke(args=["import", str(tmp_path / "missing.rss")])
    assert result.exit_code == 2 and "no such file" in result.output
    assert release_count(sample_app) == before


def test_a_json_feed_is_imported_too(sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Stadt Rosenheim",
                "home_page_url": f"{ROSENHEIM}/presse/",
                "language": "de",
                "items": [
                    {
                        "id": 4711,
                        "url": "2026/eisstadion.html",
                        "title": "Eisstadion &amp; Eishalle öffnen",
                        "content_html": '<p>Das <a href="eis.html">Eisstadion</a> öffnet.</p>',
                        "date_published": "2026-11-22T10:00:00+01:00",
                        "tags": ["Sport & Freizeit", "Pressemitteilung"],
                        "image": "/bilder/eis.jpg",
                        "attachments": [
                            {"url": "/bilder/eis.jpg", "mime_type": "image/jpeg", "size_in_bytes": 3000},
                            {"url": "/plan.pdf", "mime_type": "application/pdf", "size_in_bytes": 9},
                        ],
                        "authors": [{"name": "Pressestelle"}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    assert document_kind(path.read_bytes()) == "feed"
    code, out, err = run_import(runner, str(path), "--city", "rosenheim")
    assert code == 0, err
    assert "(JSON Feed 1.1): 1 new" in out
    assert "categories without a topic: Pressemitteilung (1)" in out
    release = imported(sample_app, "4711")
    assert release.title == "Eisstadion &amp; Eishalle öffnen", "a JSON Feed title is plain text"
    assert topics_of(release) == ["sport-freizeit"]
    assert release.source_url == f"{ROSENHEIM}/presse/2026/eisstadion.html"
    assert f'href="{ROSENHEIM}/presse/eis.html"' in release.body_html
    assert images_of(release) == [(f"{ROSENHEIM}/bilder/eis.jpg", "image/jpeg", 3000)]
    assert release.author == "Pressestelle"


def test_a_feed_is_imported_from_its_url_following_redirects(
    sample_app: Flask, runner: FlaskCliRunner, server: FeedServer, mapping: Path
) -> None:
    server.serve("/presse/rss.xml", RSS.read_bytes(), etag='"v1"')
    server.serve("/rss", status=301, location="/presse/rss.xml")
    url = f"{server.url}/rss"
    code, out, err = run_import(runner, url, "--city", "rosenheim", "--topics", str(mapping))
    assert code == 0, err
    assert f"imported 4 items from {url} (RSS 2.0): 4 new" in out
    [request] = server.requests_of("/presse/rss.xml")
    assert "if-none-match" not in request.headers
    assert "application/rss+xml" in request.headers["accept"]
    # The feed's own link, not the server it came from, is what relative URLs resolve against.
    assert (
        imported(sample_app, "ro-2026-0412").source_url == f"{ROSENHEIM}/presse/2026/innbruecke-gesperrt.html"
    )


def test_a_url_that_gives_no_feed_is_refused_in_one_line(
    sample_app: Flask, runner: FlaskCliRunner, server: FeedServer
) -> None:
    server.serve(
        "/presse/",
        b'<!doctype html><html><head><link rel="alternate" type="application/atom+xml" href="feed.atom">'
        b"</head><body>Presse</body></html>",
        content_type="text/html; charset=utf-8",
    )
    server.serve("/kaputt", status=500)
    before = release_count(sample_app)
    host = server.url.removeprefix("http://")
    cases = {
        f"{server.url}/presse/": (
            f"this is an HTML page, not a feed; its feed links are: {server.url}/presse/feed.atom"
        ),
        f"{server.url}/fehlt.rss": f"HTTP 404 Not Found from {host}",
        f"{server.url}/kaputt": f"HTTP 500 Internal Server Error from {host}",
        "https://presse.rosenheim.invalid/rss.xml": (
            "cannot resolve the host name 'presse.rosenheim.invalid' (DNS)"
        ),
    }
    for url, message in cases.items():
        code, _, err = run_import(runner, url, "--city", "rosenheim")
        assert code == 1, url
        assert err.splitlines() == [f"{url}: {message}", "nothing was imported"]
    assert release_count(sample_app) == before


def test_fetching_is_bounded_in_size_and_time(server: FeedServer) -> None:
    server.serve("/gross.rss", b"<rss>" + b" " * 5000 + b"</rss>")
    with pytest.raises(FetchFailed, match=r"^the feed is larger than 1000 bytes \(5011 bytes\)$"):
        fetch(f"{server.url}/gross.rss", max_bytes=1000)
    slow = server.serve("/langsam.rss", b"<rss/>")
    slow.released.clear()
    host = server.url.removeprefix("http://")
    with pytest.raises(FetchFailed, match=rf"^no answer from {host} within 0.3 s$"):
        fetch(f"{server.url}/langsam.rss", timeout=0.3)
    slow.released.set()
    server.serve("/etag.rss", b"<rss/>", etag='"abc"', last_modified="Wed, 25 Nov 2026 08:00:00 GMT")
    answer = fetch(f"{server.url}/etag.rss")
    assert isinstance(answer, Fetched) and (answer.etag, answer.last_modified) == (
        '"abc"',
        "Wed, 25 Nov 2026 08:00:00 GMT",
    )
    assert isinstance(fetch(f"{server.url}/etag.rss", etag='"abc"'), NotModified)
    server.serve("/kreis", status=302, location="/kreis")
    with pytest.raises(FetchFailed, match="more than 10 redirects"):
        fetch(f"{server.url}/kreis")
    server.serve("/datei", status=302, location="file:///etc/passwd")
    with pytest.raises(FetchFailed, match="not an http"):
        fetch(f"{server.url}/datei")
