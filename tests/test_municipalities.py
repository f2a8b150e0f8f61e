"""`feedsvc import-municipalities` and feeds by official key: the Destatis GV100AD file and a
CSV read into cities, Kreise, Regierungsbezirke and Länder; a Land's feeds hold its
Gemeinden's releases, with counters that change exactly; `/ags/<key>` leads there.

tests/data/GV100AD_311224_rosenheim.txt is an excerpt in the published layout (220
characters a record, CRLF): Bayern, Oberbayern, the kreisfreie Stadt Rosenheim and the
Landkreis Rosenheim with six of its Gemeinden, each Gemeinde after its Gemeindeverband
record as in the full file.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.migrations import runner as migrations
from feedsvc.models import City, FeedVersion, OutboxEntry, Region
from feedsvc.publishing.importing import ImportFailed
from feedsvc.publishing.municipalities import read_directory
from feedsvc.store import counts
from feedsvc.store.region_tree import Level
from tests.api_support import bearer, make_token, snapshot
from tests.conftest import FakeClock

DATA = Path(__file__).resolve().parent / "data"
GV100 = DATA / "GV100AD_311224_rosenheim.txt"
CSV = DATA / "municipalities_miesbach.csv"
FORMATS = ("atom", "rss", "json")


def gv100_lines() -> list[str]:
    return GV100.read_text(encoding="utf-8").splitlines()


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def with_name(line: str, name: str) -> str:
    """A GV100AD record with another name (positions 23–72)."""
    return line[:22] + name.ljust(50) + line[72:]


def import_file(runner: FlaskCliRunner, path: Path, *options: str) -> Any:
    return runner.invoke(args=["import-municipalities", str(path), *options])


def imported(runner: FlaskCliRunner, path: Path = GV100, *options: str) -> str:
    result = import_file(runner, path, *options)
    assert result.exit_code == 0, result.output
    return str(result.output)


def region(app: Flask, ags: str) -> Region:
    with app.app_context():
        found = db.session().scalars(select(Region).where(Region.ags == ags)).one()
        db.session().expunge(found)
        return found


def city(app: Flask, ags: str) -> City:
    with app.app_context():
        found = db.session().scalars(select(City).where(City.ags == ags)).one()
        db.session().expunge(found)
        return found


def publish(app: Flask, client: FlaskClient, city_slug: str, title: str, **fields: Any) -> int:
    headers = bearer(make_token(app, role="admin", publisher=None))
    record = {"title": title, "body": f"<p>{title}.</p>", "city": city_slug, "topics": [], **fields}
    response = client.post("/api/v1/releases", headers=headers, json=record)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json()["id"])


def feed_titles(client: FlaskClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    if response.mimetype == "application/feed+json":
        return [item["title"] for item in json.loads(response.data)["items"]]
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


def etag(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return str(response.headers["ETag"])


def kept_equals_counted(app: Flask) -> None:
    """The release counts every write keeps are what the releases themselves say."""
    with app.app_context():
        session = db.session()
        kept = {
            key: count for key, count in session.execute(select(FeedVersion.key, FeedVersion.release_count))
        }
        for key, count in counts.counted_releases(session).items():
            assert kept.get(key, 0) == count, key
        db.session().rollback()


# --- reading the file ------------------------------------------------------------------------------


def test_the_gv100ad_excerpt_is_read_at_its_positions() -> None:
    read = read_directory(GV100.read_bytes(), GV100.name)
    assert (read.format, read.encoding, read.as_of) == ("GV100AD", "UTF-8", date(2024, 12, 31))
    assert read.left_out == 7, "the Gemeindeverband records (Satzart 50) are checked, not imported"
    shown = {area.ags: (area.level, area.name) for area in read.areas}
    assert shown == {
        "09": (Level.LAND, "Bayern"),
        "091": (Level.REGIERUNGSBEZIRK, "Oberbayern"),
        "09163": (Level.KREIS, "Stadt Rosenheim"),
        "09163000": (None, "Rosenheim"),
        "09187": (Level.KREIS, "Landkreis Rosenheim"),
        "09187117": (None, "Bad Aibling"),
        "09187122": (None, "Bruckmühl"),
        "09187129": (None, "Bad Feilnbach"),
        "09187130": (None, "Feldkirchen-Westerham"),
        "09187150": (None, "Kolbermoor"),
        "09187162": (None, "Prien a.Chiemsee"),
    }
    assert [area.line for area in read.areas][:3] == [1, 2, 3]


def test_a_latin_1_file_and_its_zip_read_as_the_utf_8_one() -> None:
    utf8 = read_directory(GV100.read_bytes(), GV100.name)
    latin1 = read_directory(GV100.read_text(encoding="utf-8").encode("iso-8859-1"), "GV100AD_alt.txt")
    assert latin1.encoding == "ISO-8859-1"
    assert latin1.areas == utf8.areas
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("GV100AD_311224.txt", GV100.read_bytes())
        bundle.writestr("Datensatzbeschreibung.pdf", b"%PDF-1.4")
    zipped = read_directory(archive.getvalue(), "GV100AD3112.zip")
    assert zipped.areas == utf8.areas


def test_names_keep_what_they_are() -> None:
    """A Kreis says what it is; a Gemeinde's designation after the comma goes."""
    lines = gv100_lines()
    lines[2] = with_name(lines[2], "Heidelberg, Stadtkreis")
    lines[1] = with_name(lines[1], "Reg.-Bez. Oberbayern")
    lines[4] = with_name(lines[4], "Rosenheim, Große Kreisstadt")
    read = read_directory("\n".join(lines).encode(), "x.txt")
    names = {area.ags: area.name for area in read.areas}
    assert names["09163"] == "Stadtkreis Heidelberg"
    assert names["091"] == "Regierungsbezirk Oberbayern"
    assert names["09163000"] == "Rosenheim"


