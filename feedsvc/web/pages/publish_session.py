"""Who is signed in to the publish form, and the CSRF check of its forms.

The signed session cookie holds only the token's id and a CSRF secret. The token
is looked up again on every request and must still be active, so revoking it
signs its users out at once. Only publisher and admin tokens may sign in:
journalist tokens read, they do not write.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Request, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from feedsvc import db
from feedsvc.models import Token
from feedsvc.store.tokens import token_by_id, token_by_secret

TOKEN_KEY = "publish_token_id"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
WRITER_ROLES = ("publisher", "admin")
PUBLISH_PREFIX = "/publish"


def current_token() -> Token | None:
    token_id = session.get(TOKEN_KEY)
    if not isinstance(token_id, int):
        return None
    token = token_by_id(db.session(), token_id)
    if token is None or not token.is_active or token.role not in WRITER_ROLES:
        session.pop(TOKEN_KEY, None)
        return None
    return token


def sign_in(secret: str) -> Token | None:
    token = token_by_secret(db.session(), secret.strip())
    if token is None or token.role not in WRITER_ROLES:
        return None
    # A fresh session (and CSRF secret): nothing set before sign-in carries over.
    session.clear()
    session[TOKEN_KEY] = token.id
    return token


def sign_out() -> None:
    session.clear()


def csrf_token() -> str:
    """The CSRF secret of this session, made on first use; every form posts it back."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok() -> bool:
    """Whether the posted form carries this session's CSRF secret (a cross-site form cannot know it)."""
    expected = session.get(CSRF_KEY)
    given = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())


class PublishOnlySessions(SecureCookieSessionInterface):
    """Session cookies exist only under /publish.

    Everything else (every feed poll) is read-only and anonymous: skipping the
    cookie there saves verifying a signature on each request, and a session can
    never leak into a cacheable response.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(PUBLISH_PREFIX):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)
