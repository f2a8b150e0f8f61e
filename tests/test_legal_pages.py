"""The legal pages (feedsvc/legal.py, web/pages/legal.py): Impressum, Datenschutzerklärung and
Erklärung zur Barrierefreiheit from Markdown files of the instance folder, sanitised, linked
from every page's footer while their file is there, 404 without it, validated like every
page; what `check-config` and `serve` say about them in production."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from lxml.html import HtmlElement

from feedsvc.legal import LEGAL_PAGES, MAX_BYTES, render_markdown, statuses
from tests.conftest import BASE_URL, AppFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "deploy" / "legal"
IMPRESSUM = """# Impressum der Stadt Au

Herausgeber: **Stadt Au**, vertreten durch die Erste Bürgermeisterin.

## Anschrift

Rathausplatz 1, 83022 Au — [presse@stadt-au.de](mailto:presse@stadt-au.de)

### Aufsicht

Landratsamt, siehe [Datenschutz](/datenschutz).

| Telefon | Telefax |
|---|---|
| 08031 365-0 | 08031 365-9 |
"""


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    folder.mkdir()
    return folder


@pytest.fixture
def legal_app(sample_app: Flask, make_app: AppFactory, instance: Path) -> Flask:
    return make_app(INSTANCE_PATH=str(instance))


@pytest.fixture
def legal_client(legal_app: Flask) -> FlaskClient:
    return legal_app.test_client()


def page(client: FlaskClient, path: str, status: int = 200) -> HtmlElement:
    response = client.get(path)
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "text/html"
    return html.fromstring(response.data)


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def footer_links(doc: HtmlElement) -> dict[str, str]:
    return {text_of(link): link.get("href", "") for link in doc.cssselect(".site-footer a")}


def body_of(doc: HtmlElement) -> HtmlElement:
    found: HtmlElement = doc.cssselect(".legal-page .release__body")[0]
    return found


def test_a_legal_page_is_rendered_from_its_markdown_file(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    response = legal_client.get("/impressum")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["ETag"]
    doc = html.fromstring(response.data)
    # The first heading is the page's title; the text's headings stay below it.
    assert text_of(doc.cssselect("h1")[0]) == "Impressum der Stadt Au"
    assert doc.findtext(".//title") == "Impressum der Stadt Au – Kommunale Pressemitteilungen"
    body = body_of(doc)
    assert [heading.tag for heading in body.iter("h2", "h3", "h4")] == ["h2", "h3"]
    assert body.cssselect("strong")[0].text == "Stadt Au"
    assert [cell.text for cell in body.cssselect("td")] == ["08031 365-0", "08031 365-9"]
    links = {link.text: link.get("href") for link in body.cssselect("a")}
    # Relative links are made absolute, as in every sanitised text.
    assert links == {
        "presse@stadt-au.de": "mailto:presse@stadt-au.de",
        "Datenschutz": f"{BASE_URL}/datenschutz",
    }
    assert doc.cssselect("link[rel=canonical]")[0].get("href") == f"{BASE_URL}/impressum"


def test_without_a_heading_the_page_has_its_usual_name(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "barrierefreiheit.md").write_text("# Stand\n\nDiese Website ist weitgehend barrierefrei.\n")
    (instance / "datenschutz.md").write_text("Wir erheben keine Daten.\n\n# Rechte\n\nAuskunft.\n")
    doc = page(legal_client, "/datenschutz")
    assert text_of(doc.cssselect("h1")[0]) == "Datenschutzerklärung"
    # A first-level heading inside the text moves below the page's own.
    assert [heading.tag for heading in body_of(doc).iter("h1", "h2")] == ["h2"]
    assert text_of(page(legal_client, "/barrierefreiheit").cssselect("h1")[0]) == "Stand"


def test_a_missing_page_answers_404_and_is_not_linked(legal_client: FlaskClient) -> None:
    for legal in LEGAL_PAGES:
        doc = page(legal_client, legal.path, 404)
        assert f"{legal.title}: diese Seite ist auf dieser Website noch nicht eingerichtet." in text_of(doc)
        assert legal.path not in footer_links(doc).values()


@pytest.mark.parametrize(
    "path", ["/", "/cities/rosenheim", "/topics/kultur", "/feeds", "/impressum", "/nirgends"]
)
def test_every_page_links_the_legal_pages_there_are(
    legal_client: FlaskClient, instance: Path, path: str
) -> None:
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    (instance / "barrierefreiheit.md").write_text("Diese Website ist weitgehend barrierefrei.\n")
    doc = page(legal_client, path, 404 if path == "/nirgends" else 200)
    links = footer_links(doc)
    assert links["Impressum"] == "/impressum" and links["Barrierefreiheit"] == "/barrierefreiheit"
    assert "Datenschutz" not in links


def test_a_release_page_links_them_too(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "datenschutz.md").write_text("Wir erheben keine Daten.\n")
    release = page(legal_client, "/").cssselect(".stream .card__title a")[0].get("href", "")
    assert footer_links(page(legal_client, release))["Datenschutz"] == "/datenschutz"


def test_a_feed_opened_in_a_browser_links_them_too(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    stylesheet = etree.XSLT(etree.fromstring(legal_client.get("/static/feed.xsl").data))
    shown = html.fromstring(str(stylesheet(etree.fromstring(legal_client.get("/feed.atom").data))))
    assert footer_links(shown)["Impressum"] == "/impressum"


def test_a_page_added_later_shows_in_the_kept_feed_directory(
    legal_client: FlaskClient, instance: Path
) -> None:
    assert "Impressum" not in footer_links(page(legal_client, "/feeds"))
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    assert footer_links(page(legal_client, "/feeds"))["Impressum"] == "/impressum"


def test_a_changed_file_changes_the_page_and_its_etag(legal_client: FlaskClient, instance: Path) -> None:
    file = instance / "impressum.md"
    file.write_text(IMPRESSUM, encoding="utf-8")
    first = legal_client.get("/impressum")
    etag = first.headers["ETag"]
    assert legal_client.get("/impressum", headers={"If-None-Match": etag}).status_code == 304
    file.write_text(IMPRESSUM.replace("Erste Bürgermeisterin", "Erster Bürgermeister"), encoding="utf-8")
    os.utime(file, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    changed = legal_client.get("/impressum", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Erster Bürgermeister" in changed.data.decode()
    file.unlink()
    assert legal_client.get("/impressum").status_code == 404


HOSTILE = """# Impressum

