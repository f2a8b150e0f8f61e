"""What the publish form's editor (Trix, `static/vendor/trix`, started by `static/js/editor.js`)
needs of the server: the HTML it starts from, and a Content-Security-Policy that lets it in.

The editor starts from the body as it would be stored (`text.clean_body`), so that plain text
shows its paragraphs and what is shown is what is published; the textarea beneath keeps what
was typed, for browsers without JavaScript. A body that cannot be cleaned (nested too deeply)
gets no editor: it stays in the textarea, where its error is shown.

Trix puts its few default styles into a `<style>` element of its own, which the policy of
every page (`security.CONTENT_SECURITY_POLICY`, `style-src 'self'`) refuses. A page with the
editor names a random nonce (`<meta name="trix-csp-nonce">`, which Trix reads) and allows
exactly that one in its policy; scripts stay `'self'` only.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

from feedsvc.text import clean_body
from feedsvc.web.pages.security import CONTENT_SECURITY_POLICY

_NONCE = "editor_style_nonce"
_STYLE_SRC = "style-src 'self'"


def style_nonce() -> str:
    """This response's nonce for the editor's style element (made on first use)."""
    if _NONCE not in g:
        setattr(g, _NONCE, secrets.token_urlsafe(18))
    nonce: str = getattr(g, _NONCE)
    return nonce


def policy_with_nonce(nonce: str) -> str:
    if _STYLE_SRC not in CONTENT_SECURITY_POLICY:
        raise RuntimeError("the Content-Security-Policy has no style-src 'self' to extend")
    return CONTENT_SECURITY_POLICY.replace(_STYLE_SRC, f"{_STYLE_SRC} 'nonce-{nonce}'", 1)


def editor_html(body: str, source_url: str = "") -> str | None:
    """The body as the editor shows it: as it would be stored, its relative links resolved
    against `source_url` as publishing would; None when it cannot be cleaned."""
    try:
        return clean_body(body, base_url=source_url or None)
    except ValueError:  # HtmlTooDeep, or a source URL that is none: then without it
        if source_url:
            return editor_html(body)
        return None


def _allow_nonce(response: Response) -> Response:
    nonce = g.get(_NONCE)
    if nonce is not None and response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = policy_with_nonce(nonce)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(editor_style_nonce=style_nonce, editor_html=editor_html)
    app.after_request(_allow_nonce)
