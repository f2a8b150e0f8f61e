"""The desk in a real headless Chromium against a real HTTP server: a press officer saves a
draft, opens its preview link, schedules it, publishes another release at once, and pastes
text with paragraphs into the editor, which the page then shows as paragraphs; on a phone the
list of releases shows its actions. With SCREENSHOTS=1 (or FEEDSVC_SCREENSHOTS=1) the tests
also write docs/screenshots/desk-*.png.

One browser and one app serve the whole module (the machinery of tests/test_browser.py): each
test signs in a context of its own and writes releases of its own titles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import feedparser
import pytest
from flask import Flask

from feedsvc import create_app, db
from tests.databases import Databases
from tests.desk_support import make_user
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    LiveServer,
    console_errors,
    fetch,
    screenshot,
)

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

BERLIN_FORMAT = "%Y-%m-%dT%H:%M"
PASSWORD = "Adventsmarkt am Ludwigsplatz"
EMAIL = "presse@rosenheim.de"
# Text as it comes out of an e-mail: paragraphs separated by blank lines, lines by newlines.
PASTED = (
    "Die Stadt Rosenheim lädt zum Adventssingen auf den Ludwigsplatz ein.\n"
    "Beginn ist um 17 Uhr.\n"
    "\n"
    "Der Eintritt ist frei; Glühwein gibt es am Stand des Stadtjugendrings.\n"
    "\n"
    "Bei Regen findet das Singen in der Nikolauskirche statt."
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("chromium"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium"),
    pytest.mark.skipif(
        sync_playwright is None, reason="the playwright package is not installed (pip install playwright)"
    ),
]


@dataclass(frozen=True)
class Desk:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def desk(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The sample data served over real HTTP, with an editor of Rosenheim, for the whole module."""
    server = LiveServer()
    try:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": databases.migrated(tmp_path_factory.mktemp("desk")),
                "BASE_URL": server.url,
                "TAG_AUTHORITY": "feeds.example.test",
                "SECRET_KEY": "test-secret",
                "FEED_STATE_TTL": 0.0,
            }
        )
        result = app.test_cli_runner().invoke(args=["load-sample"])
        assert result.exit_code == 0, result.output
        make_user(app, EMAIL, name="Pressestelle Rosenheim", cities=("rosenheim",), password=PASSWORD)
        server.serve(app)
        yield Desk(server.url, app)
        with app.app_context():
            db.engine().dispose()
    finally:
        server.stop()  # also when setting up failed before it served: then only its socket closes


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser: Browser, desk: Desk, **options: object) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="de-DE", **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{desk.url}/publish")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.get_by_role("heading", name="Ihre Pressemitteilungen")).to_be_visible()
    return context, page


