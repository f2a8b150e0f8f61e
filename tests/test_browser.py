"""The pages in a real headless Chromium, against a real HTTP server on 127.0.0.1
serving the sample data: what a reader sees, what a feed reader discovers, what a
press office does. With SCREENSHOTS=1 the tests also write docs/screenshots/*.png.

Needs the Debian package `chromium` and the `playwright` Python package; the
tests are skipped (with the reason) when either is missing.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from feedsvc import db
from feedsvc.store import accounts
from tests import loopback
from tests.factories import BY_OPERATOR
from tests.media_support import camera_jpeg

try:
    from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Chromium announces the end of XSLT with a banner of inline styles, which the
    # feed view's Content-Security-Policy refuses: console errors that are not ours.
    "--disable-features=GenerateXSLTWarningBanner",
]
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    # One worker runs them all (pytest-xdist, --dist loadgroup): they share the module's Chromium.
    pytest.mark.xdist_group("chromium"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium"),
    pytest.mark.skipif(
        sync_playwright is None, reason="the playwright package is not installed (pip install playwright)"
    ),
]


@dataclass(frozen=True)
class Answer:
    """What the live server sent for one request: the request's headers, and the answer as sent."""

    request: dict[str, str]
    status: str
    headers: dict[str, str]
    body: bytes


class LiveServer:
    """A real HTTP server on a free port, started before the app exists so the app
    can be configured with its own URL (feeds and pages link absolutely).

    One serves every test of the module, each with its own app: with the same URL, the
    sample data written for the first test's app is copied for the next (`fill_once`)."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread: threading.Thread | None = None
        # Paths whose answers are kept as sent, bytes and all (`answers`).
        self.recorded: set[str] = set()
        self.answers: list[Answer] = []

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the live server has no app yet"
        sent: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        # The whole body, and the answer closed, before anything is sent: a browser that drops
        # the connection (a page closed while its images load) would otherwise leave a static
        # file's answer open in werkzeug's development server.
        answer = self.app(environ, start)
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        if environ.get("PATH_INFO") not in self.recorded:
            return [body]
        request = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        self.answers.append(Answer(request, sent["status"], dict(sent["headers"]), body))
        return [body]

    def serve(self, app: Flask) -> None:
        self.app = app
        if self.thread is None:
            self.thread = loopback.start(self.server)

    def forget(self) -> None:
        """Serves no app, and has recorded nothing, until the next test's `serve`."""
        self.app = None
        self.recorded.clear()
        self.answers.clear()

    def stop(self) -> None:
        if self.thread is None:  # it never served: only its socket to close
            self.server.server_close()
        else:
            loopback.stop(self.server, self.thread)


@pytest.fixture(scope="module")
def live_server_of_module() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def live_server(live_server_of_module: LiveServer) -> Iterator[LiveServer]:
    yield live_server_of_module
    live_server_of_module.forget()


@pytest.fixture
def app_config(app_config: dict[str, Any], live_server: LiveServer) -> dict[str, Any]:
    """The usual test config, with the live server's URL as the base of every link."""
    return {**app_config, "BASE_URL": live_server.url}


@pytest.fixture
def site(sample_app: Flask, live_server: LiveServer) -> str:
    """The URL of the sample data, served over real HTTP."""
    live_server.serve(sample_app)
    return live_server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")
    tab = context.new_page()
    yield tab
    context.close()


