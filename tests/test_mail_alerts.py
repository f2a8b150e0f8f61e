"""E-mail alerts of subscriptions through a real SMTP server (aiosmtpd on loopback): double
opt-in, alerts at the embargo instant and never before, major corrections but no minor
ones, retraction notices to exactly those who were told, the daily digest at its hour,
RFC 8058 one-click unsubscribe that deletes what was stored, the same answer for known and
unknown addresses, throttling, bad input refused in German with nothing stored, backoff
when the mail server is down, the rate limit, and the operator's export and deletion.

The worker's steps run in this process with the fake clock: the delivery cycle (whose
`mail` target queues the mails) and the sender's round (which sends them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from bench.servers import free_port
from feedsvc import db
from feedsvc.cli.worker import mail_settings_of_app, settings_of_app
from feedsvc.models import (
    AuditEvent,
    MailMessage,
    MailMessageRelease,
    MailSignUp,
    MailSubscriber,
    Release,
    Subscription,
)
from feedsvc.publishing.input import ReleasePatch
from feedsvc.publishing.subscriptions import Subscribed, SubscriptionIn, subscribe
from feedsvc.publishing.values import update_from_patch
from feedsvc.smtp import SmtpSettings
from feedsvc.store.changes import micros
from feedsvc.store.releases import References, resolve_references, retract_release, update_release
from feedsvc.worker import delivery
from feedsvc.worker import mail as mailing
from tests.conftest import BASE_URL, AppFactory, FakeClock
from tests.desk_support import doc_of, text_of
from tests.factories import add_release, make_catalog, patch_release, retract
from tests.test_sign_in_links import Mailbox

SENDER = "Pressemitteilungen <presse@feeds.example.test>"
ANNA = "anna@rosenheim.de"
BERND = "bernd@zeitung.example"
CONFIRM_LINK = re.compile(re.escape(BASE_URL) + r"(/email/confirm/[A-Za-z0-9_-]+)")
IMAGE = "https://www.rosenheim.de/bilder/innbruecke.jpg"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """One SMTP server for the module's tests; each test empties its mailbox first."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    box = smtp_server[0]
    box.messages.clear()
    box.recipients.clear()
    return box


def mail_config(port: int, **more: Any) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False, "SMTP_FROM": SENDER, **more}


@pytest.fixture
def alerting(make_app: AppFactory, smtp_server: tuple[Mailbox, int]) -> Flask:
    app = make_app(**mail_config(smtp_server[1]))
    make_catalog(app)
    return app


def subscription_key(app: Flask, **wanted: Any) -> str:
    """The key of a subscription of `wanted` (SubscriptionIn's fields), made if it is new."""
    with app.app_context():
        session = db.session()
        outcome = subscribe(session, SubscriptionIn.model_validate(wanted), app.config["CLOCK"]())
        assert isinstance(outcome, Subscribed)
        session.commit()
        return outcome.subscription.key


def work(app: Flask, clock: FakeClock) -> mailing.SendReport:
    """One delivery cycle (the mail target queues what the outbox holds), then one round of
    the sender, at the clock's time."""
    with app.app_context():
        report = delivery.run_cycle(db.session(), settings_of_app(), micros(clock.now))
        assert not report.busy
        settings = mail_settings_of_app()
        assert settings is not None
        sent = mailing.send_round(db.session(), settings, clock.now)
        db.session().close()
        return sent


def sign_up(
    client: FlaskClient, key: str, email: str = ANNA, mode: str = "immediate", **environ: Any
) -> TestResponse:
    return client.post(f"/subscriptions/{key}/email", data={"email": email, "mode": mode}, **environ)


def confirm_path(message: EmailMessage) -> str:
    found = CONFIRM_LINK.search(plain(message))
    assert found is not None, plain(message)
    return found.group(1)


