"""Uploads through `POST /api/v1/media`: what is kept, what is served, what is refused.

Real files (tests/media_support.py) into a real media folder and database: a photo with
the metadata a phone writes comes back upright, without its GPS position, with its
caption and credit as XMP; every refused upload leaves no row and no file behind.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedsvc import db
from feedsvc.media.metadata import read_image_text
from feedsvc.media.storage import FileStorage, content_key
from feedsvc.models import Media
from feedsvc.web.media import STORAGE, _download_disposition
from tests.api_support import RELEASE, bearer, field_errors, make_token, problem_of, snapshot
from tests.conftest import AppFactory
from tests.factories import make_catalog
from tests.media_support import (
    SVG_PLAIN,
    SVG_SCRIPT,
    camera_jpeg,
    corrupt_png,
    decoded,
    gif,
    pdf,
    png,
    png_bomb,
    upload,
    webp,
)

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
CAPTION = "Oberbürgermeister Andreas März eröffnet die Innbrücke"
CREDIT = "Foto: Stadt Rosenheim"


def files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


@pytest.fixture
def media_folder(api: Flask) -> Path:
    return Path(api.config["MEDIA_PATH"])


def uploaded(client: FlaskClient, token: dict[str, str], data: bytes, filename: str, **fields: str) -> Any:
    response = upload(client, token, data, filename, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def fetched(client: FlaskClient, url: str, method: str = "GET") -> TestResponse:
    """The answer for a served upload, read whole and closed (which closes its file, as a
    WSGI server does)."""
    response = client.open(url.removeprefix("http://feeds.example.test"), method=method)
    assert response.status_code == 200, url
    response.get_data()
    response.close()
    return response


# --- what is kept and served -----------------------------------------------------------------------


def test_a_phone_photo_is_served_upright_without_its_camera_metadata_and_with_its_caption(
    client: FlaskClient, token: dict[str, str]
) -> None:
    body = uploaded(client, token, camera_jpeg(), "IMG_0815.JPG", caption=CAPTION, credit=CREDIT)
    assert body["kind"] == "image" and body["type"] == "image/jpeg"
    # Stored 2400 × 1600 and sideways: shown upright, 1600 × 2400.
    assert (body["width"], body["height"]) == (1600, 2400)
    assert body["url"].startswith("http://feeds.example.test/media/") and body["url"].endswith("/full.jpg")
    assert (body["caption"], body["credit"], body["name"]) == (CAPTION, CREDIT, "IMG_0815.JPG")
    for name, rendition in body["renditions"].items():
        served = fetched(client, rendition["url"])
        data = served.get_data()
        assert served.mimetype == rendition["type"] == "image/jpeg", name
        assert int(served.headers["Content-Length"]) == len(data) == rendition["length"], name
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert served.headers["ETag"] == f'"{content_key(data)}"'
        image = Image.open(io.BytesIO(data))
        assert image.size == (rendition["width"], rendition["height"]), name
        assert dict(image.getexif()) == {}, f"{name}: EXIF (GPS, camera, orientation) must be gone"
        assert b"SN-4711" not in data and b"Erika Mustermann" not in data and b"GPS" not in data
        text = read_image_text(data)
        assert (text.caption, text.alt_text, text.credit) == (CAPTION, CAPTION, CREDIT), name
    widths = {name: rendition["width"] for name, rendition in body["renditions"].items()}
    assert widths == {"full": 1600, "page": 1440, "feed": 1200}
    full = decoded(fetched(client, body["url"]).get_data())
    # The top of the stored picture (its first rows, bright at the right) is now its right side.
    assert full.getpixel((1599, 0)) != full.getpixel((0, 2399))


@pytest.mark.parametrize(
    ("make", "media_type", "extension"), [(png, "image/png", "png"), (webp, "image/webp", "webp")]
)
def test_png_and_webp_keep_their_type_and_are_never_scaled_up(
    client: FlaskClient, token: dict[str, str], make: Callable[[], bytes], media_type: str, extension: str
) -> None:
    body = uploaded(client, token, make(), f"grafik.{extension}", caption="Lageplan", credit="Grafik: Stadt")
    assert (body["type"], body["width"], body["height"]) == (media_type, 640, 480)
    served = {name: fetched(client, each["url"]).get_data() for name, each in body["renditions"].items()}
    # Smaller than a page or a feed shows: every size is the full one, the same bytes.
    assert served["page"] == served["feed"] == served["full"]
    assert all(each["url"].endswith(f".{extension}") for each in body["renditions"].values())
    assert read_image_text(served["full"]).caption == "Lageplan"
    assert read_image_text(served["full"]).credit == "Grafik: Stadt"


def test_the_same_upload_again_costs_nothing_and_answers_200(
    api: Flask, client: FlaskClient, token: dict[str, str], media_folder: Path
) -> None:
    first = uploaded(client, token, png(), "plan.png", caption="Lageplan")
    kept = files_in(media_folder)
    again = upload(client, token, png(), "plan.png", caption="Lageplan")
    assert again.status_code == 200 and again.get_json() == first
    assert again.headers["Location"] == first["url"]
    assert files_in(media_folder) == kept
    other_caption = uploaded(client, token, png(), "plan.png", caption="Lageplan Innbrücke")
    assert other_caption["url"] != first["url"], "another caption is in other bytes: another upload"
    with api.app_context():
        assert db.session().scalar(select(func.count()).select_from(Media)) == 2


def test_a_pdf_is_served_as_it_was_uploaded_as_a_download_under_a_safe_name(
    client: FlaskClient, token: dict[str, str]
) -> None:
    document = pdf()
    body = uploaded(client, token, document, "/home/presse/Dokumente/Haushalt 2027 – Entwurf für März.pdf")
    assert (body["kind"], body["type"], body["pages"], body["length"]) == (
        "document",
        "application/pdf",
        2,
        len(document),
    )
    assert body["width"] is None and body["url"].endswith("/document.pdf")
    assert body["name"] == "Haushalt 2027 – Entwurf für März.pdf", "no folders of the sender's machine"
    served = fetched(client, body["url"])
    assert served.get_data() == document and served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"] == (
        'attachment; filename="Haushalt 2027  Entwurf fur Marz.pdf"; '
        "filename*=UTF-8''Haushalt%202027%20%E2%80%93%20Entwurf%20f%C3%BCr%20M%C3%A4rz.pdf"
    )
    assert "sandbox" in served.headers["Content-Security-Policy"]


def test_a_download_name_cannot_break_out_of_its_header() -> None:
    disposition = _download_disposition('Haushalt "2027";\r\nSet-Cookie: x=1 \\', "pdf")
    assert disposition == (
        'attachment; filename="Haushalt 2027Set-Cookie: x=1 .pdf"; '
        "filename*=UTF-8''Haushalt%20%222027%22%3B%0D%0ASet-Cookie%3A%20x%3D1%20%5C.pdf"
    )


def test_served_media_answer_conditional_requests_and_unknown_ones_404(
    client: FlaskClient, token: dict[str, str]
) -> None:
    body = uploaded(client, token, png(), "plan.png")
    path = body["url"].removeprefix("http://feeds.example.test")
    etag = fetched(client, body["url"]).headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    head = fetched(client, path, method="HEAD")
    assert head.get_data() == b"" and head.headers["Content-Length"] == str(body["length"])
    key = path.split("/")[2]
    for wrong in (
        f"/media/{key}/full.jpg",  # another extension
        f"/media/{key}/poster.png",  # no such rendition
        f"/media/{key}/document.pdf",
        f"/media/{'0' * 64}/full.png",
        "/media/../../etc/passwd",
        f"/media/{key.upper()}/full.png",
    ):
        assert client.get(wrong).status_code == 404, wrong


# --- what is refused ------------------------------------------------------------------------------

REFUSED = [
    pytest.param(
        png(), "pressefoto.jpg", "named as a JPEG image but its content is a PNG image", id="png-named-jpg"
    ),
    pytest.param(
        camera_jpeg(), "grafik.webp", "named as a WebP image but its content is a JPEG", id="jpeg-named-webp"
    ),
    pytest.param(SVG_PLAIN, "logo.svg", "SVG images are not accepted", id="svg"),
    pytest.param(SVG_SCRIPT, "logo.svg", "SVG images are not accepted", id="svg-with-script"),
    pytest.param(SVG_SCRIPT, "logo.png", "SVG images are not accepted", id="svg-named-png"),
    pytest.param(
        b"Sehr geehrte Damen und Herren", "brief.pdf", "named as a PDF but is no PDF", id="text-named-pdf"
    ),
    pytest.param(
        b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF",
        "haushalt.pdf",
        "starts like a PDF document but is none",
        id="broken-pdf",
    ),
    pytest.param(
        camera_jpeg()[: len(camera_jpeg()) // 2], "foto.jpg", "damaged or incomplete", id="truncated-jpeg"
    ),
    pytest.param(corrupt_png(), "plan.png", "damaged or incomplete", id="corrupt-png"),
    pytest.param(png_bomb(), "plan.png", "pixels, more than feedsvc decodes", id="decompression-bomb"),
    pytest.param(gif(), "animation.gif", "is a GIF image: upload a JPEG, PNG or WebP image", id="gif"),
    pytest.param(b"", "leer.jpg", "the file is empty", id="empty"),
    pytest.param(b"MZ\x90\x00\x03", "setup.exe", "no image or PDF document feedsvc knows", id="program"),
]


@pytest.mark.parametrize(("data", "filename", "message"), REFUSED)
def test_an_upload_that_is_not_what_it_claims_is_refused_and_nothing_is_kept(
    api: Flask,
    client: FlaskClient,
    token: dict[str, str],
    media_folder: Path,
    data: bytes,
    filename: str,
    message: str,
) -> None:
    before = snapshot(api)
    errors = field_errors(upload(client, token, data, filename, caption="Bild"))
    assert set(errors) == {"file"} and message in errors["file"], errors
    assert snapshot(api) == before
    assert files_in(media_folder) == []


def test_a_100_mb_upload_is_refused_before_it_is_read(client: FlaskClient, token: dict[str, str]) -> None:
    # The body announces 100 MB; the answer comes from its Content-Length, before any of it is read.
    response = client.post(
        "/api/v1/media",
        data=b"--B\r\n",
        headers=token,
        content_type="multipart/form-data; boundary=B",
        environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)},
    )
    assert "at most 20000000 bytes" in problem_of(response, 413)["detail"]


def test_a_file_over_the_configured_limit_is_refused_and_other_routes_keep_their_own(
    make_app: AppFactory, media_folder: Path
) -> None:
    app = make_app(MAX_UPLOAD_BYTES=100_000, MAX_CONTENT_LENGTH=4096)
    make_catalog(app)
    client, token = app.test_client(), bearer(make_token(app))
    large = camera_jpeg()
    assert len(large) > 100_000
    assert "at most 100000 bytes" in problem_of(upload(client, token, large, "foto.jpg"), 413)["detail"]
    assert upload(client, token, png(), "plan.png").status_code == 201  # within the limit
    # A release of 20 KB is far below the upload limit, and still refused: 4096 bytes there.
    release = {**RELEASE, "body": f"<p>{'Text ' * 4000}</p>"}
    problem_of(client.post("/api/v1/releases", json=release, headers=token), 413)


def test_uploading_needs_a_writing_token_and_a_multipart_body(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    assert upload(client, {}, png(), "plan.png").status_code == 401
    journalist = bearer(make_token(api, role="journalist", publisher=None))
    problem_of(upload(client, journalist, png(), "plan.png"), 403)
    problem_of(client.post("/api/v1/media", json={"file": "x"}, headers=token), 415)
    missing = client.post(
        "/api/v1/media", data={"caption": "Bild"}, headers=token, content_type="multipart/form-data"
    )
    assert field_errors(missing) == {"file": "Field required"}
    errors = field_errors(upload(client, token, png(), "plan.png", caption="x" * 1001, photographer="Erika"))
    assert set(errors) == {"caption", "photographer"}
    nameless = client.post(
        "/api/v1/media",
        data=b'--B\r\nContent-Disposition: form-data; name=""\r\n\r\nx\r\n--B--\r\n',
        headers=token,
        content_type="multipart/form-data; boundary=B",
    )
    assert field_errors(nameless) == {"(part)": "not a field of an upload", "file": "Field required"}
    as_text = client.post(
        "/api/v1/media", data={"file": "kein Bild"}, headers=token, content_type="multipart/form-data"
    )
    assert "must be a file" in field_errors(as_text)["file"]


class FullDisk(FileStorage):
    """A media folder that takes one blob and then runs out of space."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts = 0

    def put(self, key: str, data: bytes) -> bool:
        self.puts += 1
        if self.puts > 1:
            raise OSError(28, "No space left on device")
        return super().put(key, data)


