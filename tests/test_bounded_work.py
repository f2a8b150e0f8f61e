"""Bounded work per request and bounded waits: deep HTML is refused in linear time, a full
disk answers 503 with Retry-After and writes nothing, waits for the database are bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from feedsvc import db
from feedsvc.text import MAX_HTML_DEPTH, HtmlTooDeep, html_depth_exceeds, sanitize_html
from tests.api_support import RELEASE, bearer, field_errors, make_token, problem_of, snapshot


def nested(depth: int, tag: str = "div") -> str:
    return f"<{tag}>x" * depth + f"</{tag}>" * depth


# --- the sanitiser's nesting limit ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "deeper"),
    [
        (nested(MAX_HTML_DEPTH), False),
        (nested(MAX_HTML_DEPTH + 1), True),
        (nested(MAX_HTML_DEPTH) * 50, False),  # wide: siblings, each as deep as allowed
        ("<p>a" * 5000, False),  # a new <p> ends the last one, as in a browser
        ("<ul>" + "<li>a" * 5000 + "</ul>", False),
        ("<br><img src=x>" * 5000, False),  # void elements nest nothing
        ("<!--" + "<div>" * 500 + "-->", False),
        ("<script>" + "<div>" * 500 + "</script>", False),
        ("<b>" * 500, True),  # never closed: the parser nests them all
        ("<ul><li>" * 101, True),  # lists in list items do nest
    ],
    ids=["limit", "limit+1", "wide", "unclosed-p", "unclosed-li", "void", "comment", "script", "b", "lists"],
)
def test_nesting_depth_is_read_as_a_browser_would(html: str, deeper: bool) -> None:
    assert html_depth_exceeds(html) is deeper


def test_a_body_nested_too_deeply_is_refused_before_nh3_sees_it() -> None:
    body = nested(100_000)  # 1.2 MB: nh3 took minutes on a fifth of it
    started = time.perf_counter()
    with pytest.raises(HtmlTooDeep, match=str(MAX_HTML_DEPTH)):
        sanitize_html(body)
    assert time.perf_counter() - started < 0.5


def test_the_sanitisers_cost_per_byte_stays_flat() -> None:
    small, large = nested(MAX_HTML_DEPTH) * 10, nested(MAX_HTML_DEPTH) * 100
    costs = []
    for body in (small, large):
        started = time.perf_counter()
        sanitize_html(body)
        costs.append((time.perf_counter() - started) / len(body))
    assert costs[1] < costs[0] * 4, costs


def test_the_api_refuses_a_deep_body_with_422_naming_the_field_and_limit(api: Flask) -> None:
    client = api.test_client()
    headers = bearer(make_token(api))
    before = snapshot(api)
    response = client.post("/api/v1/releases", json={**RELEASE, "body": nested(500)}, headers=headers)
    problem_of(response, 422)
    assert str(MAX_HTML_DEPTH) in field_errors(response)["body"]
    assert snapshot(api) == before


# --- a full disk ------------------------------------------------------------------------------------


def _fill_up(app: Flask) -> None:
    """SQLite may grow the file by no page: as on a full disk ("database or disk is full")."""
    with app.app_context():
        bound = db.engine()
        bound.dispose()

        @event.listens_for(bound, "connect")
        def _no_room(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {pages}")
            cursor.close()


def test_a_full_disk_answers_503_with_retry_after_and_writes_nothing(api: Flask) -> None:
    if api.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite's page limit stands in for a full disk")
    client: FlaskClient = api.test_client()
    headers = bearer(make_token(api))
    before = snapshot(api)
    _fill_up(api)
    release = {**RELEASE, "body": "<p>" + "Wegen Bauarbeiten gesperrt. " * 20_000 + "</p>"}
    response = client.post("/api/v1/releases", json=release, headers=headers)
    body = problem_of(response, 503)
    assert "full" in body["detail"]
    assert int(response.headers["Retry-After"]) > 0
    assert snapshot(api) == before


def test_a_full_disk_is_an_outage_with_its_reason() -> None:
    error = OperationalError("INSERT", {}, Exception("database or disk is full"))
    assert db.is_outage(error, "sqlite")
    assert "full" in db.outage_reason(error)


def test_postgresql_waits_are_bounded_by_connect_options() -> None:
    engine = db.make_engine("postgresql+psycopg://u@127.0.0.1:9/x", statement_timeout=20, lock_timeout=5)
    captured: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def _capture(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        captured.update(cparams)
        raise RuntimeError("not connecting")

    with pytest.raises(RuntimeError):
        engine.raw_connection()
    assert "-c statement_timeout=20000" in captured["options"]
    assert "-c lock_timeout=5000" in captured["options"]
    assert captured["connect_timeout"] == db.CONNECT_TIMEOUT
    assert captured["tcp_user_timeout"] == int(db.TCP_USER_TIMEOUT * 1000)


# --- a feed's byte budget -------------------------------------------------------------------------


def test_past_the_budget_entries_carry_their_summary_and_a_link(make_app: Any) -> None:
    from tests.factories import add_release, make_catalog

    app = make_app(FEED_CONTENT_BUDGET=250_000)
    make_catalog(app)
    body = "<p>" + "Wegen Bauarbeiten gesperrt. " * 4_000 + "</p>"  # about 110 KB
    for minutes in range(5, 0, -1):
        add_release(app, title=f"Sperrung {minutes}", body=body, minutes_ago=minutes)
    client = app.test_client()
    feed = client.get("/feed.json").get_json()
    full = [item for item in feed["items"] if len(item["content_html"]) > 100_000]
    short = [item for item in feed["items"] if "Vollständige Mitteilung lesen" in item["content_html"]]
    assert len(full) == 2 and len(short) == 3
    assert feed["items"][0] in full
    assert all(item["url"] in item["content_html"] for item in short)
    assert len(client.get("/feed.atom").data) < 400_000


def test_the_newest_entry_is_always_in_full() -> None:
    from datetime import UTC, datetime

    from feedsvc.formats.model import Entry, Person
    from feedsvc.web.feeds.budget import within_budget

    now = datetime(2026, 12, 1, tzinfo=UTC)
    entry = Entry(
        id="x", title="t",
        link="https://x.test/r/1", summary="a < b", content_html="<p>" + "x" * 99 + "</p>",
        published=now, updated=now, author=Person(name="p"),
    )  # fmt: skip
    kept = within_budget([entry, entry, entry], budget=10)
    assert kept[0].content_html == entry.content_html
    assert (
        kept[1].content_html
        == '<p>a &lt; b</p><p><a href="https://x.test/r/1">Vollständige Mitteilung lesen</a></p>'
    )