# --- importing --------------------------------------------------------------------------------------


def test_the_directory_becomes_cities_in_a_tree_of_regions(app: Flask, runner: FlaskCliRunner) -> None:
    output = imported(runner)
    assert "GV100AD, Gebietsstand 31.12.2024, read as UTF-8" in output
    assert "regions: 4 created" in output and "cities: 7 created" in output
    bayern, oberbayern = region(app, "09"), region(app, "091")
    landkreis, stadt = region(app, "09187"), region(app, "09163")
    assert (bayern.slug, bayern.level, bayern.parent_id, bayern.state) == ("bayern", "land", None, "Bayern")
    assert (oberbayern.slug, oberbayern.level, oberbayern.parent_id) == (
        "oberbayern",
        "regierungsbezirk",
        bayern.id,
    )
    assert (landkreis.slug, landkreis.name, landkreis.level) == (
        "landkreis-rosenheim",
        "Landkreis Rosenheim",
        "kreis",
    )
    assert landkreis.parent_id == oberbayern.id and stadt.parent_id == oberbayern.id
    aibling = city(app, "09187117")
    assert (aibling.slug, aibling.name, aibling.state, aibling.region_id) == (
        "bad-aibling",
        "Bad Aibling",
        "Bayern",
        landkreis.id,
    )
    assert city(app, "09163000").region_id == stadt.id


