"""Text cleaning end to end (docs/api.md#text-handling): what a press office sends
through the API is cleaned when it is written, and every feed format shows the clean text.
The rules themselves are unit-tested in test_text.py; here they are traced through HTTP."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from flask.testing import FlaskClient

from tests.api_support import RELEASE
from tests.feed_text import shown_text

ATOM = "{http://www.w3.org/2005/Atom}"


def publish_raw(client: FlaskClient, token: dict[str, str], document: str) -> dict[str, Any]:
    """POSTs JSON text as given (escapes such as \\ud800 reach the server unchanged)."""
    response = client.post(
        "/api/v1/releases", data=document.encode(), headers={**token, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


def publish(client: FlaskClient, token: dict[str, str], **changes: Any) -> dict[str, Any]:
    return publish_raw(client, token, json.dumps({**RELEASE, **changes}))


def atom_entry(client: FlaskClient, guid: str) -> ElementTree.Element:
    root = ElementTree.fromstring(client.get("/cities/rosenheim/feed.atom").get_data())
    for entry in root.findall(f"{ATOM}entry"):
        if entry.findtext(f"{ATOM}id") == guid:
            return entry
    raise AssertionError(f"{guid} not in the feed")


def json_item(client: FlaskClient, guid: str) -> dict[str, Any]:
    items = json.loads(client.get("/cities/rosenheim/feed.json").get_data())["items"]
    found: dict[str, Any] = next(item for item in items if item["id"] == guid)
    return found


DANGEROUS = {
    "script": ("<p>Text</p><script>alert('x')</script>", "alert"),
    "style": ("<style>p{display:none}</style><p>Text</p>", "display"),
    "event handler": (
        '<p onclick="steal()">Text</p><img src="https://a.test/i.jpg" onerror="steal()">',
        "steal",
    ),
    "javascript link": ('<p><a href="javascript:steal()">Text</a></p>', "javascript"),
    "javascript link with a tab": ('<p><a href="java\tscript:steal()">Text</a></p>', "steal"),
    "data image": ('<p>Text<img src="data:image/png;base64,iVBORw0KGgo="></p>', "data:"),
    "iframe": ('<p>Text</p><iframe src="https://evil.test/"></iframe>', "iframe"),
    "iframe content": ("<p>Text</p><iframe><b>innen</b></iframe>", "innen"),
    "object": ('<object data="https://evil.test/x.swf"></object><p>Text</p>', "object"),
    "style attribute": ('<p style="color:red">Text</p>', "color"),
    "form": ('<form action="https://evil.test/"><input name="pw"></form><p>Text</p>', "evil"),
    "svg": ("<svg><script>steal()</script></svg><p>Text</p>", "steal"),
}


@pytest.mark.parametrize(("html", "trace"), DANGEROUS.values(), ids=DANGEROUS.keys())
def test_dangerous_markup_is_gone_from_the_api_and_every_feed(
    client: FlaskClient, token: dict[str, str], html: str, trace: str
) -> None:
    created = publish(client, token, body=html)
    assert trace not in created["body"]
    assert "Text" in created["body"]
    assert trace not in created["summary"]
    stored = client.get(f"/api/v1/releases/{created['id']}").get_json()
    assert trace not in stored["body"]
    content = atom_entry(client, created["guid"]).findtext(f"{ATOM}content", "")
    assert trace not in content and "Text" in content
    assert trace not in json_item(client, created["guid"])["content_html"]
    rss = feedparser.parse(client.get("/cities/rosenheim/feed.rss").get_data())
    assert all(trace not in entry.get("description", "") for entry in rss.entries)


def test_the_safe_subset_is_kept(client: FlaskClient, token: dict[str, str]) -> None:
    body = (
        "<h2>Sperrung</h2><p>Die <strong>Innbrücke</strong> ist <em>gesperrt</em>.</p>"
        "<ul><li>ab Montag</li><li>bis Freitag</li></ul>"
        '<p><a href="https://www.rosenheim.de/plan">Plan</a></p>'
        '<img src="https://www.rosenheim.de/bild.jpg" alt="Brücke">'
        "<table><tr><th>Tag</th></tr><tr><td>Montag</td></tr></table>"
    )
    created = publish(client, token, body=body)
    kept = created["body"]
    for fragment in (
        "<h2>Sperrung</h2>",
        "<strong>Innbrücke</strong>",
        "<em>gesperrt</em>",
        "<ul><li>ab Montag</li><li>bis Freitag</li></ul>",
        '<a href="https://www.rosenheim.de/plan">Plan</a>',
        '<img src="https://www.rosenheim.de/bild.jpg" alt="Brücke">',
        "<th>Tag</th>",
        "<td>Montag</td>",
    ):
        assert fragment in kept, fragment
    assert json_item(client, created["guid"])["content_html"] == kept
    assert atom_entry(client, created["guid"]).findtext(f"{ATOM}content") == kept


def test_relative_links_become_absolute_against_the_source_url(
    client: FlaskClient, token: dict[str, str]
) -> None:
    body = '<p><a href="plan.pdf">Plan</a> <img src="/bilder/b.jpg" alt="b"></p>'
    created = publish(client, token, body=body, source_url="https://www.rosenheim.de/presse/117")
    assert '<a href="https://www.rosenheim.de/presse/plan.pdf">Plan</a>' in created["body"]
    assert '<img src="https://www.rosenheim.de/bilder/b.jpg" alt="b">' in created["body"]


def test_relative_links_without_a_source_url_are_unwrapped(
    client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token, body='<p><a href="plan.pdf">Plan</a></p>')
    assert created["body"] == "<p>Plan</p>"


def test_named_entities_become_characters(client: FlaskClient, token: dict[str, str]) -> None:
    created = publish(client, token, body="<p>Gr&uuml;&szlig;e &amp; &bdquo;Gl&uuml;ck&ldquo; &lt;b&gt;</p>")
    assert created["body"] == "<p>Grüße &amp; „Glück“ &lt;b&gt;</p>"


def test_titles_lose_markup_and_are_escaped_exactly_once_in_feeds(
    client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish(client, token, title="  <b>Tom</b> &amp; Jerry <script>x()</script> sind   da: a < b ")
    assert created["title"] == "Tom & Jerry sind da: a < b"
    # Atom: as escaped HTML (type="html"), since the text holds "&" and "<".
    title = atom_entry(client, created["guid"]).find(f"{ATOM}title")
    assert title is not None and title.get("type") == "html"
    assert title.text == "Tom &amp; Jerry sind da: a &lt; b"
    assert json_item(client, created["guid"])["title"] == "Tom & Jerry sind da: a < b"
    for fmt in ("atom", "rss"):
        parsed = feedparser.parse(client.get(f"/cities/rosenheim/feed.{fmt}").get_data())
        assert shown_text(parsed.entries[0].title_detail) == "Tom & Jerry sind da: a < b"


def test_plain_text_fields_lose_markup(client: FlaskClient, token: dict[str, str]) -> None:
    created = publish(
        client,
        token,
        summary="<p>Kurz <i>gesagt</i></p>",
        author="<a href='x'>Max</a> Mustermann",
        contact={"name": "<b>Presse</b>stelle"},
        images=[
            {
                "url": "https://a.test/b.jpg",
                "length": 1,
                "caption": "<em>Brücke</em>",
                "credit": "<u>Stadt</u>",
            }
        ],
    )
    assert created["summary"] == "Kurz gesagt"
    assert created["author"] == "Max Mustermann"
    assert created["contact"]["name"] == "Pressestelle"
    assert (created["images"][0]["caption"], created["images"][0]["credit"]) == ("Brücke", "Stadt")


# Lone surrogates in the order that cannot pair up ("\\ud800\\udfff" would be one character).
FORBIDDEN_ESCAPES = "\\u0000\\u0001\\u0008\\u000b\\u000c\\u001f\\ufffe\\uffff\\udfff\\ud800"


def test_xml_forbidden_characters_are_removed_from_every_field(
    client: FlaskClient, token: dict[str, str]
) -> None:
    dirty = f"Gr{FORBIDDEN_ESCAPES}üße aus 上海 🎉"
    document = (
        "{"
        f'"title": "{dirty}", "body": "<p>{dirty}</p>", "summary": "{dirty}", "author": "{dirty}",'
        f'"city": "rosenheim", "external_id": "ro-{FORBIDDEN_ESCAPES}117", "contact": {{"name": "{dirty}"}},'
        f'"images": [{{"url": "https://a.test/b.jpg", "length": 1,'
        f' "caption": "{dirty}", "credit": "{dirty}"}}]'
        "}"
    )
    created = publish_raw(client, token, document)
    clean = "Grüße aus 上海 🎉"
    assert created["title"] == created["summary"] == created["author"] == clean
    assert created["body"] == f"<p>{clean}</p>"
    assert created["contact"]["name"] == clean
    assert created["images"][0]["caption"] == created["images"][0]["credit"] == clean
    assert created["external_id"] == "ro-117"
    atom = client.get("/cities/rosenheim/feed.atom").get_data()
    ElementTree.fromstring(atom)
    parsed = feedparser.parse(atom)
    assert not parsed.bozo and parsed.entries[0].title == clean
    rss = feedparser.parse(client.get("/cities/rosenheim/feed.rss").get_data())
    assert not rss.bozo and rss.entries[0].title == clean
    assert json_item(client, created["guid"])["title"] == clean


def test_a_lone_surrogate_inside_a_word_is_removed_not_refused(
    client: FlaskClient, token: dict[str, str]
) -> None:
    created = publish_raw(client, token, json.dumps(RELEASE).replace("Innbrücke", "Inn\\ud800brücke"))
    assert created["title"] == RELEASE["title"]


def test_unicode_text_survives_unchanged(client: FlaskClient, token: dict[str, str]) -> None:
    title = "Delegation aus Shanghai: 李伟 besucht Rosenheim 🎉 – „Grüße“ ẞ"
    created = publish(client, token, title=title)
    assert created["title"] == title
    assert atom_entry(client, created["guid"]).findtext(f"{ATOM}title") == title
    assert json_item(client, created["guid"])["title"] == title


def test_patched_text_is_cleaned_like_new_text(client: FlaskClient, token: dict[str, str]) -> None:
    created = publish(client, token)
    response = client.patch(
        f"/api/v1/releases/{created['id']}",
        json={"title": "<i>Neu</i>\u000b", "body": "<p onclick='x()'>Neu</p><script>x()</script>"},
        headers=token,
    )
    changed = response.get_json()
    assert (changed["title"], changed["body"]) == ("Neu", "<p>Neu</p>")
    assert changed["summary"] == "Neu"