<script>alert(1)</script>
[Klick](javascript:alert(2)) [Daten](data:text/html;base64,PHNjcmlwdD4=) [Web](https://www.stadt-au.de)
<img src=x onerror=alert(3)> <a href="vbscript:msgbox">vb</a>
<iframe src="https://evil.example"></iframe><style>body{display:none}</style>
<p onclick="alert(4)" style="color:red">Text</p>

![Bild](javascript:alert(5)) ![Foto](https://www.stadt-au.de/foto.jpg)
"""


def test_hostile_markdown_is_sanitised(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "impressum.md").write_text(HOSTILE, encoding="utf-8")
    response = legal_client.get("/impressum")
    assert response.status_code == 200
    body = body_of(html.fromstring(response.data))
    assert not body.cssselect("script, iframe, style, object, embed")
    for element in body.iter():
        assert not any(name.startswith("on") or name == "style" for name in element.attrib), element.attrib
    assert {link.get("href") for link in body.cssselect("a")} == {"https://www.stadt-au.de"}
    # The relative src="x" is made absolute, like every relative URL of a sanitised text.
    assert {image.get("src") for image in body.cssselect("img")} == {
        "https://www.stadt-au.de/foto.jpg",
        f"{BASE_URL}/x",
    }
    assert "Klick" in text_of(body) and "Text" in text_of(body)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"# Impressum\n\n" + b"x" * MAX_BYTES, "is larger than 256 KiB"),
        (b"# Impressum\n\nStadt \xc4u\n", "is not UTF-8 text (byte 0xc4 at offset 19)"),
        (b"# Impressum\n\n" + b"<div>" * 150 + b"tief", "nested too deeply"),
        (b"   \n\n<!-- nichts -->\n", "it has no text"),
    ],
)
def test_a_file_that_cannot_be_shown_answers_503_and_says_why_in_the_log(
    legal_client: FlaskClient, instance: Path, caplog: pytest.LogCaptureFixture, content: bytes, reason: str
) -> None:
    (instance / "impressum.md").write_bytes(content)
    doc = page(legal_client, "/impressum", 503)
    assert "Impressum: diese Seite ist gerade nicht abrufbar" in text_of(doc)
    assert any(reason in record.getMessage() and record.exc_info is None for record in caplog.records)
    (status,) = [found for found in statuses(instance) if found.page.slug == "impressum"]
    assert status.state == "unusable" and reason in status.problem


def test_a_folder_of_that_name_is_no_page(legal_client: FlaskClient, instance: Path) -> None:
    (instance / "datenschutz.md").mkdir()
    assert "Datenschutz" in footer_links(page(legal_client, "/", 200))
    page(legal_client, "/datenschutz", 503)


def test_markdown_links_are_judged_by_the_sanitiser_alone() -> None:
    # markdown-it would drop these itself; the sanitiser's rules (URL schemes) decide.
    title, rendered = render_markdown("[Anruf](tel:+4980313650) [x](javascript:alert(1))", "Impressum", None)
    assert title == "Impressum"
    assert rendered == '<p><a href="tel:+4980313650">Anruf</a> x</p>'


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.example.md")), ids=lambda path: path.name)
def test_the_shipped_examples_render_and_say_they_are_examples(example: Path) -> None:
    slug = example.name.removesuffix(".example.md")
    (legal,) = [page for page in LEGAL_PAGES if page.slug == slug]
    title, rendered = render_markdown(example.read_text(encoding="utf-8"), legal.title, BASE_URL)
    assert title == legal.title
    assert "Beispiel – vor der Veröffentlichung anpassen" in rendered
    # Never a page as they are: only <slug>.md in the instance folder is.
    assert example.name != legal.file_name


def test_check_config_lists_the_legal_pages(legal_app: Flask, instance: Path) -> None:
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    (instance / "datenschutz.md").write_bytes(b"\xff\xfe")
    result = legal_app.test_cli_runner().invoke(args=["check-config"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  /")}
    assert lines["/impressum"].split()[1] == "ok" and str(instance / "impressum.md") in lines["/impressum"]
    assert lines["/datenschutz"].split()[1] == "unusable"
    assert lines["/barrierefreiheit"].split()[1] == "missing"
    assert "warning: /datenschutz cannot be shown: " in result.output
    # Development: a missing page is no warning yet.
    assert "warning: /barrierefreiheit" not in result.output


def test_check_config_warns_of_missing_pages_in_production(make_app: AppFactory, instance: Path) -> None:
    app = make_app(INSTANCE_PATH=str(instance), ENV="production")
    result = app.test_cli_runner().invoke(args=["check-config"])
    assert result.exit_code == 0, result.output
    for legal in LEGAL_PAGES:
        assert (
            f"warning: {legal.path} has no page: {instance / legal.file_name} is missing; "
            f"a German public body must publish its {legal.title} before the site goes live"
        ) in result.output


def test_serve_warns_at_start_in_production_while_a_legal_page_is_missing(
    tmp_path: Path, instance: Path
) -> None:
    (instance / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")}
    env |= {
        "FEEDSVC_ENV": "production",
        "FEEDSVC_BASE_URL": "https://presse.example.org",
        "FEEDSVC_SECRET_KEY": "s3cret-value",
        "FEEDSVC_INSTANCE_PATH": str(instance),
        # Unreachable: serve warns before it waits for its database, and stops here.
        "FEEDSVC_DATABASE_URL": "postgresql://feedsvc@127.0.0.1:1/feedsvc",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--port", "0", "--no-worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("unreachable" in line for line in lines):
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
        process.stderr.close()
    output = "".join(lines)
    assert "/datenschutz has no page" in output and "/barrierefreiheit has no page" in output, output
    assert "/impressum has no page" not in output
    assert "WARNING" in output and "Traceback" not in output