def test_a_release_of_a_gemeinde_is_in_every_region_above_it_and_changes_exactly_those(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    imported(runner)
    above = ["/regions/landkreis-rosenheim", "/regions/oberbayern", "/regions/bayern"]
    beside = "/regions/stadt-rosenheim"
    feeds = [f"{path}/feed.{fmt}" for path in [*above, "/cities/kolbermoor"] for fmt in FORMATS]
    before = {
        path: etag(client, path) for path in [*feeds, f"{beside}/feed.atom", "/cities/rosenheim/feed.atom"]
    }

    publish(app, client, "kolbermoor", "Mangfalldeich fertig")

    for path in feeds:
        assert feed_titles(client, path) == ["Mangfalldeich fertig"], path
        assert etag(client, path) != before[path], path
    assert feed_titles(client, f"{beside}/feed.atom") == []
    assert etag(client, f"{beside}/feed.atom") == before[f"{beside}/feed.atom"], "another Kreis: not changed"
    assert etag(client, "/cities/rosenheim/feed.atom") == before["/cities/rosenheim/feed.atom"]
    publish(app, client, "rosenheim", "Christkindlmarkt eröffnet")
    assert feed_titles(client, "/regions/bayern/feed.atom") == [
        "Christkindlmarkt eröffnet",
        "Mangfalldeich fertig",
    ]
    assert feed_titles(client, "/regions/landkreis-rosenheim/feed.atom") == ["Mangfalldeich fertig"]
    assert "2 Pressemitteilungen" in client.get("/regions/oberbayern").get_data(as_text=True)
    kept_equals_counted(app)


def test_an_embargo_in_a_gemeinde_lifts_in_the_land_feed_too(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock
) -> None:
    imported(runner)
    later = clock.now + timedelta(hours=2)
    publish(app, client, "prien-a-chiemsee", "Neue Seebühne", published_at=later.isoformat())
    land = "/regions/bayern/feed.atom"
    assert feed_titles(client, land) == []
    held = etag(client, land)
    clock.advance(hours=2, seconds=1)
    assert feed_titles(client, land) == ["Neue Seebühne"]
    assert etag(client, land) != held


def test_an_import_again_renames_and_adds_but_never_doubles(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, tmp_path: Path
) -> None:
    imported(runner)
    publish(app, client, "bad-feilnbach", "Kurpark wird erweitert")
    city_feed = "/cities/bad-feilnbach/feed.atom"
    before = etag(client, city_feed)
    lines = gv100_lines()
    number = next(i for i, line in enumerate(lines) if line.startswith("6020241231091871290129"))
    lines[number] = with_name(lines[number], "Bad Feilnbach, Kurort")
    bernau = with_name(lines[number].replace("091871290129", "091871180118", 1), "Bernau a.Chiemsee")
    lines[number + 1 : number + 1] = [bernau]
    output = imported(runner, write(tmp_path / "GV100AD_310325.txt", lines))
    assert "cities: 1 created, 0 updated, 7 unchanged" in output, "the designation is not the name"
    lines[number] = with_name(lines[number], "Bad Feilnbach-Au")
    output = imported(runner, write(tmp_path / "GV100AD_300625.txt", lines))
    assert "cities: 0 created, 1 updated, 7 unchanged" in output
    renamed = city(app, "09187129")
    assert (renamed.slug, renamed.name) == ("bad-feilnbach", "Bad Feilnbach-Au"), (
        "a renamed city keeps its URLs"
    )
    with app.app_context():
        last = db.session().scalars(select(OutboxEntry).order_by(OutboxEntry.id.desc())).first()
        assert last is not None and last.kind == "catalog"
        told = set(last.subject_keys.split())
        assert {"catalog", f"city:{renamed.id}", f"region:{renamed.region_id}"} <= told, (
            "hubs hear of its feeds"
        )
    assert city(app, "09187118").slug == "bernau-a-chiemsee"
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(City)) == 8
        assert db.session().scalar(select(func.count()).select_from(Region)) == 4
    assert etag(client, city_feed) != before, "the feed shows the city's name"
    parsed = feedparser.parse(client.get(city_feed).data)
    assert parsed.feed.title == "Pressemitteilungen – Bad Feilnbach-Au"


