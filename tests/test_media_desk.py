"""Files sent with the desk's release form: an image row or a document row takes a file
instead of an address; a refused file is named in German next to its field, and the form
keeps everything typed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.media.metadata import read_image_text
from feedsvc.models import Media, Release
from tests.api_support import snapshot
from tests.conftest import AppFactory
from tests.desk_support import ADDRESS, doc_of, make_user, sign_in, text_of
from tests.factories import make_catalog
from tests.media_support import SVG_SCRIPT, camera_jpeg, pdf, png

BASE = "http://feeds.example.test"
FORM = {
    "title": "Innbrücke wieder frei",
    "city": "rosenheim",
    "topics": "verkehr",
    "body": "<p>Die Innbrücke ist ab heute wieder für den Verkehr freigegeben.</p>",
    "action": "publish",
}


@pytest.fixture
def desk(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in as an editor of Rosenheim."""
    make_catalog(app)
    make_user(app)
    assert sign_in(client).status_code == 303
    return client


def send_form(client: FlaskClient, fields: dict[str, Any], path: str = "/publish/new") -> TestResponse:
    """Sends the form of `path` as the browser does: multipart, with the page's hidden fields."""
    page = doc_of(client.get(path, environ_base={"REMOTE_ADDR": ADDRESS}))
    hidden = {field.get("name"): field.get("value") for field in page.cssselect("input[type=hidden]")}
    assert page.cssselect("form.form")[0].get("enctype") == "multipart/form-data"
    return client.post(
        path,
        data={**hidden, **fields},
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": ADDRESS},
    )


def a_file(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def only_release(app: Flask) -> Release:
    with app.app_context():
        release = db.session().scalars(select(Release)).one()
        release.images, release.attachments  # noqa: B018 - loaded before the session ends
        return release


def test_an_image_and_a_pdf_uploaded_with_the_form_are_on_the_release_page(
    desk: FlaskClient, app: Flask
) -> None:
    response = send_form(
        desk,
        {
            **FORM,
            "images-0-file": a_file(camera_jpeg(), "IMG_0815.jpg"),
            "images-0-caption": "Die Innbrücke am Morgen",
            "images-0-credit": "Foto: Stadt Rosenheim",
            "attachments-0-file": a_file(pdf(), "Verkehrsführung.pdf"),
        },
    )
    assert response.status_code == 303, text_of(doc_of(response).cssselect(".error-summary")[0])
    release = only_release(app)
    (image,) = release.images
    assert image.url.startswith("/media/") and (image.width, image.height) == (1600, 2400)
    assert [attachment.title for attachment in release.attachments] == ["Verkehrsführung"]
    page = doc_of(desk.get(f"/releases/{release.id}-{release.slug}"))
    lead = page.cssselect("figure.figure--lead img")[0]
    assert lead.get("src").endswith("/page.jpg") and lead.get("alt") == "Die Innbrücke am Morgen"
    served = desk.get(lead.get("src"))
    text = read_image_text(served.get_data())
    served.close()
    assert (text.caption, text.credit) == ("Die Innbrücke am Morgen", "Foto: Stadt Rosenheim")
    listed = page.cssselect(".attachments li")
    assert len(listed) == 1 and text_of(listed[0]).startswith("Verkehrsführung (PDF, ")


def test_a_refused_upload_is_named_in_german_by_its_field_and_the_form_keeps_what_was_typed(
    desk: FlaskClient, app: Flask
) -> None:
    before = snapshot(app)
    response = send_form(
        desk,
        {
            **FORM,
            "images-0-file": a_file(png(), "pressefoto.jpg"),
            "images-0-caption": "Die Innbrücke",
            "attachments-0-file": a_file(SVG_SCRIPT, "plan.pdf"),
            "attachments-0-title": "Lageplan",
        },
    )
    assert response.status_code == 422
    page = doc_of(response)
    image_error = text_of(page.cssselect("#f-images-0-file-error")[0])
    assert image_error.startswith("Der Dateiname sagt JPEG, die Datei ist aber PNG.")
    assert "SVG-Grafiken werden nicht angenommen" in text_of(page.cssselect("#f-attachments-0-file-error")[0])
    assert page.cssselect("#f-images-0-file[aria-invalid=true]")
    # No "address missing" besides: the file's refusal says it all.
    assert not page.cssselect("#f-images-0-url-error") and not page.cssselect("#f-attachments-0-url-error")
    assert page.cssselect("#f-title")[0].get("value") == FORM["title"]
    assert page.cssselect("#f-images-0-caption")[0].get("value") == "Die Innbrücke"
    assert page.cssselect("#f-attachments-0-title")[0].get("value") == "Lageplan"
    summary = text_of(page.cssselect(".error-summary")[0])
    assert "Bild 1, Datei: Der Dateiname sagt JPEG" in summary
    assert snapshot(app) == before, "nothing published, nothing uploaded"


def test_an_upload_stays_in_the_form_when_another_field_is_wrong(desk: FlaskClient, app: Flask) -> None:
    response = send_form(
        desk,
        {**FORM, "title": "", "images-0-file": a_file(png(), "plan.png"), "images-0-caption": "Lageplan"},
    )
    assert response.status_code == 422
    page = doc_of(response)
    url = page.cssselect("#f-images-0-url")[0].get("value")
    assert url.startswith(f"{BASE}/media/") and url.endswith("/full.png")
    assert page.cssselect(".image-row__preview")[0].get("src").endswith("/feed.png")
    # Sent again with the title and without the file: the row's address is the upload.
    fields = {**FORM, "images-0-url": url, "images-0-caption": "Lageplan"}
    assert send_form(desk, fields).status_code == 303
    (image,) = only_release(app).images
    assert image.url == url.removeprefix(BASE) and image.media_id is not None
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Media)) == 1


def test_a_correction_keeps_the_uploads_and_can_add_one(desk: FlaskClient, app: Flask) -> None:
    assert send_form(desk, {**FORM, "images-0-file": a_file(png(), "plan.png")}).status_code == 303
    release = only_release(app)
    path = f"/publish/{release.id}/edit"
    page = doc_of(desk.get(path))
    url = page.cssselect("#f-images-0-url")[0].get("value")
    assert url.startswith(f"{BASE}/media/"), "an upload is shown by its address"
    fields = {
        **{key: value for key, value in FORM.items() if key != "action"},
        "images-0-url": url,
        "attachments-0-file": a_file(pdf(), "Umleitung.pdf"),
        "attachments-0-title": "Umleitungsplan",
    }
    assert send_form(desk, fields, path).status_code == 303
    corrected = only_release(app)
    assert [image.url for image in corrected.images] == [url.removeprefix(BASE)]
    assert [(each.title, each.length) for each in corrected.attachments] == [("Umleitungsplan", len(pdf()))]


def test_files_larger_than_the_upload_limit_get_a_german_page(make_app: AppFactory) -> None:
    app = make_app(MAX_UPLOAD_BYTES=50_000, MAX_CONTENT_LENGTH=50_000)
    make_catalog(app)
    make_user(app)
    client = app.test_client()
    assert sign_in(client).status_code == 303
    response = send_form(client, {**FORM, "images-0-file": a_file(camera_jpeg(), "foto.jpg")})
    assert response.status_code == 413
    assert "Die gesendeten Dateien sind zusammen zu groß" in text_of(doc_of(response).cssselect("main")[0])