def test_an_upload_the_disk_cannot_take_keeps_no_file_and_no_row(
    api: Flask, client: FlaskClient, token: dict[str, str], media_folder: Path
) -> None:
    api.extensions[STORAGE] = disk = FullDisk(media_folder)
    before = snapshot(api)
    response = upload(client, token, camera_jpeg(), "foto.jpg")
    assert problem_of(response, 503)["detail"] == "the upload could not be stored; try again later"
    assert disk.puts == 2, "the first rendition was written, the second was not"
    assert files_in(media_folder) == [] and snapshot(api) == before


# --- storage --------------------------------------------------------------------------------------


def test_the_file_storage_keeps_blobs_by_their_sha256(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "media")
    data = b"Pressefoto"
    key = content_key(data)
    assert not storage.exists(key)
    assert storage.put(key, data) is True
    assert storage.put(key, data) is False  # there already: nothing written
    with storage.open(key) as file:
        assert file.read() == data
    assert storage.path_of(key) == tmp_path / "media" / key[:2] / key[2:4] / key
    assert [path.name for path in (tmp_path / "media").rglob("*") if path.is_file()] == [key]
    with pytest.raises(ValueError, match="another SHA-256"):
        storage.put(content_key(b"anderes"), data)
    for bad in ("../../etc/passwd", key.upper(), key[:-1], ""):
        with pytest.raises(ValueError, match="not a storage key"):
            storage.exists(bad)
    storage.delete(key)
    storage.delete(key)  # gone already: fine
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