def paste_text(page: Page, text: str) -> None:
    """Pastes plain text into the editor as a browser does with text copied from an e-mail."""
    page.locator("trix-editor").click()
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const editor = document.querySelector("trix-editor");
            const paste = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            editor.dispatchEvent(paste);
        }""",
        text,
    )


def body_paragraphs(page: Page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator(".release__body p").all_inner_texts()]


def test_a_draft_is_previewed_then_scheduled_and_another_release_published_at_once(
    desk: Desk, browser: Browser
) -> None:
    context, page = signed_in(browser, desk, viewport=DESKTOP)
    errors = console_errors(page)
    try:
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        expect(page.locator("trix-editor")).to_be_visible()
        page.get_by_label("Titel").fill("Adventssingen auf dem Ludwigsplatz")
        page.get_by_label("Kultur").check()
        paste_text(page, PASTED)
        # The editor shows the paragraphs as typed lines; the server makes them paragraphs.
        expect(page.locator("trix-editor")).to_contain_text("Beginn ist um 17 Uhr.")
        screenshot(page, "desk-editor-desktop")
        page.get_by_role("button", name="Als Entwurf speichern").click()
        expect(page.locator(".flash")).to_contain_text(
            "Entwurf gespeichert: Adventssingen auf dem Ludwigsplatz"
        )
        expect(page.get_by_role("heading", name="Entwurf bearbeiten")).to_be_visible()

        # Its preview link opens the page as it will look, marked, for anybody with the link.
        page.get_by_role("link", name="Vorschau-Links").click()
        page.get_by_role("button", name="Neuen Vorschau-Link erstellen").click()
        link = page.locator(".new-link__url a").get_attribute("href")
        assert link is not None and link.startswith(f"{desk.url}/preview/")
        outsider = browser.new_context(locale="de-DE")
        try:
            preview = outsider.new_page()
            answer = preview.goto(link)
            assert answer is not None and answer.status == 200
            assert answer.headers["x-robots-tag"] == "noindex"
            assert answer.headers["cache-control"] == "private, no-store"
            assert answer.headers["referrer-policy"] == "no-referrer"
            expect(preview.locator(".preview-banner")).to_contain_text("Entwurf, nicht veröffentlicht")
            expect(preview.locator("h1")).to_have_text("Adventssingen auf dem Ludwigsplatz")
            assert body_paragraphs(preview) == [
                "Die Stadt Rosenheim lädt zum Adventssingen auf den Ludwigsplatz ein. Beginn ist um 17 Uhr.",
                "Der Eintritt ist frei; Glühwein gibt es am Stand des Stadtjugendrings.",
                "Bei Regen findet das Singen in der Nikolauskirche statt.",
            ]
            screenshot(preview, "desk-preview-desktop")
        finally:
            outsider.close()

        # Scheduled for tomorrow morning, German time: it leaves the drafts, listed with its instant.
        page.get_by_role("link", name="← Zum Entwurf").click()
        # The page's script follows the time field once it has run: the editor shows it has.
        expect(page.locator("trix-editor")).to_be_visible()
        tomorrow = (datetime.now().astimezone() + timedelta(days=1)).replace(hour=9, minute=0)
        page.get_by_label("Veröffentlichung").fill(tomorrow.strftime(BERLIN_FORMAT))
        schedule = page.locator("[data-schedule-button]")
        expect(schedule).to_contain_text(f"Planen für {tomorrow.day}.")
        expect(schedule).to_contain_text("09:00 Uhr")
        schedule.click()
        expect(page.locator(".flash")).to_contain_text("Geplant für")
        row = page.locator("tr").filter(has_text="Adventssingen auf dem Ludwigsplatz")
        expect(row.locator(".status")).to_have_text("Sperrfrist")
        expect(page.locator("#drafts-heading")).to_have_count(0)
        feed = feedparser.parse(fetch(page, f"{desk.url}/cities/rosenheim/feed.atom"))
        assert "Adventssingen auf dem Ludwigsplatz" not in [entry.title for entry in feed.entries]

        # Another one, published now, with a heading and bold text made in the editor.
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        page.get_by_label("Titel").fill("Eisbahn im Riedergarten öffnet")
        editor = page.locator("trix-editor")
        editor.click()
        page.get_by_role("button", name="Zwischenüberschrift").click()
        page.keyboard.type("Öffnungszeiten")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Fett").click()
        page.keyboard.type("Täglich")
        page.get_by_role("button", name="Fett").click()
        page.keyboard.type(" von 10 bis 20 Uhr.")
        page.get_by_role("button", name="Jetzt veröffentlichen").click()
        expect(page.locator(".flash")).to_contain_text("Veröffentlicht: Eisbahn im Riedergarten öffnet")
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        page.get_by_label("Titel").fill("Neujahrsempfang im Rathaus")
        page.get_by_role("button", name="Als Entwurf speichern").click()
        page.get_by_role("link", name="← Ihre Pressemitteilungen").click()
        drafts = page.locator("section.desk-section tbody tr")
        expect(drafts.filter(has_text="Neujahrsempfang im Rathaus").locator(".status")).to_have_text(
            "Entwurf"
        )
        screenshot(page, "desk-list-desktop", full_page=True)
        page.get_by_role("link", name="Eisbahn im Riedergarten öffnet", exact=True).click()
        expect(page.locator(".release__body h2")).to_have_text("Öffnungszeiten")
        expect(page.locator(".release__body p strong")).to_have_text("Täglich")
        assert errors == []
    finally:
        context.close()


def test_pasted_paragraphs_reach_the_page_and_every_feed(desk: Desk, browser: Browser) -> None:
    context, page = signed_in(browser, desk, viewport=DESKTOP)
    try:
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        page.get_by_label("Titel").fill("Weihnachtsbaum für den Max-Josefs-Platz")
        paste_text(page, PASTED)
        page.get_by_role("button", name="Jetzt veröffentlichen").click()
        expect(page.locator(".flash")).to_contain_text("Veröffentlicht:")
        page.get_by_role("link", name="Weihnachtsbaum für den Max-Josefs-Platz", exact=True).click()
        assert len(body_paragraphs(page)) == 3
        for fmt in ("atom", "rss"):
            entry = feedparser.parse(fetch(page, f"{desk.url}/cities/rosenheim/feed.{fmt}")).entries[0]
            content = entry.content[0].value
            assert content.count("<p>") == 3, fmt
        item = json.loads(fetch(page, f"{desk.url}/cities/rosenheim/feed.json"))["items"][0]
        assert item["content_html"].count("<p>") == 3
    finally:
        context.close()


def test_without_javascript_the_text_is_a_textarea_and_keeps_its_paragraphs(
    desk: Desk, browser: Browser
) -> None:
    context, page = signed_in(browser, desk, viewport=DESKTOP, java_script_enabled=False)
    try:
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        assert page.locator("trix-editor").count() == 0
        page.get_by_label("Titel").fill("Stadtbücherei: längere Öffnungszeiten")
        page.get_by_label("Text (Pflichtfeld)").fill(PASTED)
        page.get_by_role("button", name="Jetzt veröffentlichen").click()
        page.get_by_role("link", name="Stadtbücherei: längere Öffnungszeiten", exact=True).click()
        assert len(body_paragraphs(page)) == 3
    finally:
        context.close()


def test_on_a_phone_the_list_shows_every_action(desk: Desk, browser: Browser) -> None:
    context, page = signed_in(
        browser, desk, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        page.get_by_label("Titel").fill("Christbaumsammlung im Januar")
        page.get_by_role("button", name="Als Entwurf speichern").click()
        expect(page.locator(".flash")).to_contain_text("Entwurf gespeichert")
        # The form with the editor and its toolbar fits the screen too.
        expect(page.locator("trix-toolbar")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("trix-toolbar").scroll_into_view_if_needed()
        screenshot(page, "desk-editor-phone")
        page.get_by_role("link", name="← Ihre Pressemitteilungen").click()
        page.wait_for_url(f"{desk.url}/publish")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for row in page.locator(".release-table--cards tbody tr").all()[:8]:
            for action in row.locator(".release-table__actions a").all():
                box = action.bounding_box()
                assert box is not None and action.is_visible()
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], action.inner_text()
                assert box["height"] >= 24, "big enough to tap"
        draft = page.locator("tr").filter(has_text="Christbaumsammlung im Januar")
        expect(draft.get_by_role("link", name="Löschen")).to_be_visible()
        screenshot(page, "desk-list-phone")
    finally:
        context.close()


def test_a_correction_shows_its_history_and_a_retraction_its_reason(desk: Desk, browser: Browser) -> None:
    context, page = signed_in(browser, desk, viewport=DESKTOP)
    errors = console_errors(page)
    try:
        page.get_by_role("link", name="Neue Pressemitteilung").click()
        page.get_by_label("Titel").fill("Christkindlmarkt öffnet am Freitag")
        paste_text(page, "Der Christkindlmarkt am Max-Josefs-Platz öffnet am Freitag um 16 Uhr.")
        page.get_by_role("button", name="Jetzt veröffentlichen").click()
        expect(page.locator(".flash")).to_contain_text("Veröffentlicht:")
        page.locator("tr").filter(has_text="Christkindlmarkt öffnet am Freitag").get_by_role(
            "link", name="Bearbeiten"
        ).click()
        page.get_by_label("Titel").fill("Christkindlmarkt öffnet am Samstag")
        page.get_by_label("Korrekturhinweis").fill("Eröffnungstag korrigiert")
        expect(page.get_by_label("Wesentliche Korrektur", exact=False)).to_be_checked()
        page.get_by_role("button", name="Änderungen speichern").click()
        expect(page.locator(".flash")).to_contain_text("Gespeichert:")

        page.get_by_role("link", name="Christkindlmarkt öffnet am Samstag", exact=True).click()
        release_url = page.url
        history = page.locator("section.history")
        expect(history).to_contain_text("Eröffnungstag korrigiert")
        history.get_by_role("link", name="Fassung davor und Änderungen").click()
        expect(page.locator("h1")).to_have_text("Christkindlmarkt öffnet am Freitag")
        expect(page.locator(".changes del").first).to_have_text("Freitag")
        expect(page.locator(".changes ins").first).to_have_text("Samstag")
        screenshot(page, "desk-correction-history", full_page=True)

        page.goto(f"{desk.url}/publish")
        page.locator("tr").filter(has_text="Christkindlmarkt öffnet am Samstag").get_by_role(
            "link", name="Zurückziehen"
        ).click()
        page.get_by_label("Grund (freiwillig)").fill("Der Markt muss wegen Sturmwarnung ausfallen.")
        page.get_by_role("button", name="Endgültig zurückziehen").click()
        expect(page.locator(".flash")).to_contain_text("Zurückgezogen:")
        # A browser that read the page keeps it until its max-age ends; another one gets 410 now.
        reader = browser.new_context(locale="de-DE")
        try:
            gone = reader.new_page()
            answer = gone.goto(release_url)
            assert answer is not None and answer.status == 410
            expect(gone.locator(".error-page__reason")).to_contain_text("Sturmwarnung")
        finally:
            reader.close()
        assert errors == []
    finally:
        context.close()