def test_into_the_sample_cities_move_to_their_kreis_with_their_releases(
    sample_app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    own_region = "/regions/region-rosenheim/feed.json"
    aibling_titles = feed_titles(client, "/cities/bad-aibling/feed.atom")
    assert aibling_titles
    before = etag(client, own_region)
    output = imported(runner)
    assert "moved bad-aibling: Region Rosenheim → Landkreis Rosenheim" in output
    assert "cities: 0 created, 7 updated" in output, "every sample city with one of the keys is matched"
    assert etag(client, own_region) != before
    landkreis = feed_titles(client, "/regions/landkreis-rosenheim/feed.atom")
    assert set(aibling_titles) <= set(landkreis)
    assert set(aibling_titles) <= set(feed_titles(client, "/regions/bayern/feed.atom"))
    stayed = ("wasserburg-a-inn", "bernau-a-chiemsee", "prutting", "samerberg")  # keys not in the excerpt
    left = {item["title"] for item in json.loads(client.get(own_region).data)["items"]}
    assert left == {title for slug in stayed for title in feed_titles(client, f"/cities/{slug}/feed.atom")}
    output = imported(runner, CSV)
    assert "took over landkreis-miesbach as 09182" in output, "the sample's own Landkreis Miesbach"
    miesbach = region(sample_app, "09182")
    assert (miesbach.slug, miesbach.parent_id) == ("landkreis-miesbach", region(sample_app, "091").id)
    assert set(feed_titles(client, "/cities/holzkirchen/feed.atom")) <= set(
        feed_titles(client, "/regions/oberbayern/feed.atom?limit=100")
    )
    kept_equals_counted(sample_app)


def test_a_region_taken_over_brings_its_pending_embargo_to_the_regions_above(
    sample_app: Flask, runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock
) -> None:
    imported(runner)
    later = clock.now + timedelta(hours=3)
    publish(sample_app, client, "holzkirchen", "Geothermie liefert Wärme", published_at=later.isoformat())
    imported(runner, CSV)  # the sample's Landkreis Miesbach, with its releases, goes under Oberbayern
    land = "/regions/bayern/feed.atom"
    assert "Geothermie liefert Wärme" not in feed_titles(client, land)
    held = etag(client, land)
    clock.advance(hours=3, seconds=1)
    assert "Geothermie liefert Wärme" in feed_titles(client, land)
    assert etag(client, land) != held
    kept_equals_counted(sample_app)


def test_only_the_lands_asked_for(app: Flask, runner: FlaskCliRunner) -> None:
    output = imported(runner, GV100, "--state", "Bayern", "--dry-run")
    assert "dry run: nothing was written" in output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(City)) == 0
    imported(runner, GV100, "--state", "09")
    result = import_file(runner, GV100, "--state", "Hessen")
    assert result.exit_code == 1
    assert "--state Hessen: no such Land in the file or the database (Länder: Bayern)" in result.output


# --- by official key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "page"),
    [
        ("09", "/regions/bayern"),
        ("091", "/regions/oberbayern"),
        ("09187", "/regions/landkreis-rosenheim"),
        ("09163", "/regions/stadt-rosenheim"),
        ("09187117", "/cities/bad-aibling"),
    ],
)
def test_an_official_key_leads_to_its_page_and_feeds(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, key: str, page: str
) -> None:
    imported(runner)
    response = client.get(f"/ags/{key}")
    assert (response.status_code, response.headers["Location"]) == (301, page)
    for fmt in FORMATS:
        response = client.get(f"/ags/{key}/feed.{fmt}?q=Deich")
        assert response.status_code == 301
        assert response.headers["Location"] == f"{page}/feed.{fmt}?q=Deich", "the query goes along"
        assert "public" in response.headers["Cache-Control"]
    assert client.get(f"/ags/{key}/feed.atom", follow_redirects=True).status_code == 200


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/ags/09187999", "Zum Amtlichen Gemeindeschlüssel 09187999 gibt es hier keine Stadt"),
        ("/ags/06/feed.atom", "Zum amtlichen Schlüssel 06 gibt es hier kein Land"),
        ("/ags/09189", "keinen Kreis"),
        ("/ags/0918711", "ist kein amtlicher Schlüssel"),
        ("/ags/09x87/feed.rss", "ist kein amtlicher Schlüssel"),
        ("/ags/%EF%BC%90%EF%BC%99", "ist kein amtlicher Schlüssel"),
        ("/ags/09187/feed.xml", "Feeds gibt es als feed.atom, feed.rss, feed.json"),
    ],
)
def test_an_unknown_or_malformed_key_is_a_page_that_says_so(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, path: str, said: str
) -> None:
    imported(runner)
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert said in response.get_data(as_text=True)