# --- releases naming uploads ----------------------------------------------------------------------


def test_a_release_naming_an_upload_gets_its_true_type_length_size_and_caption(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    image = uploaded(client, token, camera_jpeg(), "foto.jpg", caption=CAPTION, credit=CREDIT)
    document = uploaded(client, token, pdf(), "Haushaltsplan 2027.pdf")
    release = {
        **RELEASE,
        # What the client says of the upload's type and length is overruled by the upload.
        "images": [{"url": image["url"], "type": "image/png", "length": 1}],
        "attachments": [{"url": document["url"]}],
    }
    created = client.post("/api/v1/releases", json=release, headers=token)
    assert created.status_code == 201, created.get_data(as_text=True)
    out = created.get_json()
    assert out["images"] == [
        {
            "url": image["url"],
            "caption": CAPTION,
            "credit": CREDIT,
            "type": "image/jpeg",
            "length": image["length"],
            "width": 1600,
            "height": 2400,
        }
    ]
    assert out["attachments"] == [
        {
            "url": document["url"],
            "title": "Haushaltsplan 2027",
            "type": "application/pdf",
            "length": len(pdf()),
        }
    ]
    retried = client.post("/api/v1/releases", json={**release, "external_id": "ro-1"}, headers=token)
    assert (
        client.post("/api/v1/releases", json={**release, "external_id": "ro-1"}, headers=token).status_code
        == 200
    )
    assert retried.status_code == 201
    page = client.get(out["url"].removeprefix("http://feeds.example.test")).get_data(as_text=True)
    assert image["renditions"]["page"]["url"].removeprefix("http://feeds.example.test") in page
    assert 'width="1440" height="2160"' in page
    assert "Haushaltsplan 2027" in page and "(PDF, " in page


def test_a_release_image_with_its_own_caption_gets_an_upload_with_that_caption(
    client: FlaskClient, token: dict[str, str]
) -> None:
    image = uploaded(client, token, camera_jpeg(), "foto.jpg", caption=CAPTION, credit=CREDIT)
    release = {**RELEASE, "images": [{"url": image["url"], "caption": "Die neue Innbrücke bei Nacht"}]}
    out = client.post("/api/v1/releases", json=release, headers=token).get_json()
    named = out["images"][0]
    assert named["url"] != image["url"] and named["url"].endswith("/full.jpg")
    assert (named["caption"], named["credit"]) == ("Die neue Innbrücke bei Nacht", CREDIT)
    text = read_image_text(fetched(client, named["url"]).get_data())
    assert (text.caption, text.credit) == ("Die neue Innbrücke bei Nacht", CREDIT)
    assert (named["width"], named["height"]) == (1600, 2400)


def test_a_release_naming_no_upload_or_the_wrong_kind_is_refused(
    api: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    image = uploaded(client, token, png(), "plan.png")
    document = uploaded(client, token, pdf(), "plan.pdf")
    before = snapshot(api)
    release = {
        **RELEASE,
        "images": [
            {"url": f"http://feeds.example.test/media/{'0' * 64}/full.jpg"},
            {"url": document["url"]},
            {"url": image["url"].replace("/full.png", "/full.jpg")},
        ],
        "attachments": [
            {"url": image["url"]},
            {"url": "https://www.rosenheim.de/haushalt.pdf", "type": "image/png"},
        ],
    }
    errors = field_errors(client.post("/api/v1/releases", json=release, headers=token))
    assert set(errors) == {"attachments.1.type"}, "the schema's errors come first"
    release["attachments"] = release["attachments"][:1]
    errors = field_errors(client.post("/api/v1/releases", json=release, headers=token))
    assert errors == {
        "images.0.url": "no upload at this URL: upload the file first (POST /api/v1/media)",
        "images.1.url": "this upload is a PDF document, not an image: name it in attachments",
        "images.2.url": "no upload at this URL: upload the file first (POST /api/v1/media)",
        "attachments.0.url": "this upload is an image, not a PDF document: name it in images",
    }
    assert snapshot(api) == before


@pytest.mark.parametrize("unknown", [0, None])
def test_an_image_elsewhere_of_unknown_length_stays_unknown_never_0_in_feeds(
    client: FlaskClient, token: dict[str, str], unknown: int | None
) -> None:
    image = {"url": "https://www.rosenheim.de/bild.jpg", "caption": "Innbrücke"}
    assert field_errors(
        client.post("/api/v1/releases", json={**RELEASE, "images": [image]}, headers=token)
    ) == {"images.0.length": "Field required"}, (
        "an image elsewhere needs its length (0 or null: unknown); only uploads know theirs"
    )
    release = {**RELEASE, "images": [{**image, "length": unknown}]}
    out = client.post("/api/v1/releases", json=release, headers=token).get_json()
    assert out["images"][0]["length"] == 0 and "width" not in out["images"][0]
    atom = etree.fromstring(client.get("/cities/rosenheim/feed.atom").get_data())
    (enclosure,) = atom.iterfind(f"{{{ATOM}}}entry/{{{ATOM}}}link[@rel='enclosure']")
    assert enclosure.get("href") == "https://www.rosenheim.de/bild.jpg" and enclosure.get("length") is None
    (content,) = atom.iterfind(f"{{{ATOM}}}entry/{{{MEDIA}}}content")
    assert content.get("fileSize") is None
    rss = etree.fromstring(client.get("/cities/rosenheim/feed.rss").get_data())
    enclosures = rss.findall("channel/item/enclosure")
    assert [each.get("length") for each in enclosures] == ["0"], "RSS requires one: 0 is its unknown"
    feed = json.loads(client.get("/cities/rosenheim/feed.json").get_data())
    assert "size_in_bytes" not in feed["items"][0]["attachments"][0]
