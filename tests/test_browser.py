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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.store.tokens import create_token

try:
    from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
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
]
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium"),
    pytest.mark.skipif(
        sync_playwright is None, reason="the playwright package is not installed (pip install playwright)"
    ),
]


class LiveServer:
    """A real HTTP server on a free port, started before the app exists so the app
    can be configured with its own URL (feeds and pages link absolutely)."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the live server has no app yet"
        return self.app(environ, start_response)

    def serve(self, app: Flask) -> None:
        self.app = app
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread.is_alive():
            self.thread.join(timeout=5)


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


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
    if os.environ.get("SCREENSHOTS") != "1":
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


def test_a_press_office_publishes_through_the_form_into_the_city_feed(
    site: str, sample_app: Flask, page: Page
) -> None:
    with sample_app.app_context():
        session = db.session()
        rosenheim = catalog.city_by_slug(session, "rosenheim")
        office = catalog.publisher_by_name(session, "Pressestelle der Stadt Rosenheim")
        assert rosenheim is not None and office is not None
        _, secret = create_token(
            session, role="publisher", now=sample_app.config["CLOCK"](), publisher=office, cities=[rosenheim]
        )
        session.commit()
    errors = console_errors(page)
    page.goto(f"{site}/publish")
    page.get_by_label("API-Token").fill(secret)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("link", name="Neue Pressemitteilung").click()
    page.get_by_label("Titel").fill("Eisstockschießen auf dem Max-Josefs-Platz")
    page.get_by_label("Kultur").check()
    page.get_by_label("Text (Pflichtfeld)").fill("<p>Am Samstag lädt die Stadt zum Eisstockschießen ein.</p>")
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
