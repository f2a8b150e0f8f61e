""" "Das könnte Sie auch interessieren": related releases by shared topics and city
across the whole archive, from a bounded number of index walks around the release."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement
from sqlalchemy import event, select

from feedsvc import db
from feedsvc.models import Release
from feedsvc.store.browse import related_visible
from feedsvc.store.releases import release_by_id
from tests.conftest import FakeClock, Fill
from tests.factories import add_release, make_catalog, retract

# The tests share the releases of `old_release` (written once per process): on one worker.
pytestmark = pytest.mark.xdist_group("pages_related")

DAY = 60 * 24
# The old release whose page `old_release` visits.
VISITED = "Stadtteilfest in der Innenstadt"


def related_titles(client: FlaskClient, release_id: int) -> list[str]:
    response = client.get(f"/releases/{release_id}", follow_redirects=True)
    assert response.status_code == 200
    doc: HtmlElement = html.fromstring(response.data)
    titles: list[HtmlElement] = doc.cssselect(".related .card__title")
    return [" ".join(title.text_content().split()) for title in titles]


@pytest.fixture
def old_release(app: Flask, fill_once: Fill) -> int:
    """A release of Rosenheim from 1000 days ago, about culture and social affairs,
    with neighbours of its own time, and 100 newer releases of Rosenheim since."""

    def fill() -> None:
        make_catalog(app)
        add_release(
            app,
            title="Kulturpreis Nachbarstadt",
            city="bad-aibling",
            topics=("verkehr",),
            minutes_ago=1001 * DAY,
        )
        add_release(
            app,
            title="Sommerfest im Mehrgenerationenhaus",
            topics=("kultur", "soziales-familie"),
            minutes_ago=1002 * DAY,
        )
        add_release(
            app,
            title="Münchner Familienkulturtage",
            city="muenchen",
            topics=("kultur", "soziales-familie"),
            minutes_ago=1010 * DAY,
        )
        add_release(app, title=VISITED, topics=("kultur", "soziales-familie"), minutes_ago=1000 * DAY)
        add_release(
            app, title="Neue Krabbelgruppe im Bürgerhaus", topics=("soziales-familie",), minutes_ago=997 * DAY
        )
        for number in range(100):
            add_release(
                app, title=f"Kulturprogramm Woche {number}", topics=("kultur",), minutes_ago=60 * number
            )

    # 105 releases one by one take longer to write than the tests here take to run.
    fill_once("the related releases around an old one", fill)
    with app.app_context():
        return int(db.session().scalars(select(Release.id).where(Release.title == VISITED)).one())


def test_an_old_release_finds_old_releases_sharing_its_topics(old_release: int, client: FlaskClient) -> None:
    titles = related_titles(client, old_release)
    # The same city and both topics; then two in common, nearest in time first.
    assert titles[:3] == [
        "Sommerfest im Mehrgenerationenhaus",
        "Neue Krabbelgruppe im Bürgerhaus",
        "Münchner Familienkulturtage",
    ]
    assert len(titles) == 4


@pytest.mark.usefixtures("old_release")
def test_a_new_release_finds_its_newest_neighbours(app: Flask, client: FlaskClient) -> None:
    newest = add_release(app, title="Kulturprogramm Woche 100", topics=("kultur",), minutes_ago=0)
    assert related_titles(client, newest) == [f"Kulturprogramm Woche {number}" for number in range(4)]


def test_related_releases_are_visible_ones_only(app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    make_catalog(app)
    visited = add_release(app, title="Lesung", topics=("kultur",), minutes_ago=60)
    gone = add_release(app, title="Zurückgezogene Lesung", topics=("kultur",), minutes_ago=50)
    retract(app, gone)
    add_release(
        app, title="Lesung unter Sperrfrist", topics=("kultur",), published_at=clock.now.replace(year=2030)
    )
    add_release(app, title="Öffentliche Lesung", topics=("kultur",), minutes_ago=70)
    assert related_titles(client, visited) == ["Öffentliche Lesung"]


def test_a_release_without_neighbours_has_no_related_section(app: Flask, client: FlaskClient) -> None:
    make_catalog(app)
    alone = add_release(app, title="Einzige Meldung", topics=("kultur",), minutes_ago=5)
    response = client.get(f"/releases/{alone}", follow_redirects=True)
    assert not html.fromstring(response.data).cssselect("section.related")


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run while the block runs, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    engine = db.engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _related_statements(app: Flask, release_id: int) -> list[tuple[str, Any]]:
    with app.app_context():
        session = db.session()
        release = release_by_id(session, release_id)
        assert release is not None
        with statements(app) as seen:
            related_visible(session, release, app.config["CLOCK"](), 4)
        return seen


def test_the_number_of_reads_does_not_grow_with_the_archive(old_release: int, app: Flask) -> None:
    before = len(_related_statements(app, old_release))
    for number in range(100, 150):
        add_release(
            app, title=f"Kulturprogramm Woche {number}", topics=("kultur", "soziales-familie"), minutes_ago=0
        )
    assert len(_related_statements(app, old_release)) == before
    # Two topics: a walk before and after the release per topic, per topic in the city,
    # and for the city; one read of the candidates' topics, one of their cities, one of the four
    # with their images and their attachments (selectin).
    assert before <= 2 * (2 * 2 + 1) + 4 + 2


def test_every_walk_reads_an_index_in_order(old_release: int, app: Flask) -> None:
    with app.app_context():
        if db.engine().dialect.name != "sqlite":
            pytest.skip("reads SQLite's query plans")
    walks = [(sql, params) for sql, params in _related_statements(app, old_release) if "LIMIT" in sql]
    assert walks
    with app.app_context(), db.engine().connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        for sql, params in walks:
            plan = " | ".join(str(row[-1]) for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            # A range of an index, in its order: no scan of a table, no sort of what was found.
            assert "USING" in plan and "INDEX" in plan, plan
            assert "TEMP B-TREE" not in plan and not plan.startswith("SCAN"), plan
