"""The benchmark's own parts on a tiny dataset: generator, wrk parsing, table, nginx config.

The load runs themselves (wrk, nginx, Varnish) are not started here, the app server only once,
to see that it is `feedsvc serve`; `python bench/run.py --quick` does the rest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from bench import loadgen, measure, report, servers
from bench.dataset import Manifest, generate, parse_size
from bench.rows import Batch, ReleaseFactory, build_catalog
from feedsvc import create_app, db
from feedsvc.cli import serve
from feedsvc.models import Base
from feedsvc.publishing.input import ReleaseIn
from feedsvc.store import counts as kept_counts
from feedsvc.text import html_text, sanitize_html, summary_from_html
from tests.databases import Databases

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:40000/_floor
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.98ms    1.10ms  19.51ms   90.12%
    Req/Sec     2.69k   150.23     2.90k    75.00%
  Latency Distribution
     50%    2.68ms
     75%    3.01ms
     90%    3.70ms
     99%  812.00us
  5372 requests in 2.00s, 1.28GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2685.51
Transfer/sec:    656.01MB
"""


def test_rows_are_what_the_store_would_write() -> None:
    """Each generated record, validated as the API would, gives the stored row's values."""
    rng = random.Random(7)
    catalog = build_catalog(rng, cities=50, regions=5)
    factory = ReleaseFactory(catalog, rng, total=60)
    batch = Batch()
    for release_id in range(1, 61):
        record = factory.add(batch, release_id)
        row = batch.releases[-1]
        assert row["body_text"] == html_text(row["body_html"])
        posted = {**record, "published_at": record["published_at"].isoformat()}
        validated = ReleaseIn.model_validate({k: v for k, v in posted.items() if v is not None})
        assert row["content_hash"] == validated.content_hash()
        assert (
            row["body_html"] == validated.body == sanitize_html(record["body"], base_url=record["source_url"])
        )
        assert 40 <= len(row["title"]) <= 120
        assert 1400 <= len(row["body_html"].encode()) <= 5500
        assert row["summary"] == (record["summary"] or summary_from_html(record["body"]))
        assert row["summary_derived"] is (record["summary"] is None)
        assert row["guid"] == f"tag:bench.feedsvc.test,2026-01-01:release:{release_id}"
    cities = {city["id"]: city for city in catalog.cities}
    by_id = {row["id"]: row for row in batch.releases}
    assert all(row["region_id"] == cities[row["city_id"]]["region_id"] for row in batch.releases)
    for link in batch.topics:
        release = by_id[link["release_id"]]
        assert (link["city_id"], link["published_at"]) == (release["city_id"], release["published_at"])
    published = [row["published_at"] for row in batch.releases]
    assert published == sorted(published)


def test_rows_fill_every_column() -> None:
    """A column added to the models must be filled by the generator too (or it would
    silently take its default, unlike what the store writes)."""
    rng = random.Random(1)
    catalog = build_catalog(rng, cities=30, regions=3)
    factory = ReleaseFactory(catalog, rng, total=200)
    batch = Batch()
    for release_id in range(1, 201):
        factory.add(batch, release_id)
    written = {
        "regions": catalog.regions,
        "cities": catalog.cities,
        "topics": catalog.topics,
        "publishers": catalog.publishers,
        "publisher_cities": catalog.publisher_cities,
        "releases": batch.releases,
        "release_topics": batch.topics,
        "release_images": batch.images,
    }
    for name, rows in written.items():
        columns = {column.name for column in Base.metadata.tables[name].columns}
        automatic = {"id"} if name == "release_images" else set()
        assert set(rows[0]) == columns - automatic, name


# The tiny dataset takes longer to generate than the tests that read it take to run: it is
# generated once per test process and copied for later tests (as tests/databases.py's
# fill_once does), each of which gets the manifest of that one generation.
TINY = "bench-tiny-400-releases-seed-3"
_tiny_manifests: dict[str, Manifest] = {}


@pytest.fixture
def tiny(databases: Databases, database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Manifest]]:
    if TINY in _tiny_manifests and databases.has_kept(TINY):
        databases.put_back(database_url, TINY)
        manifest = _tiny_manifests[TINY]
    else:
        manifest = generate(database_url, 400, seed=3, progress=lambda _line: None)
        databases.keep(database_url, TINY)
        _tiny_manifests[TINY] = manifest
    manifest.save(tmp_path / "manifest.json")
    app = create_app({"DATABASE_URL": database_url, "BASE_URL": "http://127.0.0.1:1", "SECRET_KEY": "t"})
    yield app, Manifest.load(tmp_path / "manifest.json")
    with app.app_context():
        db.engine().dispose()


