"""The site's identity (FEEDSVC_SITE_*, feedsvc/identity.py): name, short name, logo, icon,
colours and contact, in the pages' header, title and footer, in feeds (parsed with
feedparser), the OPML list, the news sitemap and the feeds' browser stylesheet; and a
clear settings error for every value that cannot be used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from lxml.html import HtmlElement

from feedsvc import create_app
from feedsvc.identity import contrast_ratio, normalise_colour, soft_tint
from feedsvc.settings import ConfigError
from tests.conftest import BASE_URL, AppFactory

STATIC = Path(__file__).resolve().parent.parent / "feedsvc" / "static"
PNG = (STATIC / "logo.png").read_bytes()
ICON_PNG = (STATIC / "icon.png").read_bytes()
NAME = "Presse & Medien der Stadt „Au“"
IDENTITY: dict[str, Any] = {
    "SITE_NAME": NAME,
    "SITE_SHORT_NAME": "Presse Au",
    "SITE_LOGO": "bilder/wappen.png",
    "SITE_ICON": "icon.png",
    "SITE_COLOR_PRIMARY": "#7A1F1F",
    "SITE_COLOR_ACCENT": "#4d1313",
    "SITE_CONTACT_EMAIL": "presse@stadt-au.de",
    "SITE_CONTACT_ADDRESS": "Rathausplatz 1, 83022 Au",
    "SITE_CONTACT_PHONE": "+49 (0) 8031 365-0",
}


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    (folder / "bilder").mkdir(parents=True)
    (folder / "bilder" / "wappen.png").write_bytes(PNG)
    (folder / "icon.png").write_bytes(ICON_PNG)
    return folder


@pytest.fixture
def branded(sample_app: Flask, make_app: AppFactory, instance: Path) -> Flask:
    """A second app on the sample's database, with an identity of its own."""
    return make_app(INSTANCE_PATH=str(instance), **IDENTITY)


@pytest.fixture
def branded_client(branded: Flask) -> FlaskClient:
    return branded.test_client()


def page(client: FlaskClient, path: str, status: int = 200) -> HtmlElement:
    response = client.get(path)
    assert response.status_code == status, response.data[:300]
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        create_app(config)
    return raised.value.problems


# --- the defaults --------------------------------------------------------------------------


@pytest.mark.usefixtures("sample_app")
def test_without_settings_the_site_looks_as_it_always_did(client: FlaskClient) -> None:
    doc = page(client, "/cities/rosenheim")
    assert doc.findtext(".//title") == "Übersicht: Rosenheim – Kommunale Pressemitteilungen"
    assert text_of(doc.cssselect(".brand__mark")[0]) == "PM" and not doc.cssselect(".brand__logo")
    assert doc.cssselect("link[rel=icon]")[0].get("href") == "/static/favicon.svg"
    assert [sheet.get("href") for sheet in doc.cssselect("link[rel=stylesheet]")] == ["/static/css/site.css"]
    assert not doc.cssselect(".site-footer address")
    atom = feedparser.parse(client.get("/cities/rosenheim/feed.atom").data).feed
    assert atom.title == "Pressemitteilungen – Rosenheim"
    assert (atom.icon, atom.logo) == (f"{BASE_URL}/static/icon.png", f"{BASE_URL}/static/logo.png")
    assert atom.author_detail.name == "Kommunale Pressemitteilungen"
    shipped = (STATIC / "feed.xsl").read_bytes()
    assert client.get("/static/feed.xsl").data == shipped


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/cities/rosenheim", "/feeds", "/topics/kultur", "/nowhere"])
def test_every_page_names_the_site_in_its_title_header_and_footer(
    branded_client: FlaskClient, path: str
) -> None:
    doc = page(branded_client, path, 404 if path == "/nowhere" else 200)
    title = doc.findtext(".//title")
    assert title == NAME or title.endswith(f" – {NAME}")
    assert [meta.get("content") for meta in doc.cssselect("meta[property='og:site_name']")] == [NAME]
    assert text_of(doc.cssselect(".brand__text strong")[0]) == NAME
    assert text_of(doc.cssselect(".site-footer strong")[0]) == NAME
    logo = doc.cssselect(".brand__logo")[0]
    assert logo.get("src", "").startswith("/site/logo-") and logo.get("alt") == ""
    assert not doc.cssselect(".brand__mark")
    icon = doc.cssselect("link[rel=icon]")[0]
    assert icon.get("href", "").startswith("/site/icon-") and icon.get("type") == "image/png"


