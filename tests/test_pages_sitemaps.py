"""For search engines: robots.txt, /sitemap.xml (an index of child sitemaps past 50,000
URLs, paged by id range), the Google News sitemap; embargoed and retracted releases
never appear, and sitemaps are cached like feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import text

from feedsvc import db, paths
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store import browse
from feedsvc.web.pages import sitemaps
from tests.conftest import BASE_URL, FakeClock
from tests.databases import fill_once
from tests.factories import add_release, get_release, make_catalog, patch_release, retract

NS = {"s": sitemaps.SITEMAP_NS, "n": sitemaps.NEWS_NS}


def xml_of(client: FlaskClient, path: str) -> etree._Element:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.content_type == "application/xml; charset=utf-8"
    return etree.fromstring(response.data)


def locations(doc: etree._Element) -> dict[str, str | None]:
    """loc → lastmod of a urlset."""
    return {
        str(url.findtext("s:loc", namespaces=NS)): url.findtext("s:lastmod", namespaces=NS)
        for url in doc.iterfind("s:url", NS)
    }


def release_url(app: Flask, release_id: int) -> str:
    return BASE_URL + paths.release_path(get_release(app, release_id))


@pytest.fixture
def archive(app: Flask, clock: FakeClock) -> dict[str, int]:
    def fill() -> dict[str, int]:
        make_catalog(app)
        return {
            "old": add_release(app, title="Stadtrat tagt", topics=("verkehr",), minutes_ago=60 * 24 * 400),
            "recent": add_release(app, title="Neue Buslinie", topics=("verkehr",), minutes_ago=60),
            "munich": add_release(app, city="muenchen", title="Tram nach Pasing", minutes_ago=60 * 24 * 5),
            "retracted": retracted(app, add_release(app, title="Zurückgezogen", minutes_ago=30)),
            "embargoed": add_release(
                app, title="Sperrfrist", published_at=clock.now + timedelta(seconds=100)
            ),
        }

    return fill_once(app, "old, recent, retracted and embargoed releases, for sitemaps", fill)


def retracted(app: Flask, release_id: int) -> int:
    retract(app, release_id)
    return release_id


def test_robots_txt_keeps_crawlers_out_of_the_publish_form_and_points_at_the_sitemaps(
    client: FlaskClient,
) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert {"Disallow: /publish", "Disallow: /api/"} <= set(lines)
    assert f"Sitemap: {BASE_URL}/sitemap.xml" in lines
    assert f"Sitemap: {BASE_URL}/sitemap-news.xml" in lines
    assert "public" in response.headers["Cache-Control"] and response.headers["ETag"]


def test_the_sitemap_lists_every_public_release_page_and_the_overviews(
    app: Flask, client: FlaskClient, archive: dict[str, int]
) -> None:
    found = locations(xml_of(client, "/sitemap.xml"))
    for name in ("old", "recent", "munich"):
        assert release_url(app, archive[name]) in found, name
    for name in ("retracted", "embargoed"):
        assert not [loc for loc in found if f"/releases/{archive[name]}" in loc], name
    for path in ("/", "/feeds", "/cities/rosenheim", "/topics/verkehr", "/regions/region-rosenheim"):
        assert BASE_URL + path in found, path
    # Published an hour ago, but received now: its page last changed now.
    assert found[release_url(app, archive["recent"])] == "2026-11-25T12:00:00Z"
    assert found[BASE_URL + "/cities/muenchen"] is not None


def test_lastmod_is_the_last_change_of_the_release(
    app: Flask, client: FlaskClient, clock: FakeClock, archive: dict[str, int]
) -> None:
    clock.advance(hours=3)
    patch_release(app, archive["old"], ReleasePatch.model_validate({"correction_note": "Ort korrigiert."}))
    found = locations(xml_of(client, "/sitemap.xml"))
    assert found[release_url(app, archive["old"])] == "2026-11-25T15:00:00Z"


def test_an_embargo_lift_shows_the_release_and_the_max_age_never_told_of_it(
    app: Flask, client: FlaskClient, clock: FakeClock, archive: dict[str, int]
) -> None:
    before = client.get("/sitemap.xml")
    # Until the next full minute (the expiry grid), not until the lift 100 seconds from now.
    assert before.headers["Cache-Control"] == "public, max-age=60"
    clock.advance(seconds=101)
    after = client.get("/sitemap.xml")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert release_url(app, archive["embargoed"]) in locations(etree.fromstring(after.data))
    assert after.headers["Cache-Control"] == "public, max-age=19"


@pytest.mark.usefixtures("archive")
def test_sitemaps_answer_304_to_the_etag_they_gave(client: FlaskClient) -> None:
    for path in ("/sitemap.xml", "/sitemap-news.xml", "/sitemap-pages.xml", "/sitemap-releases-0.xml"):
        first = client.get(path)
        assert "all" in first.headers["xkey"].split(), path
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and not again.data, path


def test_past_50000_urls_the_sitemap_is_an_index_of_id_ranges(
    app: Flask, client: FlaskClient, archive: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitemaps, "MAX_URLS", 5)
    monkeypatch.setattr(sitemaps, "RELEASES_PER_PART", 2)
    for number in range(4):
        add_release(app, title=f"Meldung {number}", minutes_ago=20 + number)
    index = xml_of(client, "/sitemap.xml")
    assert etree.QName(index).localname == "sitemapindex"
    children = [str(loc.text) for loc in index.iterfind("s:sitemap/s:loc", NS)]
    last_id = max(archive.values()) + 4
    assert children == [
        f"{BASE_URL}/sitemap-pages.xml",
        *(f"{BASE_URL}/sitemap-releases-{part}.xml" for part in range(last_id // 2 + 1)),
    ]
    listed: dict[str, str | None] = {}
    for child in children:
        listed |= locations(xml_of(client, child.removeprefix(BASE_URL)))
    releases = {loc for loc in listed if "/releases/" in loc}
    assert len(releases) == 3 + 4
    assert release_url(app, archive["old"]) in releases
    assert BASE_URL + "/cities/rosenheim" in listed
    assert client.get(f"/sitemap-releases-{last_id // 2 + 1}.xml").status_code == 404


@pytest.mark.usefixtures("archive")
def test_a_child_sitemap_answers_304_without_reading_its_releases(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get("/sitemap-releases-0.xml")

    def must_not_render(*args: object) -> list[object]:
        raise AssertionError("rendered although the client holds the current ETag")

    monkeypatch.setattr(browse, "listed_releases", must_not_render)
    assert (
        client.get("/sitemap-releases-0.xml", headers={"If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )


def test_a_child_sitemap_changes_with_a_retraction_in_its_range(
    app: Flask, client: FlaskClient, clock: FakeClock, archive: dict[str, int]
) -> None:
    before = client.get("/sitemap-releases-0.xml")
    clock.advance(seconds=10)
    retract(app, archive["old"])
    after = client.get("/sitemap-releases-0.xml")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert release_url(app, archive["old"]) not in locations(etree.fromstring(after.data))


@pytest.mark.usefixtures("archive")
def test_a_child_sitemap_reads_one_range_of_the_primary_key(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("reads SQLite's query plan")
        compiled = browse.listed_query(datetime(2026, 11, 25, tzinfo=UTC), 10_000, 20_000).compile(
            session.get_bind(), compile_kwargs={"literal_binds": True}
        )
        plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan


def test_the_news_sitemap_lists_the_releases_of_the_last_two_days(
    app: Flask, client: FlaskClient, archive: dict[str, int]
) -> None:
    response = client.get("/sitemap-news.xml")
    doc = etree.fromstring(response.data)
    urls = doc.findall("s:url", NS)
    assert [url.findtext("s:loc", namespaces=NS) for url in urls] == [release_url(app, archive["recent"])]
    news = urls[0].find("n:news", NS)
    assert news is not None
    assert news.findtext("n:publication/n:name", namespaces=NS) == "Kommunale Pressemitteilungen"
    assert news.findtext("n:publication/n:language", namespaces=NS) == "de"
    assert news.findtext("n:publication_date", namespaces=NS) == "2026-11-25T11:00:00Z"
    assert news.findtext("n:title", namespaces=NS) == "Neue Buslinie"
    # Until the next full minute, as every page: the embargo lift 100 seconds from now shortens nothing.
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_the_news_sitemap_is_not_kept_past_its_oldest_entry_leaving_the_window(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    make_catalog(app)
    add_release(app, title="Fast zwei Tage alt", published_at=clock.now - timedelta(hours=48, seconds=-40))
    response = client.get("/sitemap-news.xml")
    assert response.headers["Cache-Control"] == "public, max-age=40"  # before the grid point at 60
    clock.advance(seconds=41)
    assert not etree.fromstring(client.get("/sitemap-news.xml").data).findall("s:url", NS)
