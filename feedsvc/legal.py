"""The site's legal pages: Impressum, Datenschutzerklärung and Erklärung zur Barrierefreiheit,
which a German public body must publish before its site goes online.

Each is a Markdown file of the instance folder (`impressum.md`, `datenschutz.md`,
`barrierefreiheit.md`), written by the operator and changed without a restart. It is
rendered with markdown-it-py (CommonMark with tables) and then passed through
`text.sanitize_html`, the one gate every HTML of feedsvc passes: markdown-it is told to
let every link through, so that which URL schemes and elements may appear is decided in
one place only. A first-level heading at the top is the page's title (else the page's
usual name); first-level headings of the text move one level down under it.

A file is read again only when its size, modification time or inode changed
(`LegalPages`, one per app), so a page costs one `stat` while nothing changed. A file
that cannot be used (larger than `MAX_BYTES`, not UTF-8, nested too deeply, without
text) raises `LegalPageError`, saying why; nothing of it is shown.

No Flask, no SQLAlchemy: files in, sanitised HTML out (`web/pages/legal.py` serves them).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

from feedsvc.text import HtmlTooDeep, html_has_text, plain_text, sanitize_html

# A Datenschutzerklärung runs to some 50 KB; four times that is no legal page but a mistake.
MAX_BYTES: Final = 256 * 1024
MAX_TITLE_CHARS: Final = 200


@dataclass(frozen=True)
class LegalPage:
    """One of the legal pages: where it is served, its file, what it is called."""

    slug: str
    title: str
    footer_label: str

    @property
    def path(self) -> str:
        return f"/{self.slug}"

    @property
    def file_name(self) -> str:
        return f"{self.slug}.md"


LEGAL_PAGES: Final = (
    LegalPage("impressum", "Impressum", "Impressum"),
    LegalPage("datenschutz", "Datenschutzerklärung", "Datenschutz"),
    LegalPage("barrierefreiheit", "Erklärung zur Barrierefreiheit", "Barrierefreiheit"),
)


class LegalPageError(ValueError):
    """A legal page's file that is there but cannot be shown; the message says why."""


@dataclass(frozen=True)
class RenderedPage:
    title: str
    # Sanitised by `text.sanitize_html`: safe to put into a page as it is.
    html: str
    modified: datetime
    digest: str


@dataclass(frozen=True)
class PageStatus:
    page: LegalPage
    file: Path
    state: Literal["ok", "missing", "unusable"]
    problem: str = ""


# What identifies a file's content without reading it: size, modification time, inode.
Stamp = tuple[int, int, int]


class _Markdown(MarkdownIt):
    """CommonMark with tables and raw HTML, every link let through: the sanitiser is the gate."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": True})
        self.enable("table")

    def validateLink(self, url: str) -> bool:
        return True


_MARKDOWN: Final = _Markdown()


def file_of(page: LegalPage, instance_path: Path) -> Path:
    return instance_path / page.file_name


def stamp_of(file: Path) -> Stamp | None:
    """The file's stamp, or None when there is no file (a folder of that name is a file
    that cannot be used, so it has a stamp and fails to render)."""
    try:
        found = file.stat()
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, -1, -1)
    return (found.st_size, found.st_mtime_ns, found.st_ino)


def render_markdown(text: str, default_title: str, base_url: str | None) -> tuple[str, str]:
    """The title and sanitised HTML of a legal page's Markdown. Relative links are made
    absolute against `base_url`."""
    tokens = _MARKDOWN.parse(text)
    title = default_title
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        heading = plain_text(_render(tokens[1:2]))[:MAX_TITLE_CHARS]
        title = heading or default_title
        tokens = tokens[3:]
    # The page's own <h1> is the title: first-level headings of the text move one level down
    # (and with them the rest, so that no level is skipped).
    headings = [token for token in tokens if token.type in ("heading_open", "heading_close")]
    if any(token.tag == "h1" for token in headings):
        for token in headings:
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    try:
        html = sanitize_html(_render(tokens), base_url=base_url)
    except HtmlTooDeep as error:
        raise LegalPageError(f"its HTML is nested too deeply ({error})") from None
    if not html_has_text(html):
        raise LegalPageError("it has no text")
    return title, html


def _render(tokens: Sequence[Token]) -> str:
    html: str = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return html


def read_page(page: LegalPage, file: Path, base_url: str | None) -> RenderedPage | None:
    """The page rendered from its file, or None when there is none; LegalPageError when the
    file cannot be shown."""
    try:
        # Checked before it is opened: opening a FIFO would wait for a writer.
        mode = file.stat().st_mode
        if not stat.S_ISREG(mode):
            raise LegalPageError(f"{file} is not a file")
        with file.open("rb") as opened:
            modified = os.fstat(opened.fileno()).st_mtime
            data = opened.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LegalPageError(f"{file} cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise LegalPageError(f"{file} is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LegalPageError(
            f"{file} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})"
        ) from None
    try:
        title, html = render_markdown(text, page.title, base_url)
    except LegalPageError as error:
        raise LegalPageError(f"{file}: {error}") from None
    return RenderedPage(
        title=title,
        html=html,
        modified=datetime.fromtimestamp(int(modified), UTC),
        digest=hashlib.sha256(data).hexdigest(),
    )


def statuses(instance_path: Path) -> list[PageStatus]:
    """How each legal page stands: there and fine, missing, or there and unusable (why)."""
    found = []
    for page in LEGAL_PAGES:
        file = file_of(page, instance_path)
        try:
            rendered = read_page(page, file, None)
        except LegalPageError as error:
            found.append(PageStatus(page, file, "unusable", str(error)))
            continue
        found.append(PageStatus(page, file, "ok" if rendered is not None else "missing"))
    return found


class LegalPages:
    """The legal pages of one instance folder, each rendered once per change of its file
    (and per base URL, which relative links are resolved against)."""

    def __init__(self, instance_path: Path) -> None:
        self.instance_path = instance_path
        self._lock = threading.Lock()
        # One rendering per page, for the base URL last asked for (in development each
        # request's own host): a stream of foreign Host headers cannot make it grow.
        self._kept: dict[str, tuple[Stamp, str | None, RenderedPage]] = {}

    def present(self) -> tuple[LegalPage, ...]:
        """The pages whose file is there: the footer links these."""
        return tuple(page for page in LEGAL_PAGES if stamp_of(file_of(page, self.instance_path)) is not None)

    def rendered(self, page: LegalPage, base_url: str | None) -> RenderedPage | None:
        """The page as its file says now; None when it has none, LegalPageError when the
        file cannot be shown."""
        file = file_of(page, self.instance_path)
        stamp = stamp_of(file)
        if stamp is None:
            return None
        with self._lock:
            kept = self._kept.get(page.slug)
        if kept is not None and kept[:2] == (stamp, base_url):
            return kept[2]
        rendered = read_page(page, file, base_url)
        # Stamped as it was before reading: a write while reading is read again next time.
        if rendered is not None:
            with self._lock:
                self._kept[page.slug] = (stamp, base_url, rendered)
        return rendered