def test_a_release_page_shows_the_identity_and_the_contact(branded_client: FlaskClient) -> None:
    front = page(branded_client, "/")
    release = front.cssselect(".stream .card__title a")[0].get("href")
    doc = page(branded_client, release)
    assert doc.findtext(".//title", "").endswith(f" – {NAME}")
    contact = doc.cssselect(".site-footer address")[0]
    assert "Rathausplatz 1, 83022 Au" in text_of(contact)
    links = {link.get("href"): text_of(link) for link in contact.cssselect("a")}
    assert links == {
        "tel:+4980313650": "+49 (0) 8031 365-0",
        "mailto:presse@stadt-au.de": "presse@stadt-au.de",
    }
    article = json.loads(doc.cssselect("script[type='application/ld+json']")[0].text or "")
    assert article["isPartOf"] == {"@type": "WebSite", "name": NAME, "url": f"{BASE_URL}/"}


def test_the_colours_come_as_custom_properties_over_the_stylesheet(branded_client: FlaskClient) -> None:
    doc = page(branded_client, "/")
    sheets = [sheet.get("href", "") for sheet in doc.cssselect("link[rel=stylesheet]")]
    assert sheets[0] == "/static/css/site.css" and sheets[1].startswith("/site/theme-")
    response = branded_client.get(sheets[1])
    assert response.status_code == 200 and response.mimetype == "text/css"
    css = response.data.decode()
    assert "--accent: #7a1f1f;" in css and "--accent-ink: #4d1313;" in css
    assert f"--accent-soft: {soft_tint('#7a1f1f')};" in css
    assert "immutable" in response.headers["Cache-Control"]
    # site.css draws every accent through these properties.
    assert "var(--accent)" in (STATIC / "css" / "site.css").read_text()


