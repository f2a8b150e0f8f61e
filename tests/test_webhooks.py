"""Signed webhooks for newsrooms: every event reaches each endpoint whose subscription holds
the release once, in order, signed per Standard Webhooks (checked by a real receiver on
loopback with `standardwebhooks`), with the release's ninjs item exactly as it is served;
never before an embargo; retried with backoff, redelivered with the same webhook-id,
disabled after failing too long; two workers never send one delivery twice. The API,
the commands and the desk refuse bad input clearly and store nothing then.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from feedsvc import db
from feedsvc.cli.worker import webhook_settings_of_app
from feedsvc.models import AuditEvent, Release, Subscription, WebhookDelivery, WebhookEndpoint
from feedsvc.publishing.input import ReleasePatch
from feedsvc.publishing.values import update_from_patch
from feedsvc.publishing.webhooks import url_problem
from feedsvc.store import outbox
from feedsvc.store.changes import from_micros, micros
from feedsvc.store.releases import References, resolve_references, update_release
from feedsvc.worker import webhooks
from tests.api_support import bearer, field_errors, make_token, problem_of
from tests.conftest import BASE_URL, POSTGRES_URL, AppFactory, FakeClock
from tests.desk_support import doc_of, make_user, post, sign_in, text_of
from tests.factories import add_release, get_release, make_catalog, retract
from tests.loopback import wait_until
from tests.test_ninjs import valid
from tests.test_sign_in_links import Mailbox, mail_settings, mailbox
from tests.webhook_support import Receiver, cycle, deliver, receiver, receivers_use, register, send

__all__ = ["mailbox"]  # a fixture

ADMIN = "admin@feeds.example.test"


@pytest.fixture
def app(make_app: AppFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Flask:
    receivers_use(clock, monkeypatch)
    made = make_app()
    make_catalog(made)
    return made


@pytest.fixture
def admin(app: Flask) -> str:
    return make_token(app, role="admin", publisher=None)


@pytest.fixture
def newsroom() -> Iterator[Receiver]:
    with receiver() as recording:
        yield recording


@pytest.fixture
def other_newsroom() -> Iterator[Receiver]:
    with receiver("/other") as recording:
        yield recording


def subscribe(app: Flask, hook: Receiver, admin: str, **fields: Any) -> dict[str, Any]:
    created = register(app, hook.url, admin, **fields)
    hook.secret = created["secret"]
    return created


def ninjs_of(client: FlaskClient, release_id: int) -> tuple[int, dict[str, Any]]:
    """What the service serves as the release's ninjs document now (status, JSON)."""
    response = client.get(f"/releases/{release_id}.ninjs.json", follow_redirects=True)
    return response.status_code, json.loads(response.data)


