"""Feeds of releases with uploaded images and PDFs: every enclosure announces the length
the URL really serves, Media RSS `fileSize` is a positive integer, and Atom, RSS and JSON
Feed stay valid (feedparser, as aggregators read them)."""

from __future__ import annotations

import json
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from tests.api_support import RELEASE
from tests.media_support import camera_jpeg, decoded, pdf, png, upload, webp

BASE = "http://feeds.example.test"
ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"


def served(client: FlaskClient, url: str) -> tuple[bytes, str]:
    """The bytes and Content-Type at one of feedsvc's own URLs."""
    assert url.startswith(f"{BASE}/media/"), url
    response = client.get(url.removeprefix(BASE))
    assert response.status_code == 200, url
    data = response.get_data()
    response.close()
    assert int(response.headers["Content-Length"]) == len(data)
    return data, response.mimetype or ""


@pytest.fixture
def release_with_uploads(api: Flask, client: FlaskClient, token: dict[str, str]) -> dict[str, Any]:
    """A release with two uploaded photos, a PNG, an image elsewhere and a PDF, as the API shows it."""
    photo = upload(
        client, token, camera_jpeg(), "innbruecke.jpg", caption="Die Innbrücke", credit="Foto: Stadt"
    )
    plan = upload(client, token, png(), "plan.png", caption="Lageplan")
    other = upload(client, token, webp(), "umleitung.webp")
    document = upload(client, token, pdf(), "Umleitungsplan.pdf")
    for answer in (photo, plan, other, document):
        assert answer.status_code == 201, answer.get_data(as_text=True)
    release = {
        **RELEASE,
        "images": [
            {"url": photo.get_json()["url"]},
            {"url": plan.get_json()["url"]},
            {"url": other.get_json()["url"], "caption": "Umleitung über die Kufsteiner Straße"},
            {"url": "https://www.rosenheim.de/luftbild.jpg", "length": 48213},
        ],
        "attachments": [{"url": document.get_json()["url"], "title": "Umleitungsplan (PDF)"}],
    }
    created = client.post("/api/v1/releases", json=release, headers=token)
    assert created.status_code == 201, created.get_data(as_text=True)
    out: dict[str, Any] = created.get_json()
    return out


@pytest.mark.usefixtures("release_with_uploads")
def test_every_uploaded_enclosure_in_atom_has_its_true_length_type_and_size(client: FlaskClient) -> None:
    data = client.get("/cities/rosenheim/feed.atom").get_data()
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entry = etree.fromstring(data).find(f"{{{ATOM}}}entry")
    assert entry is not None
    enclosures = entry.findall(f"{{{ATOM}}}link[@rel='enclosure']")
    assert len(enclosures) == 5
    contents = entry.findall(f"{{{MEDIA}}}content")
    assert [content.get("url") for content in contents] == [link.get("href") for link in enclosures]
    for link, content in zip(enclosures, contents, strict=True):
        url = link.get("href", "")
        size = content.get("fileSize", "")
        assert size.isdigit() and int(size) > 0, (url, size)
        assert link.get("length") == size
        if not url.startswith(BASE):
            assert size == "48213"  # the length the press office gave
            continue
        body, media_type = served(client, url)
        assert int(size) == len(body) and link.get("type") == content.get("type") == media_type
        if content.get("medium") == "image":
            # Uploads are announced in their size for feeds, with their true pixels.
            assert url.rsplit("/", 1)[1].startswith("feed.")
            assert decoded(body).size == (int(content.get("width", "")), int(content.get("height", "")))
    photo = contents[0]
    assert (photo.get("width"), photo.get("height")) == ("1200", "1800")
    document = contents[4]
    assert (document.get("medium"), document.get("type")) == ("document", "application/pdf")
    assert document.findtext(f"{{{MEDIA}}}title") == "Umleitungsplan (PDF)"
    # feedparser reads the same: the enclosures with their lengths, Media RSS with its sizes.
    assert [int(each["length"]) for each in parsed.entries[0].enclosures] == [
        int(content.get("fileSize", "")) for content in contents
    ]
    assert all(int(each["filesize"]) > 0 for each in parsed.entries[0].media_content)


@pytest.mark.usefixtures("release_with_uploads")
def test_rss_has_the_lead_image_as_its_one_enclosure_and_every_upload_in_media_rss(
    client: FlaskClient,
) -> None:
    data = client.get("/cities/rosenheim/feed.rss").get_data()
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    item = etree.fromstring(data).find("channel/item")
    assert item is not None
    (enclosure,) = item.findall("enclosure")
    body, media_type = served(client, enclosure.get("url", ""))
    assert enclosure.get("length") == str(len(body)) and enclosure.get("type") == media_type == "image/jpeg"
    sizes = [content.get("fileSize", "") for content in item.findall(f"{{{MEDIA}}}content")]
    assert len(sizes) == 5 and all(size.isdigit() and int(size) > 0 for size in sizes)
    assert 'Anhang: <a href="http://feeds.example.test/media/' in parsed.entries[0].content[0].value


def test_a_release_with_a_pdf_and_no_image_has_the_pdf_as_its_rss_enclosure(
    client: FlaskClient, token: dict[str, str]
) -> None:
    document = upload(client, token, pdf(), "Satzung.pdf").get_json()
    release = {**RELEASE, "attachments": [{"url": document["url"]}]}
    assert client.post("/api/v1/releases", json=release, headers=token).status_code == 201
    item = etree.fromstring(client.get("/cities/rosenheim/feed.rss").get_data()).find("channel/item")
    assert item is not None
    (enclosure,) = item.findall("enclosure")
    assert (enclosure.get("url"), enclosure.get("type")) == (document["url"], "application/pdf")
    assert enclosure.get("length") == str(len(pdf()))


def test_json_feed_lists_every_image_and_pdf_with_its_true_size(
    client: FlaskClient, release_with_uploads: dict[str, Any]
) -> None:
    feed = json.loads(client.get("/cities/rosenheim/feed.json").get_data())
    item = feed["items"][0]
    attachments = item["attachments"]
    assert [each["mime_type"] for each in attachments] == [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/jpeg",
        "application/pdf",
    ]
    for attachment in attachments:
        if attachment["url"].startswith(BASE):
            body, media_type = served(client, attachment["url"])
            assert attachment["size_in_bytes"] == len(body) and attachment["mime_type"] == media_type
    assert attachments[-1]["title"] == "Umleitungsplan (PDF)"
    assert item["image"] == attachments[0]["url"]
    # The page shows the image in its size for pages; the API names the full size.
    assert release_with_uploads["images"][0]["url"].endswith("/full.jpg")