def test_logo_and_icon_files_are_served_for_good_with_validators(branded_client: FlaskClient) -> None:
    src = page(branded_client, "/").cssselect(".brand__logo")[0].get("src", "")
    response = branded_client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == PNG
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Last-Modified"]
    etag = response.headers["ETag"]
    again = branded_client.get(src, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    # Another digest is no file of this site.
    assert branded_client.get("/site/logo-0123456789abcdef.png").status_code == 404


# --- feeds, OPML, sitemaps -----------------------------------------------------------------


def test_feeds_carry_the_short_name_the_site_as_author_and_its_logo(branded_client: FlaskClient) -> None:
    base = f"{BASE_URL}/site/"
    atom = feedparser.parse(branded_client.get("/cities/rosenheim/feed.atom").data)
    rss = feedparser.parse(branded_client.get("/cities/rosenheim/feed.rss").data)
    json_feed = json.loads(branded_client.get("/cities/rosenheim/feed.json").data)
    assert not atom.bozo and not rss.bozo
    for title in (atom.feed.title, rss.feed.title, json_feed["title"], rss.feed.image.title):
        assert title == "Presse Au – Rosenheim"
    assert (atom.feed.author_detail.name, atom.feed.author_detail.email) == (NAME, "presse@stadt-au.de")
    assert rss.feed.author_detail.email == "presse@stadt-au.de"  # managingEditor
    assert json_feed["authors"] == [{"name": NAME, "url": "mailto:presse@stadt-au.de"}]
    assert atom.feed.logo.startswith(f"{base}logo-") and atom.feed.icon.startswith(f"{base}icon-")
    assert rss.feed.image.href == atom.feed.logo
    assert (json_feed["icon"], json_feed["favicon"]) == (atom.feed.logo, atom.feed.icon)
    for url in (atom.feed.logo, atom.feed.icon):
        with branded_client.get(url.removeprefix(BASE_URL)) as response:
            assert response.status_code == 200 and response.mimetype == "image/png"


def test_a_logo_elsewhere_is_named_as_it_is(sample_app: Flask, make_app: AppFactory) -> None:
    logo = "https://www.au.example/bilder/wappen.png"
    client = make_app(SITE_LOGO=logo).test_client()
    atom = feedparser.parse(client.get("/feed.atom").data).feed
    json_feed = json.loads(client.get("/feed.json").data)
    # Without an icon of its own, the logo serves as icon too.
    assert atom.logo == atom.icon == json_feed["icon"] == json_feed["favicon"] == logo
    doc = page(client, "/")
    assert doc.cssselect(".brand__logo")[0].get("src") == logo
    assert doc.cssselect("link[rel=icon]")[0].get("href") == logo


def test_a_changed_identity_changes_the_feeds_etag(client: FlaskClient, branded_client: FlaskClient) -> None:
    plain = client.get("/cities/rosenheim/feed.atom")
    branded = branded_client.get("/cities/rosenheim/feed.atom")
    assert plain.headers["ETag"] != branded.headers["ETag"]
    # A poller holding the old validator gets the new feed, not a 304.
    again = branded_client.get(
        "/cities/rosenheim/feed.atom", headers={"If-None-Match": plain.headers["ETag"]}
    )
    assert again.status_code == 200 and b"Presse Au" in again.data


def test_the_opml_list_is_titled_and_owned_by_the_site(branded_client: FlaskClient) -> None:
    root = etree.fromstring(branded_client.get("/feeds.opml").data)
    assert root.findtext("head/title") == f"{NAME} – alle Feeds"
    assert root.findtext("head/ownerName") == NAME
    assert root.findtext("head/ownerEmail") == "presse@stadt-au.de"
    titles = [outline.get("title", "") for outline in root.iter("outline") if outline.get("type") == "rss"]
    assert "Presse Au – Rosenheim" in titles and all(title.startswith("Presse Au – ") for title in titles)


def test_autodiscovery_titles_follow_the_feed_titles(branded_client: FlaskClient) -> None:
    doc = page(branded_client, "/cities/rosenheim")
    titles = [link.get("title") for link in doc.cssselect("link[rel=alternate]")]
    assert titles == [
        "Atom: Presse Au – Rosenheim",
        "RSS: Presse Au – Rosenheim",
        "JSON Feed: Presse Au – Rosenheim",
    ]


def test_the_news_sitemap_names_the_site(branded_client: FlaskClient, clock: Any) -> None:
    clock.advance(days=-1)  # the sample's releases are a day or two old: within the window
    doc = etree.fromstring(branded_client.get("/sitemap-news.xml").data)
    names = doc.findall(".//{http://www.google.com/schemas/sitemap-news/0.9}name")
    assert names and {name.text for name in names} == {NAME}


def test_the_feed_stylesheet_shows_the_site(branded_client: FlaskClient) -> None:
    response = branded_client.get("/static/feed.xsl")
    assert response.status_code == 200 and response.mimetype == "application/xslt+xml"
    transform = etree.XSLT(etree.fromstring(response.data))
    shown = html.fromstring(
        str(transform(etree.fromstring(branded_client.get("/cities/rosenheim/feed.atom").data)))
    )
    assert shown.findtext(".//title", "").endswith(f" – {NAME}")
    assert text_of(shown.cssselect(".brand__text strong")[0]) == NAME
    assert shown.cssselect(".brand__logo")[0].get("src", "").startswith("/site/logo-")
    assert shown.cssselect("link[rel=icon]")[0].get("href", "").startswith("/site/icon-")
    assert any(
        sheet.get("href", "").startswith("/site/theme-") for sheet in shown.cssselect("link[rel=stylesheet]")
    )
    again = branded_client.get("/static/feed.xsl", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# --- settings that cannot be used ----------------------------------------------------------


def test_colours_without_enough_contrast_are_refused(app_config: dict[str, Any]) -> None:
    found = problems({**app_config, "SITE_COLOR_PRIMARY": "#7fb2e5", "SITE_COLOR_ACCENT": "blue"})
    assert len(found) == 2
    primary, accent = found
    assert primary.startswith("SITE_COLOR_PRIMARY (given to create_app)='#7fb2e5': text in #7fb2e5 on white")
    assert "below the 4.5:1 WCAG AA asks for; expected a CSS hex colour" in primary
    assert accent.startswith("SITE_COLOR_ACCENT (given to create_app)='blue': 'blue' is not a CSS hex colour")


def test_the_accent_is_checked_on_the_tint_of_the_primary_colour(app_config: dict[str, Any]) -> None:
    # Dark enough on white, not on the tint of a light green.
    (problem,) = problems({**app_config, "SITE_COLOR_PRIMARY": "#1c6b34", "SITE_COLOR_ACCENT": "#5f6f7f"})
    assert "the light tint of the primary colour" in problem


def test_wcag_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert normalise_colour(" #ABC ") == "#aabbcc"
    assert contrast_ratio("#0a4a85", "#f3f5f7") >= 4.5  # the built-in colours pass their own check


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("missing.png", "does not exist"),
        ("not-a-png.png", "is not a PNG image"),
        ("../outside.png", "is not a path inside the instance folder"),
        ("/etc/passwd.png", "is not a path inside the instance folder"),
        ("logo.svg", "does not end in .png, .jpg, .jpeg, .gif"),
        ("ftp://example.org/logo.png", "is neither an http:// or https:// URL nor a file name"),
        ("https://user:pw@example.org/logo.png", "without credentials"),
        ("bilder", "does not end in"),
    ],
)
def test_a_logo_that_cannot_be_used_is_a_clear_settings_error(
    app_config: dict[str, Any], instance: Path, value: str, reason: str
) -> None:
    (instance / "not-a-png.png").write_text("<svg/>", encoding="utf-8")
    (found,) = problems({**app_config, "INSTANCE_PATH": str(instance), "SITE_LOGO": value})
    assert found.startswith(f"SITE_LOGO (given to create_app)={value!r}: ")
    assert reason in found
    expected = "a .png, .jpg, .jpeg or .gif file in the instance folder (its path there), or an http:// or "
    assert found.endswith(f"expected {expected}https:// URL of one")


