"""Who is signed in to the desk (`/publish`), and the CSRF check of its forms.

Sessions live in the database (`store.desk_sessions`). Flask's signed cookie carries
the session's secret, and before sign-in a CSRF secret of its own and the messages
flashed to the next page; who is signed in is the database's answer on every
request. Signing out deletes the row, so a copy of the cookie made before is worth
nothing after. A deactivated user, a revoked token, an expired session: nobody is
signed in. Only publisher and admin tokens sign in (journalist tokens read, they do
not write), and users of either role.

The cookie exists only under /publish (`PublishOnlySessions`), is HttpOnly, SameSite
(FEEDSVC_SESSION_COOKIE_SAMESITE, Lax by default) and Secure behind an https:// base
URL (`feedsvc.config`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, Request, Response, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from feedsvc import db
from feedsvc.models import City, DeskSession, Token, User
from feedsvc.publishing.writers import Writer, writer_for
from feedsvc.store import audit, catalog, desk_sessions
from feedsvc.store.audit import Acting
from feedsvc.store.desk_sessions import Lifetime
from feedsvc.store.write_access import may_write_city, writes_at_all, writes_every_city
from feedsvc.web.auth import client_address
from feedsvc.web.pages.responses import now

SESSION_SECRET_KEY = "desk"  # where the cookie keeps the session's secret
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
PUBLISH_PREFIX = "/publish"
_SIGNED_IN = "desk_signed_in"


@dataclass(frozen=True)
class SignedIn:
    """Whoever a request is signed in as: a user or a token, with its session."""

    row: DeskSession
    holder: User | Token

    @property
    def user(self) -> User | None:
        return self.holder if isinstance(self.holder, User) else None

    @property
    def is_admin(self) -> bool:
        return writes_every_city(self.holder)

    @property
    def writer(self) -> Writer:
        return writer_for(self.holder)

    @property
    def acting(self) -> Acting:
        """Who the audit log names for this request's writes, and from where."""
        return Acting(self.writer.actor, client_address())

    @property
    def name(self) -> str:
        """Whom the desk says is signed in."""
        if isinstance(self.holder, User):
            return self.holder.name or self.holder.email
        office = self.holder.publisher.name if self.holder.publisher else "Administration"
        return f"{office} ({self.holder.label})" if self.holder.label else office

    def may_write(self, city: City) -> bool:
        return may_write_city(self.holder, city)

    def writable_cities(self) -> Sequence[City]:
        return catalog.cities(db.session()) if self.is_admin else self.holder.cities


def lifetime() -> Lifetime:
    config = current_app.config
    return Lifetime(
        idle=timedelta(seconds=config["SESSION_IDLE_TIMEOUT"]),
        absolute=timedelta(seconds=config["SESSION_MAX_AGE"]),
    )


def current() -> SignedIn | None:
    """Whoever this request is signed in as, looked up once per request."""
    if _SIGNED_IN not in g:
        g.desk_signed_in = _look_up()
    found: SignedIn | None = g.desk_signed_in
    return found


def _look_up() -> SignedIn | None:
    secret = session.get(SESSION_SECRET_KEY)
    if not isinstance(secret, str):
        return None
    db_session = db.session()
    moment = now()
    row = desk_sessions.session_by_secret(db_session, secret, moment, lifetime())
    holder = _holder(row) if row is not None else None
    if row is None or holder is None:
        session.pop(SESSION_SECRET_KEY, None)
        return None
    if desk_sessions.needs_touch(row, moment):
        # Its own short transaction, starting with the write: on SQLite a transaction that
        # read first could not take the write lock once another writer committed.
        row_id = row.id
        db_session.rollback()
        desk_sessions.touch(db_session, row_id, moment)
        db_session.commit()
    return SignedIn(row, holder)


def _holder(row: DeskSession) -> User | Token | None:
    holder: User | Token | None = row.user if row.user_id is not None else row.token
    if holder is None or not writes_at_all(holder):
        return None
    return holder


def begin(holder: User | Token, method: str) -> SignedIn:
    """Signs `holder` in, in a new session (and cookie), in the caller's transaction.

    Whatever the cookie held before goes: a session it named ends, and no CSRF secret
    or message from before sign-in carries over."""
    db_session = db.session()
    earlier = session.get(SESSION_SECRET_KEY)
    if isinstance(earlier, str):
        desk_sessions.end_session_with_secret(db_session, earlier)
    moment = now()
    desk_sessions.prune(db_session, moment, lifetime())
    row, secret = desk_sessions.start_session(
        db_session,
        owner=holder,
        method=method,
        now=moment,
        lifetime=lifetime(),
        ip_address=client_address(),
        user_agent=request.user_agent.string,
    )
    session.clear()
    session[SESSION_SECRET_KEY] = secret
    signed_in = SignedIn(row, holder)
    g.desk_signed_in = signed_in
    return signed_in


def end() -> None:
    """Signs out, in the caller's transaction: the session's row is deleted, the cookie emptied."""
    secret = session.get(SESSION_SECRET_KEY)
    signed_in = current()
    if signed_in is not None:
        subject = audit.Subject(signed_in.writer.actor.kind, signed_in.holder.id)
        audit.record_by(db.session(), signed_in.acting, now(), "user.signed_out", subject)
    if isinstance(secret, str):
        desk_sessions.end_session_with_secret(db.session(), secret)
    session.clear()
    g.desk_signed_in = None


def csrf_token() -> str:
    """The CSRF secret every form posts back: the session's, or before sign-in the cookie's
    own (made on first use)."""
    signed_in = current()
    if signed_in is not None:
        return signed_in.row.csrf_secret
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok() -> bool:
    """Whether the posted form carries this session's CSRF secret (a cross-site form cannot know it)."""
    signed_in = current()
    expected = signed_in.row.csrf_secret if signed_in is not None else session.get(CSRF_KEY)
    given = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())


def is_desk_path(path: str) -> bool:
    return path == PUBLISH_PREFIX or path.startswith(PUBLISH_PREFIX + "/")


class PublishOnlySessions(SecureCookieSessionInterface):
    """Session cookies exist only under /publish.

    Everything else (every feed poll) is read-only and anonymous: skipping the
    cookie there saves verifying a signature on each request, and a session can
    never leak into a cacheable response. Browsers send the cookie to /publish only.
    """

    def get_cookie_path(self, app: Flask) -> str:
        return PUBLISH_PREFIX

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not is_desk_path(request.path):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)