def test_generated_database_serves_feeds(tiny: tuple[Flask, Manifest]) -> None:
    app, manifest = tiny
    with app.app_context():
        session = db.session()
        counts = {
            table: session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("releases", "release_topics", "release_images", "cities", "regions", "topics")
        }
        unmatched = session.execute(
            text(
                "SELECT COUNT(*) FROM releases r JOIN cities c ON c.id = r.city_id"
                " WHERE r.region_id != c.region_id"
            )
        ).scalar_one()
        versions = session.execute(text("SELECT COUNT(*) FROM feed_versions")).scalar_one()
        kept: dict[str, int] = dict(
            session.execute(
                text("SELECT key, release_count FROM feed_versions WHERE release_count > 0")
            ).all()
        )
        assert kept == kept_counts.counted_releases(session)  # overviews read these counts
    assert counts["releases"] == 400 and counts["cities"] == 2000 and counts["regions"] == 60
    assert counts["topics"] == 20 and counts["release_topics"] > 300 and counts["release_images"] > 100
    assert unmatched == 0
    assert versions > 100
    # Zipf: the biggest city has far more releases than the median one.
    assert manifest.cities[0][1] > 10 * manifest.cities[len(manifest.cities) // 2][1]
    spread = measure.spread_paths(manifest)
    assert len(spread) == len(set(spread)) == 200
    client = app.test_client()
    for path in [measure.hot_path(manifest), *spread[::40]]:
        response = client.get(path)
        assert response.status_code == 200, path
    hot = client.get(measure.hot_path(manifest))
    assert hot.get_data().count(b"<entry>") == min(50, manifest.cities[0][1])


def test_wrk_output_is_parsed() -> None:
    result = loadgen.parse_wrk(WRK_OUTPUT)
    assert result.requests == 5372 and result.seconds == 2.0
    assert result.requests_per_s == 2685.51
    assert result.p50_ms == 2.68 and result.p99_ms == pytest.approx(0.812)
    assert result.bytes_read == int(1.28 * 1024**3)
    assert (result.socket_errors, result.non_2xx_3xx) == (3, 4)
    with pytest.raises(ValueError):
        loadgen.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_lua_cycle_script(tmp_path: Path) -> None:
    script = loadgen.cycle_script(["/feed.atom", "/cities/a/feed.rss"], tmp_path).read_text()
    assert '"/feed.atom", "/cities/a/feed.rss"' in script and "wrk.format" in script
    with pytest.raises(ValueError):
        loadgen.cycle_script(['/x" .. os.exit() .. "'], tmp_path)


def test_table_printer() -> None:
    def wrk(rate: float, size: int = 250_000) -> loadgen.WrkResult:
        return loadgen.WrkResult(int(rate * 10), 10.0, rate, 2.5, 9.75, int(rate * 10) * size, 0, 0)

    floor = wrk(2000)
    cold = measure.ColdRender(median_ms=4.2, p90_ms=5.0, renders=60, feeds=20)
    results = [
        report.SizeResult(
            label=label,
            releases=parse_size(label),
            dataset_note="reused",
            hot_path="/cities/a/feed.atom",
            hot_bytes=250_000,
            figures=[
                report.Figure("floor", floor),
                report.Figure("hot feed, full GET", wrk(1900), floor, report.HOT_VS_FLOOR),
                report.Figure(
                    "hot feed, If-None-Match → 304", wrk(1500, 300), floor, report.NOT_MODIFIED_VS_FLOOR
                ),
            ],
            cold=measure.ColdRender(cold.median_ms * factor, 6.0, 60, 20),
            worker_peak_mb=[80.0, 160.0 * factor],
        )
        for label, factor in (("10k", 1.0), ("1m", 2.0))
    ]
    text_out = report.render(results, title="t", command="python bench/run.py", settings="s")
    lines = text_out.splitlines()
    row = next(line for line in lines if line.startswith("| hot feed, full GET"))
    assert "1,900" in row and "0.95" in row and "PASS" in row
    assert "MISS" in next(line for line in lines if "304" in line)
    assert "Cold render 1m/10k: 2.00×" in text_out and "MISS" in text_out
    tables = [line for line in lines if line.startswith("|")]
    widths = {len(line) for line in tables if "hot feed" in line or "floor" in line}
    assert len(widths) == 1  # columns line up
    assert json.dumps(text_out)  # plain text, nothing exotic


def test_nginx_config_is_accepted(tmp_path: Path) -> None:
    if servers.nginx_binary() is None or servers.cache_purge_module() is None:
        pytest.skip(f"nginx or its cache purge module is not installed ({servers.NGINX_INSTALL_HINT})")
    config = servers.render_nginx_config(tmp_path, upstream_port=18000, proxy_port=18001, static_port=18002)
    assert "listen 80;" not in (tmp_path / "feedsvc.conf").read_text()
    assert servers.check_nginx_config(config) is None


def test_the_app_server_is_started_as_feedsvc_serve_runs_it(
    tiny: tuple[Flask, Manifest], database_url: str, tmp_path: Path
) -> None:
    """The load runs measure what users run: `feedsvc serve` itself, gthread workers with
    client socket timeouts, with the floor routes beside feedsvc's own."""
    _, manifest = tiny
    (tmp_path / "floor.bin").write_bytes(b"<feed/>")
    server = servers.start_gunicorn(
        database_url=database_url, floor_file=tmp_path / "floor.bin", workdir=tmp_path, workers=1
    )
    try:
        assert measure.probe(server.base_url + "/_floor").body == b"<feed/>"
        assert measure.probe(server.base_url + measure.hot_path(manifest)).status == 200
    finally:
        server.stop()
    log = server.log.read_text()
    assert f"Using worker: {serve.CLIENT_TIMEOUT_WORKER}" in log
    assert "delivery worker started" not in log  # the benchmark purges as the worker would


def test_both_floors_answer_the_same_bytes_and_leave_feedsvc_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import floorapp

    body = b"<feed>" + b"x" * 1000 + b"</feed>"
    (tmp_path / "floor.bin").write_bytes(body)
    monkeypatch.setenv(floorapp.FLOOR_FILE_ENV, str(tmp_path / "floor.bin"))
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("FEEDSVC_SECRET_KEY", "bench")
    client = floorapp.create_app().test_client()
    for path in (floorapp.FLOOR_PATH, floorapp.BARE_FLOOR_PATH):
        response = client.get(path)
        assert response.status_code == 200 and response.data == body
        assert response.headers["Content-Length"] == str(len(body))
        assert response.mimetype == "application/atom+xml"
    unknown = client.get("/nirgends")  # feedsvc's own handling still answers everything else
    assert unknown.status_code == 404 and "Seite nicht gefunden" in unknown.get_data(as_text=True)


def test_page_rows_are_printed_with_verdicts() -> None:
    result = report.SizeResult(
        label="1m", releases=1_000_000, dataset_note="reused", hot_path="/", hot_bytes=1
    )
    result.pages = [
        report.PageFirst("city", ["/cities/a"], first_ms=[40.0, 50.0, 300.0], again_ms=[9.0], bytes=4000),
        report.PageFirst("search", ["/?q=x"], first_ms=[150.0], again_ms=[90.0], bytes=3000),
    ]
    result.start = report.StartFirst("/releases/1-a", feedsvc_ms=[30.0], django_ms=[40.0])
    result.write = report.WriteRender("/cities/a", first_ms=[45.0, 60.0], again_ms=[20.0])
    small = report.SizeResult(label="10k", releases=10_000, dataset_note="reused", hot_path="/", hot_bytes=1)
    small.write = report.WriteRender("/cities/a", first_ms=[20.0], again_ms=[10.0])
    lines = report.render([small, result], title="t", command="c", settings="s").splitlines()

    section = lines[lines.index("### 1m releases (1,000,000)") :]

    def row(start: str) -> str:
        return next(line for line in section if line.startswith(f"| {start}"))

    assert "50.0" in row("city") and "PASS" in row("city")  # the median, not the slow one
    assert "MISS" in row("search")
    first_request = row("first request after start (1×): feedsvc")
    assert "0.75 × Django" in first_request and "PASS" in first_request
    assert "52.5" in row("first render after a write")
    growth = next(line for line in lines if line.startswith("First city page render after a write"))
    assert "2.62×" in growth and "MISS" in growth


def test_page_paths_answer(tiny: tuple[Flask, Manifest]) -> None:
    from bench import pages

    app, manifest = tiny
    chosen = pages.page_paths(app, manifest, samples=2)
    assert set(chosen) == {"home", "city", "topic", "region", "release", "search"}
    client = app.test_client()
    for kind, kind_paths in chosen.items():
        assert len(kind_paths) == 2, kind
        for path in kind_paths:
            assert client.get(path).status_code == 200, path