def test_the_key_is_in_the_api_and_on_the_pages(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    imported(runner)
    regions = {item["slug"]: item for item in client.get("/api/v1/regions").get_json()}
    landkreis = regions["landkreis-rosenheim"]
    assert {name: landkreis[name] for name in ("name", "state", "ags", "level", "parent", "regions")} == {
        "name": "Landkreis Rosenheim",
        "state": "Bayern",
        "ags": "09187",
        "level": "kreis",
        "parent": "oberbayern",
        "regions": [],
    }
    assert len(landkreis["cities"]) == 6 and "kolbermoor" in landkreis["cities"]
    assert regions["oberbayern"]["regions"] == ["landkreis-rosenheim", "stadt-rosenheim"]
    assert regions["bayern"]["parent"] is None and regions["bayern"]["cities"] == []
    cities = {item["slug"]: item for item in client.get("/api/v1/cities").get_json()}
    assert cities["kolbermoor"]["ags"] == "09187150"

    page = client.get("/cities/kolbermoor").get_data(as_text=True)
    assert "Amtlicher Gemeindeschlüssel: <code>09187150</code>" in page
    assert 'href="/ags/09187150/feed.atom"' in page
    crumbs = page[page.index('class="breadcrumbs"') :][:600]
    assert crumbs.index("Bayern") < crumbs.index("Oberbayern") < crumbs.index("Landkreis Rosenheim")
    land = client.get("/regions/bayern").get_data(as_text=True)
    assert "Landesschlüssel: <code>09</code>" in land
    assert 'href="/regions/oberbayern"' in land and "Regierungsbezirke" in land


# --- bad input ------------------------------------------------------------------------------------


def test_every_broken_line_and_shared_key_is_reported_and_nothing_is_written(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    lines = gv100_lines()
    lines[3] = lines[3][:15] + "X" + lines[3][16:]  # the Gemeindeverband's filler
    lines[7] = lines[7][:10] + "09187 17" + lines[7][18:]  # Bad Aibling's key
    lines[8] = "70" + lines[8][2:]  # no Satzart
    lines.append(lines[9])  # Bruckmühl again
    lines.append("6020241231")  # cut off
    file = write(tmp_path / "GV100AD_broken.txt", lines)
    before = snapshot(app)
    result = import_file(runner, file)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("GV100AD_broken.txt: line")]
    assert [line.split(":")[1] for line in problems] == [
        " line 4",
        " line 8",
        " line 9",
        " line 19",
        " line 20",
    ], result.output
    assert "line 4: positions 16–22 are not blank and a Gemeindeverband of 4 digits" in result.output
    assert "line 8: the key '09187 17' (positions 11–18) is not 8 digits" in result.output
    assert "line 9: Satzart '70' is none of GV100AD's" in result.output
    assert "line 19: Satzart 60 key 09187122 is on line 10 already" in result.output
    assert "line 20: 10 characters, too short" in result.output
    assert "nothing was imported" in result.output
    assert snapshot(app) == before


def test_a_gemeinde_without_its_kreis_is_refused(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    lines = [line for line in gv100_lines() if not line.startswith("4020241231091")]
    result = import_file(runner, write(tmp_path / "GV100AD_ohne_kreise.txt", lines))
    assert result.exit_code == 1
    assert (
        "line 4: Gemeinde 09163000 Rosenheim: its Kreis 09163 is neither in the file nor known"
        in result.output
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>Gemeindeverzeichnis</title></head></html>", "an HTML page"),
        (b"Gemeinde\tEinwohner\nRosenheim\t64000\n", "neither a GV100AD file nor a CSV with a header"),
        (b"PK\x03\x04broken", "a broken ZIP"),
    ],
)
def test_a_file_that_is_no_directory_is_refused(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, content: bytes, said: str
) -> None:
    file = tmp_path / "download.txt"
    file.write_bytes(content)
    result = import_file(runner, file)
    assert result.exit_code == 1
    assert said in result.output


def test_an_unknown_format_is_refused_by_name(runner: FlaskCliRunner) -> None:
    result = import_file(runner, GV100, "--format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'gv100', 'csv'" in result.output


def test_a_file_in_another_encoding_is_told_by_its_line(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    lines = gv100_lines()
    lines[9] = with_name(lines[9], "Bruckm\x9ehl, M")  # a Windows-1252 byte, read as ISO-8859-1
    result = import_file(runner, write(tmp_path / "GV100AD_cp1252.txt", lines, encoding="iso-8859-1"))
    assert result.exit_code == 1
    assert (
        "line 10: the name has U+009E, which no name has (is the file in another encoding?)" in result.output
    )


def test_a_latin_1_file_imports_with_its_umlauts(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    file = write(tmp_path / "GV100AD_latin1.txt", gv100_lines(), encoding="iso-8859-1")
    assert "read as ISO-8859-1" in imported(runner, file)
    assert city(app, "09187122").name == "Bruckmühl"


def test_the_csv_is_imported_and_its_bad_lines_reported(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    bayern = tmp_path / "bayern.csv"
    bayern.write_text("ags,name,type\n09,Bayern,land\n091,Oberbayern,regierungsbezirk\n", encoding="utf-8")
    imported(runner, bayern)
    output = imported(runner, CSV)
    assert "CSV, read as UTF-8" in output and "cities: 7 created" in output
    assert city(app, "09182132").region_id == region(app, "09182").id
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ags;name;type\n0918212;Holzkirchen;gemeinde\n09182;Landkreis Miesbach;bezirk\n"
        "09182120;<b></b>;gemeinde\n09182123;Irschenberg;gemeinde\n09182123;Irschenberg;gemeinde\n",
        encoding="utf-8",
    )
    result = import_file(runner, bad)
    assert result.exit_code == 1
    assert "line 2: the AGS of a gemeinde has 8 digits, not '0918212'" in result.output
    assert "line 3: type 'bezirk' is none of land, regierungsbezirk, kreis, gemeinde" in result.output
    assert "line 4: no name" in result.output
    assert "line 6: AGS 09182123 is on line 5 already" in result.output
    headless = tmp_path / "headless.csv"
    headless.write_text("schluessel;name\n09182120;Holzkirchen\n", encoding="utf-8")
    result = import_file(runner, headless, "--format", "csv")
    assert result.exit_code == 1 and "line 1: the header has no column ags, type" in result.output


def test_migration_0011_refuses_two_cities_with_one_key(empty_database_url: str) -> None:
    from sqlalchemy import text

    from feedsvc.db import make_engine

    engine = make_engine(empty_database_url)
    try:
        migrations.upgrade(engine, "0010")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO regions (id, slug, name, state) VALUES (1, 'r', 'R', 'Bayern')")
            )
            for number, slug in ((1, "rosenheim"), (2, "rosenheim-stadt")):
                connection.execute(
                    text(
                        "INSERT INTO cities (id, slug, name, state, ags, region_id) "
                        "VALUES (:id, :slug, 'Rosenheim', 'Bayern', '09163000', 1)"
                    ),
                    {"id": number, "slug": slug},
                )
        with pytest.raises(migrations.SchemaError, match=r"09163000: rosenheim, rosenheim-stadt"):
            migrations.upgrade(engine)
        with engine.connect() as connection:
            assert migrations.current_revision(connection) == "0010", "nothing was changed"
    finally:
        engine.dispose()


def test_import_failed_names_the_file_level_problem() -> None:
    with pytest.raises(ImportFailed, match="no Land, Regierungsbezirk, Kreis or Gemeinde"):
        read_directory(GV100.read_bytes().split(b"\r\n")[3] + b"\r\n", "nur-verband.txt")