def console_errors(page: Page) -> list[str]:
    """Collects console errors from now on (CSP violations show up there too)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def fetch(page: Page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, url
    return response.body()


def load_all_images(page: Page) -> None:
    """Lazy images load only near the viewport; a full-page screenshot needs them all."""
    # evaluate() runs outside the page's CSP, which forbids the eval that wait_for_function needs.
    page.evaluate(
        """Promise.all([...document.images].map(img => {
            img.loading = "eager";
            return img.decode().catch(() => null);
        }))"""
    )


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    if "1" not in (os.environ.get("SCREENSHOTS"), os.environ.get("FEEDSVC_SCREENSHOTS")):
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    load_all_images(page)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=full_page)


def test_the_city_overview_lists_its_releases_as_the_feed_does(site: str, page: Page) -> None:
    errors = console_errors(page)
    page.goto(f"{site}/cities/rosenheim")
    assert page.locator("h1").inner_text() == "Übersicht: Rosenheim"
    titles = page.locator(".stream .card__title").all_inner_texts()
    feed = json.loads(fetch(page, f"{site}/cities/rosenheim/feed.json"))
    assert titles == [item["title"] for item in feed["items"]]
    assert page.locator(".stream .card img").first.evaluate("img => img.naturalWidth") > 0
    assert errors == []
    screenshot(page, "city-desktop")


def test_a_release_page_shows_its_image_caption_and_related_releases(site: str, page: Page) -> None:
    errors = console_errors(page)
    page.goto(f"{site}/cities/rosenheim")
    card = page.locator(".stream .card").filter(has=page.locator("img")).first
    title = card.locator(".card__title").inner_text()
    card.locator(".card__title a").click()
    expect(page.locator("h1")).to_have_text(title)
    figure = page.locator("figure.figure--lead")
    caption = figure.locator("figcaption").inner_text()
    alt = figure.locator("img").get_attribute("alt")
    assert caption and alt and alt in caption
    assert figure.locator("img").evaluate("img => img.naturalWidth") > 0
    related = page.locator("section.related")
    assert related.locator("h2").inner_text() == "Das könnte Sie auch interessieren"
    assert related.locator(".card").count() >= 1
    screenshot(page, "release-desktop", full_page=True)
    page.get_by_role("link", name="← Zurück zur Übersicht: Rosenheim").click()
    page.wait_for_url(f"{site}/cities/rosenheim")
    assert errors == []


def test_autodiscovery_links_lead_to_valid_feeds(site: str, page: Page) -> None:
    page.goto(f"{site}/cities/rosenheim")
    links: list[list[str]] = page.eval_on_selector_all(
        "link[rel=alternate]", "links => links.map(link => [link.type, link.href])"
    )
    found = dict((media_type, href) for media_type, href in links)
    assert set(found) == {"application/atom+xml", "application/rss+xml", "application/feed+json"}
    for media_type in ("application/atom+xml", "application/rss+xml"):
        parsed = feedparser.parse(fetch(page, found[media_type]))
        assert not parsed.bozo, (found[media_type], parsed.get("bozo_exception"))
        assert parsed.feed.title == "Pressemitteilungen – Rosenheim" and parsed.entries
    json_feed = json.loads(fetch(page, found["application/feed+json"]))
    assert json_feed["version"] == "https://jsonfeed.org/version/1.1" and json_feed["items"]


def test_feed_links_get_a_working_copy_button(site: str, page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    errors = console_errors(page)
    page.goto(f"{site}/feeds")
    button = page.get_by_role("button", name="Atom-Adresse kopieren: Rosenheim")
    button.click()
    expect(button).to_have_text("Kopiert")
    assert page.evaluate("navigator.clipboard.readText()") == f"{site}/cities/rosenheim/feed.atom"
    assert errors == []


def sign_in_as_editor(site: str, app: Flask, page: Page, email: str, password: str, name: str = "") -> None:
    """Makes a Rosenheim editor with this address and password and signs in with the form."""
    with app.app_context():
        session = db.session()
        editor = accounts.check_new_user(
            session, email=email, name=name, role="editor", city_slugs=["rosenheim"], password=password
        )
        assert not isinstance(editor, list), editor
        accounts.create_user(session, editor, app.config["CLOCK"](), by=BY_OPERATOR)
        session.commit()
    page.goto(f"{site}/publish")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden", exact=True).click()


def type_text(page: Page, text: str) -> None:
    """Types the release's text as an editor does. The form's script puts the editor in the
    textarea's place once the page has loaded: typing before that would go to a textarea that
    is about to be hidden."""
    expect(page.locator("trix-editor")).to_be_visible()
    page.get_by_label("Text (Pflichtfeld)").fill(text)


def test_a_press_office_publishes_through_the_form_into_the_city_feed(
    site: str, sample_app: Flask, page: Page
) -> None:
    errors = console_errors(page)
    sign_in_as_editor(
        site,
        sample_app,
        page,
        "presse@rosenheim.de",
        "Eisstock auf dem Max-Josefs-Platz",
        name="Pressestelle der Stadt Rosenheim",
    )
    page.get_by_role("link", name="Neue Pressemitteilung").click()
    page.get_by_label("Titel").fill("Eisstockschießen auf dem Max-Josefs-Platz")
    page.get_by_label("Kultur").check()
    type_text(page, "Am Samstag lädt die Stadt zum Eisstockschießen ein.")
    page.get_by_label("Adresse des Bildes").fill(f"{site}/static/sample/rosenheim-christkindlmarkt.svg")
    page.get_by_label("Bildunterschrift").fill("Eisstockbahn vor dem Rathaus")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "publish-desktop")
    page.get_by_role("button", name="Veröffentlichen").click()
    expect(page.locator(".flash")).to_contain_text("Veröffentlicht: Eisstockschießen")
    parsed = feedparser.parse(fetch(page, f"{site}/cities/rosenheim/feed.atom"))
    assert parsed.entries[0].title == "Eisstockschießen auf dem Max-Josefs-Platz"
    page.get_by_role("link", name="Eisstockschießen auf dem Max-Josefs-Platz", exact=True).click()
    expect(page.locator("h1")).to_have_text("Eisstockschießen auf dem Max-Josefs-Platz")
    assert page.locator("figure img").get_attribute("alt") == "Eisstockbahn vor dem Rathaus"
    assert errors == []


def test_pages_fit_a_phone_screen(site: str, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="de-DE", is_mobile=True)
    phone = context.new_page()
    try:
        for path, name in (("/cities/rosenheim", "city-phone"), ("/", "home-phone")):
            phone.goto(f"{site}{path}")
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
            screenshot(phone, name)
        with_image = phone.locator(".stream .card").filter(has=phone.locator("img")).first
        with_image.locator(".card__title a").click()
        phone.wait_for_url("**/releases/**")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(phone, "release-phone")
    finally:
        context.close()


def test_the_front_page_shows_cities_by_region(site: str, page: Page) -> None:
    page.goto(site)
    assert page.locator(".region").count() == 5
    assert page.get_by_role("link", name="Rosenheim", exact=True).first.is_visible()
    screenshot(page, "home-desktop")


def test_searching_from_the_header_finds_releases_and_offers_the_search_as_a_feed(
    site: str, page: Page
) -> None:
    errors = console_errors(page)
    page.goto(site)
    page.get_by_role("searchbox", name="Pressemitteilungen durchsuchen").fill("Wohnungsnot")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/?q=Wohnungsnot")
    expect(page.locator("h1")).to_have_text("Suche: „Wohnungsnot“")
    titles = page.locator(".stream .card__title").all_inner_texts()
    assert "Neues Förderprogramm: Stadt unterstützt Wohnungsgenossenschaften beim Neubau" in titles
    subscribe = page.get_by_role("link", name="Diese Suche als Feed abonnieren")
    assert subscribe.get_attribute("href") == f"{site}/feed.atom?q=Wohnungsnot"
    parsed = feedparser.parse(fetch(page, f"{site}/feed.atom?q=Wohnungsnot"))
    assert [entry.title for entry in parsed.entries] == titles
    assert errors == []
    screenshot(page, "search-desktop")


def test_a_search_in_a_city_that_finds_nothing_or_cannot_be_searched_says_so(site: str, page: Page) -> None:
    page.goto(f"{site}/cities/rosenheim")
    page.get_by_role("searchbox", name="Suchen in: Rosenheim").fill("Zeppelinlandeplatz")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/cities/rosenheim?q=Zeppelinlandeplatz")
    expect(page.locator(".stream .empty")).to_contain_text("Keine Treffer für „Zeppelinlandeplatz“")
    page.get_by_role("link", name="suchen Sie in allen Pressemitteilungen").click()
    page.wait_for_url(f"{site}/?q=Zeppelinlandeplatz")
    response = page.goto(f"{site}/cities/rosenheim?q=-Christkindlmarkt")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("mindestens ein Wort")
    expect(page.locator("#search-q")).to_have_value("-Christkindlmarkt")


def test_a_search_fits_a_phone_screen(site: str, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="de-DE", is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(f"{site}/cities/rosenheim")
        phone.get_by_role("searchbox", name="Suchen in: Rosenheim").fill("Stadt")
        phone.keyboard.press("Enter")
        phone.wait_for_url(f"{site}/cities/rosenheim?q=Stadt")
        assert phone.locator(".stream .card").count() >= 1
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(phone, "search-phone")
    finally:
        context.close()


def test_a_feed_opened_in_the_browser_explains_itself_with_the_bytes_readers_get(
    site: str, live_server: LiveServer, page: Page
) -> None:
    errors = console_errors(page)
    url = f"{site}/cities/rosenheim/feed.atom"
    live_server.recorded.add("/cities/rosenheim/feed.atom")
    response = page.goto(url)
    assert response is not None and response.ok
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    # What a feed reader gets, byte for byte: the same request without the browser's headers.
    shown = live_server.answers[0]
    assert shown.request["sec-fetch-dest"] == "document"
    reader = urllib.request.Request(url, headers={"Accept-Encoding": shown.request["accept-encoding"]})
    with urllib.request.urlopen(reader) as polled:
        assert polled.read() == shown.body
        assert polled.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert polled.headers.get("Content-Encoding") == shown.headers.get("Content-Encoding")
    expect(page.locator("h1")).to_have_text("Pressemitteilungen – Rosenheim")
    expect(page.locator(".feed-about")).to_contain_text("Das ist ein Feed")
    expect(page.locator(".feed-about")).to_contain_text("In einem Feedreader abonnieren")
    expect(page.locator(".feed-url a")).to_have_text(url)
    titles = page.locator(".feed-entry .card__title").all_inner_texts()
    assert titles == [entry.title for entry in feedparser.parse(fetch(page, url)).entries]
    # The page's own stylesheet applies (no inline styles needed), and copy.js runs.
    assert page.locator(".feed-about").evaluate("box => getComputedStyle(box).borderTopStyle") == "solid"
    expect(page.get_by_role("button", name="Adresse des Feeds kopieren")).to_be_visible()
    assert errors == []
    screenshot(page, "feed-desktop")
    page.get_by_role("link", name=titles[0]).click()
    expect(page.locator("h1")).to_have_text(titles[0])


def test_an_rss_feed_in_the_browser_explains_itself_too(site: str, page: Page) -> None:
    errors = console_errors(page)
    page.goto(f"{site}/topics/kultur/feed.rss")
    expect(page.locator(".kicker")).to_have_text("RSS-Feed")
    assert page.locator(".feed-entry").count() >= 1
    assert errors == []


def test_other_spellings_of_a_page_redirect_to_it(site: str, page: Page) -> None:
    page.goto(f"{site}/cities/M%C3%BCnchen/?q=Tram")
    assert page.url == f"{site}/cities/muenchen?q=Tram"
    expect(page.locator("h1")).to_have_text("Suche: „Tram“")
    page.goto(f"{site}/cities/rosenheim/")
    assert page.url == f"{site}/cities/rosenheim"
    page.goto(f"{site}/topics/Soziales%20%26%20Familie/feed.atom")
    assert page.url == f"{site}/topics/soziales-familie/feed.atom"
    expect(page.locator("h1")).to_have_text("Pressemitteilungen – Thema Soziales & Familie")
    response = page.goto(f"{site}/cities/atlantis/")
    assert response is not None and response.status == 404


def test_a_press_office_uploads_an_image_with_the_form_and_sees_it_on_the_release_page(
    site: str, sample_app: Flask, page: Page
) -> None:
    errors = console_errors(page)
    sign_in_as_editor(site, sample_app, page, "bild@rosenheim.de", "Brückenfest am Inn 2026")
    page.get_by_role("link", name="Neue Pressemitteilung").click()
    page.get_by_label("Titel").fill("Brückenfest am Inn")
    type_text(page, "Am Samstag feiert Rosenheim die neue Innbrücke.")
    photo: FilePayload = {"name": "IMG_0815.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg()}
    page.get_by_label("oder Bilddatei hochladen").set_input_files(files=[photo])
    page.get_by_label("Bildunterschrift").fill("Die neue Innbrücke am Abend")
    page.get_by_label("Bildnachweis").fill("Foto: Stadt Rosenheim")
    page.get_by_role("button", name="Jetzt veröffentlichen").click()
    expect(page.locator(".flash")).to_contain_text("Brückenfest am Inn")
    page.get_by_role("link", name="Brückenfest am Inn", exact=True).click()
    lead = page.locator("figure.figure--lead img")
    expect(lead).to_have_attribute("alt", "Die neue Innbrücke am Abend")
    assert (lead.get_attribute("src") or "").endswith("/page.jpg")
    # Upright: the phone stored it sideways (EXIF orientation), the page shows it standing.
    assert lead.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1440, 2160]
    if os.environ.get("SCREENSHOTS") == "1":
        # The form of the release as it is now: the upload in its row, with its caption.
        page.goto(f"{site}/publish")
        page.get_by_role("link", name="Bearbeiten").first.click()
        page.locator(".image-row").first.scroll_into_view_if_needed()
        screenshot(page, "desk-image-upload")
    assert errors == []
