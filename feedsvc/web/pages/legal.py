"""/impressum, /datenschutz and /barrierefreiheit: the legal pages of `feedsvc.legal`,
from the Markdown files of the instance folder, and the footer links to those there.

A page is answered like every public page (`responses.public_page`): its ETag comes from
the page's bytes, which change with the file, and caches keep it for a minute. Without
its file a page answers 404 and the footer leaves it out; a file that cannot be shown
answers 503 and is logged, with the reason, as `feedsvc check-config` reports it too.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app
from markupsafe import Markup

from feedsvc.config import site_identity
from feedsvc.legal import LEGAL_PAGES, LegalPage, LegalPageError, LegalPages
from feedsvc.web import urls
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head
from feedsvc.web.pages.responses import public_page

blueprint = Blueprint("legal", __name__)

_PAGES = "feedsvc.legal_pages"
_BY_SLUG = {page.slug: page for page in LEGAL_PAGES}


def legal_pages(app: Flask | None = None) -> LegalPages:
    pages: LegalPages = (app or current_app).extensions[_PAGES]
    return pages


def present_pages() -> tuple[LegalPage, ...]:
    """The legal pages whose file is there, for the footer of every page."""
    return legal_pages().present()


def legal_page(slug: str) -> Response:
    page = _BY_SLUG[slug]
    try:
        rendered = legal_pages().rendered(page, urls.base_url())
    except LegalPageError as error:
        # The operator's to fix, not the reader's: logged with the reason, and a German page.
        current_app.logger.warning("%s cannot be shown: %s", page.path, error)
        return error_response(
            503, max_age=0, message=f"{page.title}: diese Seite ist gerade nicht abrufbar. Bitte versuchen "
            "Sie es später erneut."
        )  # fmt: skip
    if rendered is None:
        return error_response(
            404, message=f"{page.title}: diese Seite ist auf dieser Website noch nicht eingerichtet."
        )
    head = Head(
        title=rendered.title,
        description=f"{page.title} von {site_identity(current_app).name}.",
        canonical=urls.absolute(page.path),
    )
    return public_page("pages/legal.html", head=head, title=rendered.title, body=Markup(rendered.html))


for _page in LEGAL_PAGES:
    blueprint.add_url_rule(
        _page.path, endpoint=_page.slug, view_func=legal_page, defaults={"slug": _page.slug}
    )


def init_app(app: Flask) -> None:
    app.extensions[_PAGES] = LegalPages(Path(app.config["INSTANCE_PATH"]))
    app.register_blueprint(blueprint)
    app.jinja_env.globals.update(legal_pages=present_pages)