def rows_of(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def correct(app: Flask, release_id: int, change: str = "major", **fields: Any) -> None:
    """A correction as `PATCH` makes it, major or minor (a typo: no alert)."""
    patch = ReleasePatch.model_validate({"change": change, **fields})
    with app.app_context():
        session = db.session()
        release = session.get(Release, release_id)
        assert release is not None
        refs = resolve_references(session, patch.city or release.city.slug, [t.slug for t in release.topics])
        assert isinstance(refs, References), refs
        update_release(
            session, release, update_from_patch(patch), refs, app.config["CLOCK"](), major=change == "major"
        )
        session.commit()


def guid(app: Flask, release_id: int) -> str:
    return get_release(app, release_id).guid


# --- what is sent, to whom, in which order -------------------------------------------------------


def test_each_endpoint_gets_every_event_once_in_order_with_the_served_ninjs_item(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver, other_newsroom: Receiver
) -> None:
    client = app.test_client()
    subscribe(app, newsroom, admin, cities=["rosenheim"], description="Redaktionssystem OVB")
    subscribe(app, other_newsroom, admin)  # the empty filter: everything
    newsroom.fail_next = 2  # the newsroom's system is down for its first two attempts
    served: dict[str, dict[str, Any]] = {}

    def step() -> None:
        """Deliver, and keep what the service served at that moment for each message made."""
        cycle(app, clock)
        with app.app_context():
            for delivery in db.session().scalars(select(WebhookDelivery)):
                message = delivery.message
                if message.message_id not in served:
                    status, document = ninjs_of(client, message.release_id)
                    assert status == (410 if message.event_type == "release.retracted" else 200)
                    served[message.message_id] = document
        send(app, clock)

    first = add_release(app, title="Innbrücke gesperrt", topics=("verkehr",), minutes_ago=0)
    step()
    second = add_release(app, title="Neues aus München", city="muenchen", minutes_ago=0)
    step()
    correct(app, first, title="Innbrücke ab Dienstag gesperrt", correction_note="Termin korrigiert")
    step()
    correct(app, first, "minor", title="Innbrücke ab Dienstag gesperrt.")
    step()
    retract(app, first)
    step()
    assert other_newsroom.events() == [
        ("release.published", guid(app, first)),
        ("release.published", guid(app, second)),
        ("release.corrected", guid(app, first)),
        ("release.retracted", guid(app, first)),
    ], "everything, in order, while the other newsroom was failing; no event for the minor fix"
    assert newsroom.delivered == [], "still backing off"
    for _ in range(2):
        clock.advance(minutes=6)  # past 5 s, then past 5 min (and their jitter)
        send(app, clock)
    assert newsroom.events() == [
        ("release.published", guid(app, first)),
        ("release.corrected", guid(app, first)),
        ("release.retracted", guid(app, first)),
    ], "München is not in its filter; the failing head held the later ones back, in order"
    failed = [each for each in newsroom.requests if each.status == 503]
    assert len(failed) == 2 and {each.webhook_id for each in failed} == {newsroom.delivered[0].webhook_id}
    for hook in (newsroom, other_newsroom):
        ids = [each.webhook_id for each in hook.delivered]
        assert len(set(ids)) == len(ids), "once each"
        for each in hook.delivered:
            assert each.payload is not None, each.problem
            assert each.headers["content-type"] == "application/json"
            assert each.headers["user-agent"].startswith("feedsvc-webhooks/")
            assert set(each.payload) == {"type", "timestamp", "data"}
            assert each.payload["timestamp"].endswith("Z")
            valid(json.dumps(each.payload["data"]).encode())
            assert each.payload["data"] == served[each.webhook_id], "the item exactly as served"
    published, corrected, retracted = (each.payload for each in newsroom.delivered if each.payload)
    assert published["data"]["headlines"][0]["value"] == "Innbrücke gesperrt"
    assert corrected["data"]["headlines"][0]["value"] == "Innbrücke ab Dienstag gesperrt"
    assert corrected["data"]["edNote"] == "Termin korrigiert"
    assert retracted["data"]["pubStatus"] == "canceled"
    assert newsroom.delivered[0].webhook_id == other_newsroom.delivered[0].webhook_id, "one message"


def test_nothing_is_sent_before_the_embargo_instant(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin, topics=["kultur"])
    instant = clock.now + timedelta(minutes=10)
    release_id = add_release(app, title="Sperrfrist 12:10", topics=("kultur",), published_at=instant)
    deliver(app, clock)
    correct(app, release_id, title="Sperrfrist 12:10 Uhr")  # corrected under embargo: nobody saw it
    clock.advance(minutes=9, seconds=59)
    deliver(app, clock)
    assert newsroom.arrived == 0 and rows_of(app, WebhookDelivery) == 0, "nothing, not even a row"
    clock.advance(seconds=1)
    deliver(app, clock)
    assert newsroom.events() == [("release.published", guid(app, release_id))], "once, at the instant"
    (sent,) = newsroom.delivered
    assert sent.payload is not None and "embargoedUntil" not in sent.payload["data"]
    assert sent.payload["data"]["headlines"][0]["value"] == "Sperrfrist 12:10 Uhr"
    assert sent.payload["timestamp"] == "2026-11-25T12:10:00Z", "the event happened at the instant"
    clock.advance(minutes=1)
    deliver(app, clock)
    assert len(newsroom.requests) == 1, "the lift of the embargo tells it nothing more"


def test_a_tampered_body_or_signature_fails_verification(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin)
    add_release(app, title="Signiert", minutes_ago=0)
    deliver(app, clock)
    (sent,) = newsroom.delivered
    hook = Webhook(newsroom.secret)
    assert hook.verify(sent.body, sent.headers) == sent.payload
    tampered_body = sent.body.replace(b"Signiert", b"Gefaelscht")
    assert tampered_body != sent.body
    signature = sent.headers["webhook-signature"]
    forged = signature[:-6] + ("AAAAA=" if not signature.endswith("AAAAA=") else "BBBBB=")
    for body, headers in (
        (tampered_body, sent.headers),
        (sent.body, {**sent.headers, "webhook-signature": forged}),
        (sent.body, {**sent.headers, "webhook-id": "msg_somebody_else"}),
        (sent.body, {**sent.headers, "webhook-timestamp": str(int(sent.headers["webhook-timestamp"]) + 1)}),
    ):
        with pytest.raises(WebhookVerificationError):
            hook.verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(register(app, newsroom.url, admin)["secret"]).verify(sent.body, sent.headers)


def test_a_retraction_reaches_whoever_got_the_release_also_after_it_moved_away(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver, other_newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin, cities=["rosenheim"])
    subscribe(app, other_newsroom, admin, cities=["muenchen"])
    release_id = add_release(app, title="Umzug", minutes_ago=0)
    deliver(app, clock)
    correct(app, release_id, "minor", city="muenchen")
    deliver(app, clock)
    assert newsroom.events() == [("release.published", guid(app, release_id))]
    assert other_newsroom.events() == [], "a minor correction tells nobody anything"
    correct(app, release_id, city="muenchen", title="Umzug nach München")
    deliver(app, clock)
    assert newsroom.events()[1:] == [("release.corrected", guid(app, release_id))], "its last word"
    assert other_newsroom.events() == [("release.published", guid(app, release_id))], "new to it"
    correct(app, release_id, title="Umzug nach München, neu")
    deliver(app, clock)
    assert len(newsroom.delivered) == 2, "out of its filter, told once"
    retract(app, release_id)
    with receiver("/late") as late:
        subscribe(app, late, admin, cities=["muenchen"])
        deliver(app, clock)
        assert late.arrived == 0, "registered after the release went out: nothing to retract"
    assert newsroom.events()[-1] == ("release.retracted", guid(app, release_id))
    assert [event for event, _ in other_newsroom.events()] == [
        "release.published",
        "release.corrected",
        "release.retracted",
    ]


def test_redelivery_keeps_the_webhook_id(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    endpoint = subscribe(app, newsroom, admin)
    add_release(app, title="Noch einmal", minutes_ago=0)
    deliver(app, clock)
    client = app.test_client()
    log = client.get(endpoint["deliveries_url"].removeprefix(BASE_URL), headers=bearer(admin)).get_json()
    (delivery,) = log["items"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1 and delivery["last_status"] == 204
    clock.advance(minutes=3)
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver"
    answer = client.post(path, headers=bearer(admin))
    assert answer.status_code == 202 and answer.get_json()["status"] == "pending"
    send(app, clock)
    first, again = newsroom.delivered
    assert again.webhook_id == first.webhook_id == delivery["webhook_id"]
    assert again.body == first.body, "the same message"
    assert int(again.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 180
    assert again.payload == first.payload, "signed anew for its new timestamp"
    with app.app_context():
        actions = db.session().scalars(select(AuditEvent.action).where(AuditEvent.subject_kind == "webhook"))
        assert list(actions) == ["webhook.created", "webhook.redelivered"]


# --- failing endpoints --------------------------------------------------------------------------


def test_an_endpoint_failing_too_long_is_disabled_and_the_admins_are_told(
    make_app: AppFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    newsroom: Receiver,
    other_newsroom: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    receivers_use(clock, monkeypatch)
    box, port = mailbox
    app = make_app(WEBHOOK_DISABLE_AFTER=2 * 3600, **mail_settings(port))
    make_catalog(app)
    make_user(app, ADMIN, role="admin", cities=())
    admin = make_token(app, role="admin", publisher=None)
    endpoint = subscribe(app, newsroom, admin)
    subscribe(app, other_newsroom, admin)
    newsroom.status = 500
    add_release(app, title="Erste", minutes_ago=0)
    waits = [attempt.retry_in_s for attempt in deliver(app, clock) if attempt.endpoint_id == endpoint["id"]]
    for _ in range(10):
        attempts = [each for each in send(app, clock) if each.endpoint_id == endpoint["id"]]
        if attempts:
            waits.append(attempts[0].retry_in_s)
            if attempts[0].disabled:
                break
        with app.app_context():
            head = db.session().scalar(
                select(WebhookDelivery).where(
                    WebhookDelivery.endpoint_id == endpoint["id"], WebhookDelivery.status == "pending"
                )
            )
            assert head is not None
            clock.now = max(clock.now, from_micros(head.next_attempt_us))
    steps = webhooks.RETRY_SCHEDULE_S
    assert all(step <= wait <= step * 1.1 + 1 for wait, step in zip(waits, steps, strict=False)), waits
    assert len(waits) == 5, "after 5 s, 5 min, 30 min and 2 h: failing for over two hours at the fifth"
    read = app.test_client().get(f"/api/v1/webhooks/{endpoint['id']}", headers=bearer(admin)).get_json()
    assert read["enabled"] is False and "schlägt jede Zustellung fehl" in read["disabled_reason"]
    assert read["failed_attempts"] == 5 and read["pending"] == 1
    (notice,) = box.messages
    assert box.recipients == [[ADMIN]] and f"Webhook {endpoint['id']} deaktiviert" in notice["Subject"]
    assert f"{BASE_URL}/publish/webhooks/{endpoint['id']}" in notice.get_content()
    # Disabled: what comes now waits for it; the other newsroom gets it at once.
    newsroom.status = 204
    second = add_release(app, title="Zweite", minutes_ago=0)
    clock.advance(hours=20)
    deliver(app, clock)
    assert len(newsroom.requests) == 5 and len(other_newsroom.delivered) == 2
    # The desk tells the admins, on every page's navigation and on the webhooks page.
    client = app.test_client()
    sign_in(client, ADMIN)
    nav = text_of(doc_of(client.get("/publish")).cssselect("nav.desk-nav")[0])
    assert "Webhooks 1 deaktiviert" in nav
    page = doc_of(client.get("/publish/webhooks"))
    assert "1 Webhook ist deaktiviert" in text_of(page.cssselect(".notice")[0])
    enabled = post(client, f"/publish/webhooks/{endpoint['id']}/enable", {}, page="/publish/webhooks")
    assert enabled.status_code == 303
    send(app, clock)
    assert [event for event, _ in newsroom.events()] == ["release.published", "release.published"]
    assert newsroom.events()[1][1] == guid(app, second), "in order, once enabled"
    assert "deaktiviert" not in text_of(doc_of(client.get("/publish")).cssselect("nav.desk-nav")[0])


def test_an_endpoint_answering_410_is_disabled_at_once_and_redirects_are_not_followed(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver, other_newsroom: Receiver
) -> None:
    gone = subscribe(app, newsroom, admin)
    moved = subscribe(app, other_newsroom, admin)
    newsroom.statuses = [410]
    other_newsroom.statuses = [308]
    other_newsroom.headers_to_send = {"Location": "https://elsewhere.example.test/hooks"}
    add_release(app, title="Weg", minutes_ago=0)
    (first, second) = sorted(deliver(app, clock), key=lambda attempt: attempt.endpoint_id)
    assert first.endpoint_id == gone["id"] and first.disabled and first.status == 410
    assert second.endpoint_id == moved["id"] and not second.disabled and second.status == 308
    assert "redirects are not followed: register https://elsewhere.example.test/hooks" in second.error
    assert '{"error": "busy"}' in second.error, "the start of the answer is kept"
    log = (
        app.test_client().get(f"/api/v1/webhooks/{moved['id']}/deliveries", headers=bearer(admin)).get_json()
    )
    assert log["items"][0]["last_status"] == 308 and log["items"][0]["status"] == "pending"
    clock.advance(minutes=1)
    send(app, clock)
    assert len(newsroom.requests) == 1, "disabled: nothing more"
    assert len(other_newsroom.delivered) == 1, "the retry went to the URL registered"


def test_a_retry_waits_as_long_as_retry_after_asks() -> None:
    now = from_micros(0)
    assert 5 <= webhooks.retry_delay_s(0, "", now) <= 5.5
    assert webhooks.retry_delay_s(0, "120", now) == 120
    assert webhooks.retry_delay_s(3, "120", now) >= 7200, "never sooner than the schedule"
    assert webhooks.retry_delay_s(0, "Thu, 01 Jan 1970 00:10:00 GMT", now) == 600
    assert webhooks.retry_delay_s(0, "999999999", now) == webhooks.MAX_RETRY_AFTER_S
    assert 5 <= webhooks.retry_delay_s(0, "bald", now) <= 5.5
    assert 36000 <= webhooks.retry_delay_s(50, "", now) <= 39600, "then every 10 hours"


def test_two_workers_never_send_one_delivery_twice(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin)
    add_release(app, title="Einmal", minutes_ago=0)
    cycle(app, clock)
    cycle(app, clock)
    assert rows_of(app, WebhookDelivery) == 1, "a second fan-out adds nothing"
    newsroom.open.clear()  # the newsroom is slow: the first worker waits in its POST
    results: list[list[webhooks.Attempt]] = []
    first = threading.Thread(target=lambda: results.append(send(app, clock)))
    first.start()
    try:
        wait_until(lambda: newsroom.arrived == 1, 10, "the first worker reaches the newsroom")
        assert send(app, clock) == [], "the second worker kept off the endpoint it holds"
    finally:
        newsroom.open.set()
        first.join(timeout=30)
    assert [attempt.ok for attempt in results[0]] == [True]
    assert send(app, clock) == [] and len(newsroom.requests) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="row locks of PostgreSQL (FEEDSVC_TEST_DATABASE_URL)")
def test_on_postgresql_a_fan_out_under_way_is_skipped_by_another_worker(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin)
    add_release(app, title="Gesperrt", minutes_ago=0)
    with app.app_context():
        holder = db.make_sessionmaker(db.engine())()
    try:
        claimed = outbox.claim(holder, outbox.WEBHOOKS_TARGET, micros(clock.now))
        assert claimed is not None, "one worker holds the target's row (FOR UPDATE)"
        report = cycle(app, clock)  # another worker, meanwhile
        assert report.ordered == 1 and report.webhooks.entries == 0, "SKIP LOCKED: it went on"
        assert rows_of(app, WebhookDelivery) == 0
    finally:
        holder.rollback()
        holder.close()
    assert cycle(app, clock).webhooks.entries == 1
    assert rows_of(app, WebhookDelivery) == 1


# --- metrics and health ---------------------------------------------------------------------------


def test_metrics_and_healthz_report_each_endpoint(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver, other_newsroom: Receiver
) -> None:
    ok = subscribe(app, newsroom, admin)
    failing = subscribe(app, other_newsroom, admin)
    other_newsroom.status = 503
    add_release(app, title="Gezählt", minutes_ago=0)
    deliver(app, clock)
    client = app.test_client()
    families = {family.name: family for family in text_string_to_metric_families(client.get("/metrics").text)}
    delivered = {s.labels["endpoint"]: s.value for s in families["feedsvc_webhook_delivered"].samples}
    failures = {s.labels["endpoint"]: s.value for s in families["feedsvc_webhook_failures"].samples}
    pending = {s.labels["endpoint"]: s.value for s in families["feedsvc_webhook_pending"].samples}
    assert delivered == {str(ok["id"]): 1, str(failing["id"]): 0}
    assert failures[str(failing["id"])] == 1 and pending[str(failing["id"])] == 1
    lag = {s.labels["target"] for s in families["feedsvc_delivery_lag_seconds"].samples}
    assert outbox.WEBHOOKS_TARGET in lag
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok", "a newsroom that is down is its own trouble"
    assert health["webhooks"]["total"] == 2 and health["webhooks"]["pending"] == 1
    assert [each["id"] for each in health["webhooks"]["failing"]] == [failing["id"]]
    assert outbox.WEBHOOKS_TARGET in health["delivery"]["targets"]


# --- bad input ------------------------------------------------------------------------------------


BAD_URLS = [
    ("ftp://newsroom.example.test/hook", "https://"),
    ("javascript:alert(1)", "https://"),
    ("/hooks/feedsvc", "https://"),
    ("http://newsroom.example.test/hook", "https://"),
    ("http://10.0.0.1/hook", "https://"),
    ("https://user:secret@newsroom.example.test/hook", "user name or password"),
    ("https://newsroom.example.test/hook#top", "fragment"),
    ("https://newsroom.example.test:99999/hook", "not a valid URL"),
    ("https://newsroom.example.test/hook mit leerzeichen", "ASCII"),
    ("https://redaktion.münchen.de/hook", "punycode"),
    ("https://newsroom.example.test/\x00", "control"),
    ("https://", "https://"),
    ("https://newsroom.example.test/" + "a" * 2000, "at most 2000"),
]


@pytest.mark.parametrize(("url", "said"), BAD_URLS)
def test_an_unusable_url_is_refused(url: str, said: str) -> None:
    problem = url_problem(url, production=False)
    assert problem is not None and said in problem, problem


def test_which_urls_are_taken() -> None:
    for url in ("https://newsroom.example.test/hooks?feed=1", "https://[2001:db8::1]:8443/h"):
        assert url_problem(url, production=True) is None, url
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://127.5.5.5/",
    ):
        assert url_problem(url, production=False) is None, url
        assert "https://" in (url_problem(url, production=True) or ""), "never in production"


def test_the_api_refuses_bad_input_and_stores_nothing(app: Flask, admin: str) -> None:
    client = app.test_client()
    base = {"url": "https://newsroom.example.test/hook"}
    cases: list[tuple[Any, str]] = [
        ({**base, "url": 5}, "url"),
        ({**base, "cities": "rosenheim"}, "cities"),
        ({**base, "cities": ["atlantis"]}, "cities.0"),
        ({**base, "topics": ["Kultur!"]}, "topics.0"),
        ({**base, "regions": ["region-rosenheim"], "urgency": "1"}, "urgency"),
        ({**base, "urgency": 12}, "urgency"),
        ({**base, "q": "x" * 501}, "q"),
        ({**base, "subscription": "aaaaaaaaaaaaaaaa"}, "subscription"),
        ({**base, "subscription": "x", "cities": ["rosenheim"]}, "subscription"),
        ({**base, "description": ["a"]}, "description"),
        ({**base, "description": "x" * 501}, "description"),
        ({**base, "secret": "whsec_mine"}, "secret"),
        ({"url": "http://newsroom.example.test/hook"}, "url"),
        ({}, "url"),
    ]
    for body, field in cases:
        answer = client.post("/api/v1/webhooks", json=body, headers=bearer(admin))
        assert field in field_errors(answer), (body, answer.get_json())
    assert problem_of(client.post("/api/v1/webhooks", json=[base], headers=bearer(admin)), 422)
    assert problem_of(client.post("/api/v1/webhooks", data="{nope", headers={**bearer(admin),
                      "Content-Type": "application/json"}), 400)  # fmt: skip
    huge = {**base, "description": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    assert problem_of(client.post("/api/v1/webhooks", json=huge, headers=bearer(admin)), 413)
    publisher = make_token(app)
    assert problem_of(client.post("/api/v1/webhooks", json=base, headers=bearer(publisher)), 403)
    assert problem_of(client.get("/api/v1/webhooks", headers=bearer(publisher)), 403)
    assert problem_of(client.get("/api/v1/webhooks"), 401)
    assert rows_of(app, WebhookEndpoint) == 0 and rows_of(app, Subscription) == 0, "nothing stored"
    for method, path in (
        ("get", "/api/v1/webhooks/7"),
        ("delete", "/api/v1/webhooks/7"),
        ("post", "/api/v1/webhooks/7/enable"),
        ("get", "/api/v1/webhooks/7/deliveries"),
        ("post", "/api/v1/webhooks/7/deliveries/1/redeliver"),
        ("get", f"/api/v1/webhooks/{2**40}"),
    ):
        assert problem_of(getattr(client, method)(path, headers=bearer(admin)), 404)
    created = register(app, "https://newsroom.example.test/hook", admin)
    assert "secret" not in client.get(f"/api/v1/webhooks/{created['id']}", headers=bearer(admin)).get_json()
    for query in ("limit=0", "limit=x", "before=-1", f"before={'9' * 5000}"):
        answer = client.get(f"/api/v1/webhooks/{created['id']}/deliveries?{query}", headers=bearer(admin))
        assert problem_of(answer, 400), query
    path = f"/api/v1/webhooks/{created['id']}/deliveries/{2**70}/redeliver"
    assert problem_of(client.post(path, headers=bearer(admin)), 404)


def test_registering_with_a_filter_or_a_key_and_managing_through_the_api(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    client = app.test_client()
    created = register(app, newsroom.url, admin, cities=["rosenheim"], topics=["verkehr"], description="OVB")
    assert created["secret"].startswith("whsec_") and len(created["secret"]) == 50
    assert created["subscription"]["cities"] == ["rosenheim"] and created["created_by"]
    again = register(app, newsroom.url, admin, subscription=created["subscription"]["key"])
    assert again["subscription"] == created["subscription"] and again["secret"] != created["secret"]
    listed = client.get("/api/v1/webhooks", headers=bearer(admin)).get_json()
    assert [each["id"] for each in listed] == [created["id"], again["id"]]
    assert all("secret" not in each for each in listed)
    enabled = client.post(f"/api/v1/webhooks/{again['id']}/enable", headers=bearer(admin))
    assert enabled.status_code == 200 and enabled.get_json()["enabled"] is True
    assert client.delete(f"/api/v1/webhooks/{again['id']}", headers=bearer(admin)).status_code == 204
    assert problem_of(client.get(f"/api/v1/webhooks/{again['id']}", headers=bearer(admin)), 404)
    with app.app_context():
        actions = db.session().scalars(select(AuditEvent.action).where(AuditEvent.subject_kind == "webhook"))
        assert sorted(actions) == ["webhook.created", "webhook.created", "webhook.removed"]
    for release in range(3):
        add_release(app, title=f"Meldung {release}", topics=("verkehr",), minutes_ago=0)
    deliver(app, clock)
    page = client.get(
        f"/api/v1/webhooks/{created['id']}/deliveries?limit=2", headers=bearer(admin)
    ).get_json()
    assert len(page["items"]) == 2 and page["next"]
    rest = client.get(page["next"].removeprefix(BASE_URL), headers=bearer(admin)).get_json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert [each["release_id"] for each in page["items"] + rest["items"]] == [3, 2, 1], "newest first"


def test_the_commands_manage_webhooks_and_refuse_bad_input(
    app: Flask, clock: FakeClock, newsroom: Receiver
) -> None:
    runner = app.test_cli_runner()

    def run(*args: str) -> Any:
        return runner.invoke(args=["webhooks", *args])

    for args, said in (
        (["add", "ftp://x.example.test/"], "URL: must be an absolute https:// URL"),
        (["add", "https://x.example.test/", "--city", "atlantis"], "--city: unknown city 'atlantis'"),
        (["add", "https://x.example.test/", "--city", "Rosenheim!"], "--city"),
        (["add", "https://x.example.test/", "--urgency", "0"], "--urgency"),
        (["add", "https://x.example.test/", "--description", "x" * 501], "--description"),
        (["add", "https://x.example.test/", "--subscription", "nope"], "--subscription: no subscription"),
        (["remove", "9"], "no webhook 9"),
        (["enable", "9"], "no webhook 9"),
        (["deliveries", "9"], "no webhook 9"),
        (["redeliver", "9", "1"], "no webhook 9"),
    ):
        result = run(*args)
        assert result.exit_code == 1 and said in result.output, (args, result.output)
    assert run("remove", "0").exit_code == 2 and run("remove", "x").exit_code == 2
    assert rows_of(app, WebhookEndpoint) == 0 and rows_of(app, Subscription) == 0
    added = run("add", newsroom.url, "--city", "rosenheim", "--description", "Lokalredaktion")
    assert added.exit_code == 0, added.output
    newsroom.secret = added.stdout.strip()
    assert newsroom.secret.startswith("whsec_") and "shown only now" in added.stderr
    add_release(app, title="Per Befehl", minutes_ago=0)
    deliver(app, clock)
    assert newsroom.events() == [("release.published", guid(app, 1))]
    listed = run("list")
    assert "Lokalredaktion" in listed.output and "delivered 1" in listed.output
    log = run("deliveries", "1")
    assert "release.published" in log.output and "delivered" in log.output
    assert "has no delivery 5" in run("redeliver", "1", "5").output
    again = run("redeliver", "1", "1")
    assert again.exit_code == 0, again.output
    send(app, clock)
    assert [each.webhook_id for each in newsroom.delivered][1:] == [newsroom.delivered[0].webhook_id]
    assert "was enabled already" in run("enable", "1").output
    assert run("remove", "1").exit_code == 0 and rows_of(app, WebhookDelivery) == 0


def test_the_desk_shows_webhooks_to_admins_only(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    created = subscribe(app, newsroom, admin, cities=["rosenheim"], description="Lokalredaktion <b>OVB</b>")
    add_release(app, title="Im Protokoll", minutes_ago=0)
    deliver(app, clock)
    make_user(app, ADMIN, role="admin", cities=())
    make_user(app)
    editor = app.test_client()
    sign_in(editor)
    assert editor.get("/publish/webhooks").status_code == 403
    assert editor.get(f"/publish/webhooks/{created['id']}").status_code == 403
    assert "Webhooks" not in text_of(doc_of(editor.get("/publish")).cssselect("nav.desk-nav")[0])
    client = app.test_client()
    sign_in(client, ADMIN)
    listing = client.get("/publish/webhooks")
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "private, no-store"
    assert newsroom.url in text_of(doc_of(listing)) and "<b>" not in listing.get_data(as_text=True)
    log = doc_of(client.get(f"/publish/webhooks/{created['id']}"))
    assert "Zugestellt" in text_of(log) and newsroom.delivered[0].webhook_id in text_of(log)
    assert client.get("/publish/webhooks/999").status_code == 404
    assert client.get(f"/publish/webhooks/{2**40}").status_code == 404
    page = f"/publish/webhooks/{created['id']}"
    assert post(client, f"{page}/deliveries/77/redeliver", {}, page=page).status_code == 404
    assert post(client, f"{page}/deliveries/{2**70}/redeliver", {}, page=page).status_code == 404
    assert client.post(f"{page}/deliveries/1/redeliver").status_code == 400, "no CSRF secret"
    again = post(client, f"{page}/deliveries/1/redeliver", {}, page=page)
    assert again.status_code == 303
    send(app, clock)
    assert len(newsroom.delivered) == 2


def test_a_release_moved_under_embargo_again_is_sent_again_at_its_new_instant(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin)
    release_id = add_release(app, title="Zu früh", minutes_ago=0)
    deliver(app, clock)
    later = clock.now + timedelta(hours=1)
    correct(app, release_id, title="Erst um 13 Uhr", published_at=later.isoformat())
    deliver(app, clock)
    assert len(newsroom.requests) == 1, "under embargo again: nothing before its instant"
    clock.advance(hours=1)
    deliver(app, clock)
    assert newsroom.events() == [
        ("release.published", guid(app, release_id)),
        ("release.corrected", guid(app, release_id)),
    ]
    assert newsroom.delivered[1].payload is not None
    assert newsroom.delivered[1].payload["data"]["headlines"][0]["value"] == "Erst um 13 Uhr"


def test_the_worker_sends_webhooks_in_a_thread_and_with_once(
    app: Flask, admin: str, clock: FakeClock, newsroom: Receiver
) -> None:
    subscribe(app, newsroom, admin)
    add_release(app, title="Im Hintergrund", minutes_ago=0)
    cycle(app, clock)
    stop = threading.Event()
    with app.app_context():
        settings = webhook_settings_of_app()
        sender = threading.Thread(
            target=webhooks.run,
            args=(db.engine(), settings, clock),
            kwargs={"stop": stop, "look_interval": 0.05},
        )
    sender.start()
    try:
        wait_until(lambda: len(newsroom.delivered) == 1, 10, "the thread sends what is due")
    finally:
        stop.set()
        sender.join(timeout=10)
    assert not sender.is_alive()
    add_release(app, title="Mit --once", minutes_ago=0)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "webhooks: 1 deliveries from 1 changes" in result.output
    assert "webhook 1: release.published msg_" in result.output and "delivered (HTTP 204)" in result.output
    assert [each.payload["data"]["headlines"][0]["value"] for each in newsroom.delivered if each.payload] == [
        "Im Hintergrund",
        "Mit --once",
    ]
