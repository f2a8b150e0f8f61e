"""Signing in with a one-time link sent by e-mail, through a real SMTP server (aiosmtpd)
started for the test: single-use, expiring, stored as a hash, answered alike for
addresses with and without an account, throttled, and clear when mail cannot go out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bench.servers import free_port
from feedsvc import db
from feedsvc.models import SignInLink, User
from feedsvc.settings import ConfigError
from feedsvc.store import accounts
from feedsvc.store.secret_digest import hash_secret
from tests.conftest import BASE_URL, AppFactory, FakeClock
from tests.desk_support import doc_of, is_signed_in, make_user, post, session_rows, text_of
from tests.factories import BY_OPERATOR, make_catalog

ANNA = "anna@rosenheim.de"
SENDER = "Pressebereich <presse@feeds.example.test>"
LINK = re.compile(re.escape(BASE_URL) + r"(/publish/sign-in/link/[A-Za-z0-9_-]+)")


class Mailbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def mail_settings(port: int) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False, "SMTP_FROM": SENDER}


@pytest.fixture
def linked_app(make_app: AppFactory, mailbox: tuple[Mailbox, int]) -> Flask:
    app = make_app(**mail_settings(mailbox[1]))
    make_catalog(app)
    make_user(app, ANNA, password=None)
    return app


def request_link(client: FlaskClient, email: str = ANNA) -> Any:
    return post(client, "/publish/sign-in/link", {"email": email})


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)


def use(client: FlaskClient, path: str) -> Any:
    return post(client, path, {}, page=path)


def test_a_link_sent_by_email_signs_in_once(linked_app: Flask, mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    client = linked_app.test_client()
    response = request_link(client, "  Anna@Rosenheim.de ")
    assert response.status_code == 303
    flashed = text_of(doc_of(client.get("/publish")).cssselect(".flash")[0])
    assert "Anmeldelink unterwegs" in flashed and "15 Minuten" in flashed
    (message,) = box.messages
    assert box.recipients == [[ANNA]]
    assert message["To"] == ANNA and message["From"] == SENDER
    assert "Anmeldelink" in message["Subject"] and message["Auto-Submitted"] == "auto-generated"
    path = link_in(message)
    secret = path.rsplit("/", 1)[1]
    with linked_app.app_context():
        link = db.session().scalars(select(SignInLink)).one()
        assert link.secret_hash == hash_secret(secret), "only the hash is stored"

    opened = client.get(path)
    assert opened.status_code == 200 and not is_signed_in(client), "opening the link signs nobody in"
    assert doc_of(opened).cssselect("form button")
    used = use(client, path)
    assert used.status_code == 303 and is_signed_in(client)
    (row,) = session_rows(linked_app)
    assert row.method == "link"

    again = use(linked_app.test_client(), path)
    assert again.status_code == 410
    assert "schon benutzt" in text_of(doc_of(again).cssselect(".notice")[0])


def test_a_link_expires(linked_app: Flask, mailbox: tuple[Mailbox, int], clock: FakeClock) -> None:
    client = linked_app.test_client()
    request_link(client)
    path = link_in(mailbox[0].messages[0])
    clock.advance(minutes=15)
    assert use(client, path).status_code == 410
    assert not is_signed_in(client)


def test_an_address_without_an_account_is_answered_alike_and_gets_no_mail(
    linked_app: Flask, mailbox: tuple[Mailbox, int]
) -> None:
    client = linked_app.test_client()
    unknown = request_link(client, "niemand@rosenheim.de")
    unknown_flash = text_of(doc_of(client.get("/publish")).cssselect(".flash")[0])
    known = request_link(client, ANNA)
    known_flash = text_of(doc_of(client.get("/publish")).cssselect(".flash")[0])
    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["Location"] == known.headers["Location"]
    assert unknown_flash == known_flash
    assert mailbox[0].recipients == [[ANNA]]


def test_a_deactivated_user_gets_no_link_and_an_old_one_no_longer_signs_in(
    linked_app: Flask, mailbox: tuple[Mailbox, int], clock: FakeClock
) -> None:
    client = linked_app.test_client()
    request_link(client)
    path = link_in(mailbox[0].messages[0])
    with linked_app.app_context():
        user = accounts.user_by_email(db.session(), ANNA)
        assert user is not None
        accounts.deactivate_user(db.session(), user, clock(), by=BY_OPERATOR)
        db.session().commit()
    assert use(client, path).status_code == 410
    assert request_link(client).status_code == 303
    assert len(mailbox[0].messages) == 1


def test_after_a_link_the_user_sets_a_password_without_the_old_one(
    make_app: AppFactory, mailbox: tuple[Mailbox, int]
) -> None:
    app = make_app(**mail_settings(mailbox[1]))
    make_catalog(app)
    make_user(app, ANNA)  # with a password, which was forgotten
    client = app.test_client()
    request_link(client)
    use(client, link_in(mailbox[0].messages[0]))
    page = doc_of(client.get("/publish/account"))
    assert not page.cssselect("#f-current_password"), "the link was the proof"
    new = "Der Inn fließt nach Passau"
    fields = {"new_password": new, "repeat_password": new}
    response = post(client, "/publish/account/password", fields, page="/publish/account")
    assert response.status_code == 303
    with app.app_context():
        user = db.session().scalars(select(User)).one()
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert accounts.verify_password(user, new)


def test_link_requests_are_throttled_per_address_and_account(
    make_app: AppFactory, mailbox: tuple[Mailbox, int]
) -> None:
    app = make_app(**mail_settings(mailbox[1]), SIGN_IN_MAX_FAILURES=2)
    make_catalog(app)
    make_user(app, ANNA, password=None)
    client = app.test_client()
    statuses = [request_link(client).status_code for _ in range(4)]
    assert statuses == [303, 303, 429, 429]
    refused = request_link(client)
    assert "Zu viele" in text_of(doc_of(refused).cssselect("#f-link-email-error")[0])
    assert int(refused.headers["Retry-After"]) > 0
    assert len(mailbox[0].messages) == 2, "no mail for a refused request"


def test_unknown_links_are_throttled_per_address(make_app: AppFactory, mailbox: tuple[Mailbox, int]) -> None:
    app = make_app(**mail_settings(mailbox[1]), SIGN_IN_MAX_FAILURES_PER_ADDRESS=3)
    make_catalog(app)
    client = app.test_client()
    statuses = [use(client, f"/publish/sign-in/link/erraten{number}").status_code for number in range(5)]
    assert statuses == [410, 410, 410, 429, 429]
    assert client.get("/publish/sign-in/link/" + "x" * 201).status_code == 404


def test_a_mail_server_that_is_down_is_a_clear_error(make_app: AppFactory, caplog: Any) -> None:
    app = make_app(**mail_settings(free_port()))
    make_catalog(app)
    make_user(app, ANNA, password=None)
    client = app.test_client()
    response = request_link(client)
    assert response.status_code == 503
    assert "nicht versandt" in text_of(doc_of(response).cssselect("#f-link-email-error")[0])
    assert any("sign-in link not sent" in record.getMessage() for record in caplog.records)


def test_without_a_mail_server_no_links_are_offered(client: FlaskClient, app: Flask) -> None:
    make_catalog(app)
    make_user(app, ANNA)
    assert not doc_of(client.get("/publish")).cssselect("#f-link-email")
    response = request_link(client)
    assert response.status_code == 404
    assert "nicht eingerichtet" in text_of(doc_of(response).cssselect(".notice")[0])


def test_a_link_goes_to_the_base_url_whatever_host_the_request_named(
    linked_app: Flask, mailbox: tuple[Mailbox, int]
) -> None:
    # A link built on the request's Host would hand the secret to whoever chose that host.
    client, foreign = linked_app.test_client(), "http://evil.example"
    page = doc_of(client.get("/publish", base_url=foreign))
    token = str(page.cssselect("input[name=csrf_token]")[0].get("value"))
    response = client.post(
        "/publish/sign-in/link", data={"email": ANNA, "csrf_token": token}, base_url=foreign
    )
    assert response.status_code == 303
    body = mailbox[0].messages[-1].get_body(("plain",))
    assert body is not None and "evil.example" not in body.get_content()
    assert LINK.search(body.get_content())


def test_links_need_a_sender(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match="SMTP_FROM"):
        make_app(SMTP_HOST="127.0.0.1")
