"""Helpers of the desk's tests (accounts, sessions, sign-in): users made through the
store, forms posted with the page's CSRF secret, pages read with lxml."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from lxml.html import HtmlElement
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.models import DeskSession
from feedsvc.store import accounts
from tests.factories import BY_OPERATOR

PASSWORD = "Rosenheimer Herbstfest 2026"
ADDRESS = "192.0.2.10"


def doc_of(response: TestResponse) -> HtmlElement:
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def make_user(
    app: Flask,
    email: str = "presse@rosenheim.de",
    *,
    role: str = "editor",
    cities: tuple[str, ...] = ("rosenheim",),
    password: str | None = PASSWORD,
    name: str = "",
) -> int:
    with app.app_context():
        session = db.session()
        checked = accounts.check_new_user(
            session, email=email, name=name, role=role, city_slugs=cities, password=password
        )
        assert not isinstance(checked, list), checked
        user = accounts.create_user(session, checked, app.config["CLOCK"](), by=BY_OPERATOR)
        session.commit()
        return user.id


def csrf(client: FlaskClient, path: str = "/publish", address: str = ADDRESS) -> str:
    page = client.get(path, environ_base={"REMOTE_ADDR": address})
    field = doc_of(page).cssselect("input[name=csrf_token]")[0]
    return str(field.get("value"))


def post(
    client: FlaskClient, path: str, fields: dict[str, Any], *, page: str = "/publish", address: str = ADDRESS
) -> TestResponse:
    """Posts `fields` with the CSRF secret of `page`, as a browser at `address` would."""
    return client.post(
        path,
        data={**fields, "csrf_token": csrf(client, page, address)},
        environ_base={"REMOTE_ADDR": address},
    )


def post_bytes(
    client: FlaskClient,
    path: str,
    fields: dict[str, bytes],
    *,
    page: str = "/publish",
    address: str = ADDRESS,
) -> TestResponse:
    """Posts `fields` as multipart/form-data byte for byte (bytes that are no UTF-8 included)."""
    parts = [*fields.items(), ("csrf_token", csrf(client, page, address).encode())]
    body = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in parts
    )
    return client.post(
        path,
        data=body + b"--B--\r\n",
        content_type="multipart/form-data; boundary=B",
        environ_base={"REMOTE_ADDR": address},
    )


def sign_in(
    client: FlaskClient, email: str = "presse@rosenheim.de", password: str = PASSWORD, address: str = ADDRESS
) -> TestResponse:
    return post(client, "/publish/sign-in/password", {"email": email, "password": password}, address=address)


def session_rows(app: Flask) -> list[DeskSession]:
    with app.app_context():
        return list(db.session().scalars(select(DeskSession).order_by(DeskSession.id)))


def is_signed_in(client: FlaskClient) -> bool:
    """Whether the desk shows the releases (signed in) rather than the sign-in form."""
    return not doc_of(client.get("/publish")).cssselect("#f-password")