def test_a_folder_named_like_a_logo_is_no_logo(app_config: dict[str, Any], instance: Path) -> None:
    (instance / "folder.png").mkdir()
    (found,) = problems({**app_config, "INSTANCE_PATH": str(instance), "SITE_ICON": "folder.png"})
    assert "folder.png is not a file" in found


def test_settings_from_the_environment_name_the_variable(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("FEEDSVC_") and not name.startswith("FEEDSVC_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FEEDSVC_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FEEDSVC_SITE_ICON", "missing.ico")
    monkeypatch.setenv("FEEDSVC_SITE_CONTACT_EMAIL", "presse at au")
    monkeypatch.setenv("FEEDSVC_SITE_CONTACT_PHONE", "call us")
    monkeypatch.setenv("FEEDSVC_SITE_NAME", "<b>Presse</b>")
    config = {key: value for key, value in app_config.items() if not key.startswith("SITE_")}
    found = problems(config)
    assert [line.split("=", 1)[0] for line in found] == [
        "FEEDSVC_SITE_NAME",
        "FEEDSVC_SITE_CONTACT_EMAIL",
        "FEEDSVC_SITE_CONTACT_PHONE",
    ]
    assert "not plain text" in found[0] and "not an e-mail address" in found[1]
    # The files are read once the values are sound: then the icon's problem shows.
    monkeypatch.delenv("FEEDSVC_SITE_CONTACT_EMAIL")
    monkeypatch.delenv("FEEDSVC_SITE_CONTACT_PHONE")
    monkeypatch.delenv("FEEDSVC_SITE_NAME")
    (icon,) = problems(config)
    assert icon.startswith("FEEDSVC_SITE_ICON='missing.ico': ") and "does not exist" in icon


def test_the_instance_folder_must_be_an_absolute_path(app_config: dict[str, Any]) -> None:
    (found,) = problems({**app_config, "INSTANCE_PATH": "instance"})
    assert found.startswith("INSTANCE_PATH (given to create_app)='instance': not an absolute path")


def test_empty_contact_values_count_as_unset(make_app: AppFactory) -> None:
    app = make_app(SITE_CONTACT_EMAIL=" ", SITE_CONTACT_PHONE="", SITE_CONTACT_ADDRESS="")
    doc = page(app.test_client(), "/")
    assert not doc.cssselect(".site-footer address")
