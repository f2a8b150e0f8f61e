"""How a page is answered: rendered once, then cached and validated like a feed.

Public pages depend on the URL only (never on the session), so shared caches may
keep them for a minute, and `If-None-Match` gets a 304 without a body. Pages of
the publish form are private and never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, render_template, request

PUBLIC_MAX_AGE = 60


def now() -> datetime:
    """The app's clock: embargoes lift when it says so (tests move it by hand)."""
    moment: datetime = current_app.config["CLOCK"]()
    return moment


def max_age_until(moment: datetime | None) -> int:
    """`PUBLIC_MAX_AGE`, shortened so no cache holds a page past `moment` (an embargo lift)."""
    if moment is None:
        return PUBLIC_MAX_AGE
    seconds = int((moment - now()).total_seconds())
    return max(0, min(PUBLIC_MAX_AGE, seconds))


def public_page(template: str, status: int = 200, max_age: int = PUBLIC_MAX_AGE, **context: Any) -> Response:
    return public_html(render_template(template, **context), status, max_age)


def public_html(html: str, status: int = 200, max_age: int = PUBLIC_MAX_AGE) -> Response:
    """A public page rendered before (and perhaps kept): validated and cacheable as any other."""
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if status == 200:
        response.add_etag()
        response.make_conditional(request)
    return response


def private_page(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    return response