def subscribed(
    app: Flask, client: FlaskClient, box: Mailbox, clock: FakeClock, key: str, **kwargs: Any
) -> str:
    """Signs up and confirms; returns the subscriber's token (of its unsubscribe link)."""
    before = len(box.messages)
    assert sign_up(client, key, **kwargs).status_code == 303
    work(app, clock)
    assert len(box.messages) == before + 1
    assert client.post(confirm_path(box.messages[-1])).status_code == 200
    address = kwargs.get("email", ANNA)
    with app.app_context():
        subscriber = (
            db.session().scalars(select(MailSubscriber).where(MailSubscriber.address == address)).one()
        )
        return subscriber.token


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def to(box: Mailbox, address: str) -> list[EmailMessage]:
    return [message for message, rcpt in zip(box.messages, box.recipients, strict=True) if rcpt == [address]]


# --- double opt-in -------------------------------------------------------------------------------------


def test_only_a_confirmation_goes_out_until_the_link_is_confirmed_with_its_button(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    form = client.get(f"/subscriptions/{key}/email")
    assert form.status_code == 200 and "Rosenheim" in text_of(doc_of(form).cssselect("h1 + p")[0])
    answer = sign_up(client, key, "  Anna@Rosenheim.DE ")
    assert answer.status_code == 303 and answer.headers["Location"] == "/email/requested"
    assert mailbox.messages == [], "the request itself sends nothing: the worker does"
    assert "Bestätigungslink" in text_of(doc_of(client.get("/email/requested")).cssselect(".notice")[0])

    add_release(alerting, title="Vor der Bestätigung", minutes_ago=0)
    work(alerting, clock)
    (message,) = mailbox.messages
    assert mailbox.recipients == [[ANNA]], "nothing but the confirmation before confirming"
    assert message["To"] == ANNA and message["From"] == SENDER
    assert message["Subject"] == "Bitte bestätigen: E-Mail-Benachrichtigungen zu Rosenheim"
    assert message["Auto-Submitted"] == "auto-generated" and message["List-Unsubscribe"] is None
    assert message["Message-ID"].endswith("@feeds.example.test>")
    assert message.get_content_type() == "multipart/alternative"
    path = confirm_path(message)
    assert BASE_URL + path in html_part(message)
    with alerting.app_context():
        (row,) = db.session().scalars(select(MailSignUp)).all()
        assert path.rsplit("/", 1)[1] not in (row.secret_hash, row.address), "only the hash is stored"
        sent = db.session().scalars(select(MailMessage)).one()
        assert sent.sent_at is not None and sent.secret is None, "the secret goes with the sent mail"

    opened = client.get(path)
    assert opened.status_code == 200 and doc_of(opened).cssselect("form[method=post] button")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert count(alerting, MailSubscriber) == 0, "opening the link (a mail scanner) confirms nothing"
    confirmed = client.post(path)
    assert confirmed.status_code == 200 and "bestätigt" in text_of(doc_of(confirmed).cssselect("h1")[0])
    assert count(alerting, MailSubscriber) == 1
    again = client.post(path)
    assert again.status_code == 410 and "schon benutzt" in text_of(doc_of(again).cssselect(".notice")[0])

    work(alerting, clock)
    assert len(mailbox.messages) == 1, "the release before the confirmation is not sent afterwards"
    add_release(alerting, title="Nach der Bestätigung", minutes_ago=0)
    work(alerting, clock)
    assert [m["Subject"] for m in mailbox.messages[1:]] == ["Nach der Bestätigung"]


def test_an_unconfirmed_sign_up_expires_and_gets_nothing(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    sign_up(client, key)
    work(alerting, clock)
    path = confirm_path(mailbox.messages[0])
    clock.advance(hours=48)
    expired = client.post(path)
    assert expired.status_code == 410 and "abgelaufen" in text_of(doc_of(expired).cssselect(".notice")[0])
    add_release(alerting, title="Niemand bestätigt", minutes_ago=0)
    work(alerting, clock)
    assert len(mailbox.messages) == 1 and count(alerting, MailSubscriber) == 0
    clock.advance(hours=24)
    work(alerting, clock)  # its round prunes what neither counts nor can be confirmed
    assert count(alerting, MailSignUp) == 0 and count(alerting, MailMessage) == 0


def test_known_and_unknown_addresses_get_the_same_answer(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key)
    known, unknown = sign_up(client, key, ANNA), sign_up(client, key, BERND)
    assert (known.status_code, known.headers["Location"], known.data) == (
        unknown.status_code,
        unknown.headers["Location"],
        unknown.data,
    )
    work(alerting, clock)
    # Each address hears of it, and only itself: nobody else learns that one was subscribed.
    assert [m["To"] for m in mailbox.messages[1:]] == [ANNA, BERND]
    assert all(m["Subject"].startswith("Bitte bestätigen") for m in mailbox.messages[1:])


def test_confirming_again_with_the_other_mode_changes_the_mode_only(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    token = subscribed(alerting, client, mailbox, clock, key)
    sign_up(client, key, ANNA, "digest")
    work(alerting, clock)
    client.post(confirm_path(mailbox.messages[-1]))
    with alerting.app_context():
        (subscriber,) = db.session().scalars(select(MailSubscriber)).all()
        assert (subscriber.mode, subscriber.token) == ("digest", token)


# --- alerts ----------------------------------------------------------------------------------------------


def test_an_alert_goes_out_at_the_embargo_instant_and_not_before(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"], topics=["verkehr"])
    client = alerting.test_client()
    token = subscribed(alerting, client, mailbox, clock, key)
    instant = clock.now + timedelta(minutes=10)
    add_release(
        alerting,
        title="Innbrücke ab Montag gesperrt",
        topics=("verkehr",),
        summary="Die Innbrücke wird für zwei Wochen saniert.",
        images=[{"url": IMAGE, "caption": "Die Innbrücke", "credit": "Foto: Stadt Rosenheim", "length": 0}],
        published_at=instant,
    )
    add_release(alerting, title="Anderes Thema", topics=("kultur",), minutes_ago=0)
    work(alerting, clock)
    clock.advance(minutes=9, seconds=59)
    work(alerting, clock)
    assert len(mailbox.messages) == 1, "nothing before the embargo instant"
    clock.advance(seconds=1)
    work(alerting, clock)
    (alert,) = mailbox.messages[1:]
    assert alert["Subject"] == "Innbrücke ab Montag gesperrt"
    assert alert["To"] == ANNA and alert["From"] == SENDER
    assert alert["List-Unsubscribe"] == f"<{BASE_URL}/email/unsubscribe/{token}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alert["List-Id"].endswith(f"<{key}.feeds.example.test>")
    assert alert["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<[^<>@\s]+@feeds\.example\.test>", alert["Message-ID"])
    assert parsedate_to_datetime(alert["Date"]) == clock.now.replace(microsecond=0)
    assert [part.get_content_type() for part in alert.iter_parts()] == ["text/plain", "text/html"]
    with alerting.app_context():
        release = db.session().scalars(select(Release).where(Release.title.startswith("Innbrücke"))).one()
        link = f"{BASE_URL}/releases/{release.id}-{release.slug}"
    text = plain(alert)
    for expected in ("Innbrücke ab Montag gesperrt", "Die Innbrücke wird für zwei Wochen saniert.", link,
                     "Rosenheim · Verkehr", f"{BASE_URL}/email/unsubscribe/{token}", IMAGE):  # fmt: skip
        assert expected in text, expected
    page = lxml_html.fromstring(html_part(alert))
    (image,) = page.cssselect("img")
    assert image.get("src") == IMAGE and image.get("alt") == "Die Innbrücke"
    assert "Foto: Stadt Rosenheim" in text_of(page.cssselect("figcaption")[0])
    assert link in [a.get("href") for a in page.cssselect("a")]
    assert f"{BASE_URL}/email/unsubscribe/{token}" in [a.get("href") for a in page.cssselect("a")]
    work(alerting, clock)
    assert len(mailbox.messages) == 2, "a mail goes once"


def test_a_major_correction_alerts_with_its_note_and_a_minor_one_does_not(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key)
    release_id = add_release(alerting, title="Stadtfest am Samstag", minutes_ago=0)
    work(alerting, clock)
    clock.advance(minutes=5)
    minor(alerting, release_id, "Stadtfest am Samstag!")
    work(alerting, clock)
    assert [m["Subject"] for m in mailbox.messages[1:]] == ["Stadtfest am Samstag"], "no mail for a typo"
    clock.advance(minutes=5)
    note = "Das Fest beginnt um 14 Uhr, nicht um 12 Uhr."
    patch_release(alerting, release_id, ReleasePatch.model_validate({"title": "Stadtfest ab 14 Uhr",
                                                                     "correction_note": note}))  # fmt: skip
    work(alerting, clock)
    corrected = mailbox.messages[-1]
    assert corrected["Subject"] == "Korrigiert: Stadtfest ab 14 Uhr"
    assert note in plain(corrected) and note in html_part(corrected)


def minor(app: Flask, release_id: int, title: str) -> None:
    """A minor correction (`"change": "minor"`), as the API makes it."""
    with app.app_context():
        session = db.session()
        release = session.get(Release, release_id)
        assert release is not None
        refs = resolve_references(session, release.city.slug, [topic.slug for topic in release.topics])
        assert isinstance(refs, References)
        patch = ReleasePatch.model_validate({"title": title, "change": "minor"})
        update_release(session, release, update_from_patch(patch), refs, app.config["CLOCK"](), major=False)
        session.commit()


def test_a_correction_under_embargo_is_no_second_mail(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key)
    release_id = add_release(alerting, title="Entwurf", published_at=clock.now + timedelta(hours=1))
    patch_release(alerting, release_id, ReleasePatch.model_validate({"title": "Endgültig"}))
    clock.advance(hours=1)
    work(alerting, clock)
    assert [m["Subject"] for m in mailbox.messages[1:]] == ["Endgültig"]


def test_a_retraction_notice_goes_to_those_who_were_told_only(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key, email=ANNA)
    release_id = add_release(alerting, title="Falsche Meldung", minutes_ago=0)
    other_id = add_release(alerting, title="Richtige Meldung", minutes_ago=0)
    work(alerting, clock)
    subscribed(alerting, client, mailbox, clock, key, email=BERND)  # after the alert
    with alerting.app_context():
        release = db.session().get(Release, release_id)
        assert release is not None
        retract_release(db.session(), release, clock.now, reason="Der Termin war falsch angegeben.")
        db.session().commit()
    work(alerting, clock)
    notices = [m for m in mailbox.messages if m["Subject"].startswith("Zurückgezogen")]
    (notice,) = notices
    assert notice["To"] == ANNA and notice["Subject"] == "Zurückgezogen: Falsche Meldung"
    assert "Der Termin war falsch angegeben." in plain(notice)
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert to(mailbox, BERND)[-1]["Subject"].startswith("Bitte bestätigen"), "Bernd was never told of it"
    retract(alerting, other_id)
    work(alerting, clock)
    assert [m["Subject"] for m in to(mailbox, ANNA)][-1] == "Zurückgezogen: Richtige Meldung"


# --- digests ----------------------------------------------------------------------------------------------


def test_the_daily_digest_goes_out_at_its_hour_with_the_releases_of_the_day(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    # 25 November, 13:00 in Berlin; the digest is due at 07:00 Berlin (06:00 UTC) the next day.
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key, mode="digest")
    clock.advance(minutes=1)
    first = add_release(alerting, title="Wochenmarkt verlegt", minutes_ago=0)
    clock.advance(hours=2)
    add_release(alerting, title="Neue Buslinie", minutes_ago=0)
    add_release(alerting, city="muenchen", title="Nicht Rosenheim", minutes_ago=0)
    add_release(alerting, title="Sperrfrist morgen", published_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    clock.now = datetime(2026, 11, 26, 5, 59, tzinfo=UTC)
    work(alerting, clock)
    assert len(mailbox.messages) == 1, "no digest before its hour, and no alerts in digest mode"
    clock.now = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    work(alerting, clock)
    (digest,) = mailbox.messages[1:]
    assert digest["Subject"] == "2 neue Pressemitteilungen: Rosenheim"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = plain(digest)
    assert text.index("Neue Buslinie") < text.index("Wochenmarkt verlegt"), "newest first"
    assert "Nicht Rosenheim" not in text and "Sperrfrist morgen" not in text
    work(alerting, clock)
    clock.now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    work(alerting, clock)
    assert [m["Subject"] for m in mailbox.messages[2:]] == ["1 neue Pressemitteilung: Rosenheim"]
    assert "Sperrfrist morgen" in plain(mailbox.messages[2]), (
        "the embargoed one comes the day after it lifted"
    )
    clock.now = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    work(alerting, clock)
    assert len(mailbox.messages) == 3, "a day without releases: no digest"
    retract(alerting, first)
    work(alerting, clock)
    assert mailbox.messages[-1]["Subject"] == "Zurückgezogen: Wochenmarkt verlegt", "told in a digest"


def test_the_digest_hour_is_berlin_time_in_summer_too() -> None:
    summer = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert mailing.digest_instant(summer, 7) == summer
    assert mailing.digest_instant(summer - timedelta(seconds=1), 7) == summer - timedelta(days=1)
    winter = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 07:00 CET
    assert mailing.digest_instant(winter + timedelta(hours=5), 7) == winter


# --- unsubscribing and managing ---------------------------------------------------------------------------


def test_the_one_click_post_unsubscribes_at_once_and_deletes_what_was_stored(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    token = subscribed(alerting, client, mailbox, clock, key)
    add_release(alerting, title="Eine Meldung", minutes_ago=0)
    work(alerting, clock)
    path = f"/email/unsubscribe/{token}"
    page = client.get(path)
    assert page.status_code == 200 and doc_of(page).cssselect(f"form[action='{path}'] button")
    assert count(alerting, MailSubscriber) == 1, "opening the link unsubscribes nobody"
    # RFC 8058: a POST of "List-Unsubscribe=One-Click", no cookie, no CSRF field, no Origin.
    provider = alerting.test_client()
    done = provider.post(path, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert done.status_code == 200
    for model in (MailSubscriber, MailSignUp, MailMessage, MailMessageRelease):
        assert count(alerting, model) == 0, model
    assert provider.post(path, data="List-Unsubscribe=One-Click").status_code == 200, "again: the same"
    assert client.get(path).status_code == 410
    add_release(alerting, title="Danach", minutes_ago=0)
    work(alerting, clock)
    assert [m["Subject"] for m in mailbox.messages] == [mailbox.messages[0]["Subject"], "Eine Meldung"]


def test_the_manage_page_switches_to_the_digest(alerting: Flask, mailbox: Mailbox, clock: FakeClock) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    token = subscribed(alerting, client, mailbox, clock, key)
    page = client.get(f"/email/manage/{token}")
    assert page.status_code == 200 and ANNA not in page.get_data(as_text=True), "no address is shown"
    assert client.post(f"/email/manage/{token}", data={"mode": "wöchentlich"}).status_code == 422
    saved = client.post(f"/email/manage/{token}", data={"mode": "digest"})
    assert saved.status_code == 200 and "Gespeichert" in saved.get_data(as_text=True)
    add_release(alerting, title="Kommt in die Zusammenfassung", minutes_ago=0)
    work(alerting, clock)
    assert len(mailbox.messages) == 1
    assert client.get("/email/manage/unbekannt").status_code == 410


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Bitte geben Sie Ihre E-Mail-Adresse ein."),
        ("keine-adresse", "keine E-Mail-Adresse"),
        ("anna@rosenheim.de\r\nBcc: alle@example.org", "keine E-Mail-Adresse"),
        ("anna@rosenheim.de, bernd@zeitung.example", "keine E-Mail-Adresse"),
        ("ännä@rosenheim.de", "keine E-Mail-Adresse"),
        ("a" * 5000 + "@rosenheim.de", "zu lang"),
    ],
)
def test_bad_addresses_are_refused_in_german_and_nothing_is_stored(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock, email: str, message: str
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    response = sign_up(alerting.test_client(), key, email)
    assert response.status_code == 422
    assert message in text_of(doc_of(response).cssselect(".field__error")[0])
    work(alerting, clock)
    assert count(alerting, MailSignUp) == count(alerting, MailMessage) == 0 and mailbox.messages == []


def test_broken_encodings_unknown_modes_and_keys_are_refused(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    broken = client.post(
        f"/subscriptions/{key}/email",
        data=b"email=anna\xff\xfe@rosenheim.de&mode=immediate",
        content_type="application/x-www-form-urlencoded",
    )
    # Werkzeug drops a field that is not UTF-8: no address was given.
    assert broken.status_code == 422 and "Bitte geben Sie Ihre E-Mail-Adresse ein" in broken.get_data(
        as_text=True
    )
    odd_mode = sign_up(client, key, ANNA, "stündlich")
    assert odd_mode.status_code == 422 and "sofort oder einmal am Tag" in odd_mode.get_data(as_text=True)
    for unknown in ("aaaaaaaaaaaaaaaa", "x" * 5000, "ääääääääääääääää"):
        page = sign_up(client, unknown)
        assert page.status_code == 404 and "Abonnement gibt es nicht" in page.get_data(as_text=True)
    assert client.post("/email/confirm/" + "x" * 101).status_code == 404
    assert client.post("/email/confirm/erraten").status_code == 410
    huge = client.post(f"/subscriptions/{key}/email", data={"email": "a" * 2_000_000, "mode": "digest"})
    assert huge.status_code == 413
    work(alerting, clock)
    assert count(alerting, MailSignUp) == count(alerting, MailMessage) == 0 and mailbox.messages == []


def test_forms_sent_from_another_site_are_refused(alerting: Flask, mailbox: Mailbox) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        refused = sign_up(client, key, headers=headers)
        assert refused.status_code == 403 and "nicht von unserer Seite" in refused.get_data(as_text=True)
    assert (
        sign_up(client, key, headers={"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}).status_code == 303
    )
    assert count(alerting, MailSignUp) == 1


def test_sign_ups_are_throttled_per_address_and_per_client(
    make_app: AppFactory, smtp_server: tuple[Mailbox, int], mailbox: Mailbox, clock: FakeClock
) -> None:
    app = make_app(**mail_config(smtp_server[1], MAIL_SIGN_UPS_PER_ADDRESS=2, MAIL_SIGN_UPS_PER_CLIENT=3))
    make_catalog(app)
    key = subscription_key(app, cities=["rosenheim"])
    client = app.test_client()
    assert [sign_up(client, key, ANNA).status_code for _ in range(3)] == [303, 303, 429]
    refused = sign_up(client, key, ANNA)
    assert "zu viele" in refused.get_data(as_text=True) and int(refused.headers["Retry-After"]) > 0
    assert sign_up(client, key, BERND).status_code == 303
    assert sign_up(client, key, "carla@example.org").status_code == 429, "the client's limit"
    other_client = {"REMOTE_ADDR": "198.51.100.7"}
    assert sign_up(client, key, "carla@example.org", environ_base=other_client).status_code == 303
    clock.advance(hours=24)
    assert sign_up(client, key, ANNA).status_code == 303, "the window passed them"
    assert count(app, MailSignUp) == 5


# --- the site's pages -------------------------------------------------------------------------------------


def test_a_city_page_leads_to_the_sign_up_form(alerting: Flask) -> None:
    client = alerting.test_client()
    (form,) = doc_of(client.get("/cities/rosenheim/topics/verkehr")).cssselect("form[action='/email/new']")
    fields = {field.get("name"): field.get("value") for field in form.cssselect("input[type=hidden]")}
    assert fields == {"cities": "rosenheim", "topics": "verkehr"}
    made = client.post("/email/new", data=fields)
    assert made.status_code == 303
    key = made.headers["Location"].split("/")[2]
    assert made.headers["Location"] == f"/subscriptions/{key}/email"
    assert client.get(made.headers["Location"]).status_code == 200
    assert client.post("/email/new", data={"cities": "atlantis"}).status_code == 422


def test_without_a_mail_server_nothing_is_offered(app: Flask) -> None:
    make_catalog(app)
    key = subscription_key(app, cities=["rosenheim"])
    client = app.test_client()
    assert not doc_of(client.get("/cities/rosenheim")).cssselect("form[action='/email/new']")
    page = client.get(f"/subscriptions/{key}/email")
    assert page.status_code == 404 and "nicht eingerichtet" in page.get_data(as_text=True)
    assert sign_up(client, key).status_code == 404 and count(app, MailSignUp) == 0


# --- the mail server ---------------------------------------------------------------------------------------


def test_a_mail_server_that_is_down_is_retried_with_backoff(
    make_app: AppFactory, smtp_server: tuple[Mailbox, int], mailbox: Mailbox, clock: FakeClock
) -> None:
    app = make_app(**mail_config(free_port()))
    make_catalog(app)
    key = subscription_key(app, cities=["rosenheim"])
    assert sign_up(app.test_client(), key).status_code == 303
    report = work(app, clock)
    assert report.failed == 1 and report.sent == 0 and ANNA not in report.error
    with app.app_context():
        queued = db.session().scalars(select(MailMessage)).one()
        assert queued.attempts == 1 and queued.sent_at is None
        assert queued.next_attempt_at == clock.now + timedelta(seconds=30)
        settings = mail_settings_of_app()
        assert settings is not None
    assert work(app, clock).failed == 0, "not due again before its backoff"
    clock.advance(seconds=30)
    with app.app_context():
        up = replace(settings, smtp=SmtpSettings("127.0.0.1", smtp_server[1], SENDER, starttls=False))
        assert mailing.send_round(db.session(), up, clock.now).sent == 1
    assert mailbox.recipients == [[ANNA]]


def test_at_most_the_configured_mails_go_out_per_minute(
    make_app: AppFactory, smtp_server: tuple[Mailbox, int], mailbox: Mailbox, clock: FakeClock
) -> None:
    app = make_app(**mail_config(smtp_server[1], MAIL_PER_MINUTE=2))
    make_catalog(app)
    key = subscription_key(app, cities=["rosenheim"])
    client = app.test_client()
    for address in (ANNA, BERND, "carla@example.org"):
        sign_up(client, key, address)
    assert work(app, clock).sent == 2
    assert work(app, clock).sent == 0
    clock.advance(minutes=1)
    assert work(app, clock).sent == 1
    assert len(mailbox.messages) == 3


# --- the operator's commands --------------------------------------------------------------------------------


def test_export_and_delete_an_address_with_counts_in_the_audit_log(
    alerting: Flask, mailbox: Mailbox, clock: FakeClock
) -> None:
    key = subscription_key(alerting, cities=["rosenheim"])
    client = alerting.test_client()
    subscribed(alerting, client, mailbox, clock, key)
    release_id = add_release(alerting, title="Eine Meldung", minutes_ago=0)
    work(alerting, clock)
    runner = alerting.test_cli_runner()
    listed = runner.invoke(args=["mail-subscribers", "list"])
    assert listed.exit_code == 0 and ANNA in listed.output and key in listed.output
    exported = runner.invoke(args=["mail-subscribers", "export", "Anna@Rosenheim.de"])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.stdout)
    (subscription,) = data["subscriptions"]
    assert subscription["subscription"] == key and subscription["mode"] == "immediate"
    assert [mail["releases"] for mail in subscription["mails"]] == [[release_id]]
    assert len(data["sign_ups"]) == 1
    bad = runner.invoke(args=["mail-subscribers", "delete", "anna@rosenheim.de\nBcc: x@y.de"])
    assert bad.exit_code == 2 and count(alerting, MailSubscriber) == 1
    deleted = runner.invoke(args=["mail-subscribers", "delete", ANNA])
    assert deleted.exit_code == 0 and "deleted 1 subscriptions, 1 sign-ups" in deleted.output
    for model in (MailSubscriber, MailSignUp, MailMessage, MailMessageRelease):
        assert count(alerting, model) == 0, model
    with alerting.app_context():
        events = (
            db.session().scalars(select(AuditEvent).where(AuditEvent.action.like("mail_subscribers.%"))).all()
        )
        assert [event.action for event in events] == ["mail_subscribers.exported", "mail_subscribers.deleted"]
        assert all(ANNA not in f"{event.detail} {event.subject_id} {event.actor_label}" for event in events)
        assert json.loads(events[1].detail) == {"mails": 2, "sign_ups": 1, "subscribers": 1}
        assert db.session().scalar(select(func.count()).select_from(Subscription)) == 1, "the filter stays"
