"""Polls answered before Flask: the feed is rendered in this worker and still current.

Almost every request feedsvc gets is a poll of a feed that has not changed.
Answering one needs a counter check and bytes from memory; Flask's request
context, URL routing and response objects would cost as much again. The front
answers exactly those polls and passes every other request to Flask untouched:
another method, a query string, credentials, a feed this worker has not
rendered, a validator it never handed out, a change or an embargo lift since the
render, a database that does not answer. The feed view then decides as it always
does, renders if needed, and fills the cache the front reads. Both build their
reply with `conditional.reply`, so a request gets the
same answer from either, and both ask `cache.is_current` whether the bytes may
still be sent (tests/test_poll_front.py compares them request by request).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_current_url

from feedsvc.db import is_outage
from feedsvc.formats import FORMATS
from feedsvc.web import metrics
from feedsvc.web.feeds.cache import feed_cache, feed_cache_key, is_current, state_reader
from feedsvc.web.feeds.conditional import (
    Reply,
    WSGIEnviron,
    client_holds,
    reply,
    stale_reply,
    wants_fresh,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FEED_ENDINGS = tuple(f"/feed.{fmt}" for fmt in FORMATS)
_READ_FAILURES = (DBAPIError, PoolTimeoutError)


class PollFront:
    """WSGI middleware in front of the Flask app, sharing its feed cache and counters."""

    def __init__(self, app: Flask, downstream: WSGIApplication) -> None:
        self.downstream = downstream
        self._config = app.config
        self._cache = feed_cache(app)
        self._states = state_reader(app)
        self._dialect = self._states.dialect
        self._metrics = metrics.instruments(app)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.reply(environ)
        if answer is None:
            return self.downstream(environ, self._metrics.counting(start_response))
        self._metrics.response(answer.status_line, "front")
        self._metrics.cache_hit.inc()
        start_response(answer.status_line, list(answer.headers))
        return (answer.body,)

    def reply(self, environ: WSGIEnviron) -> Reply | None:
        """The answer to a poll of a current rendered feed, or None to let Flask answer."""
        path: str = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or not path.endswith(FEED_ENDINGS)
            or environ.get("QUERY_STRING")
            or "HTTP_AUTHORIZATION" in environ
            or not path.isascii()
        ):
            return None
        base_url = self._base_url(environ)
        if base_url is None:
            return None
        entry = self._cache.get(feed_cache_key(base_url, path))
        if entry is None:
            return None
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and not client_holds(entry, if_none_match):
            # The client saw a version this worker never rendered: Flask looks afresh.
            return None
        now = self._config["CLOCK"]()
        try:
            states = self._states.states(entry.keys, fresh=wants_fresh(environ))
        except _READ_FAILURES as error:
            # Unreachable: the copy we hold, stale, as the view would answer (one attempt,
            # not two). Any other error is the view's to raise.
            return stale_reply(entry, environ, now, self._config) if is_outage(error, self._dialect) else None
        if not is_current(entry, states, now):
            return None
        return reply(entry, environ, now, self._config)

    def _base_url(self, environ: WSGIEnviron) -> str | None:
        configured: str | None = self._config["BASE_URL"]
        if configured:
            return configured
        try:
            host_url: str = get_current_url(
                environ,  # type: ignore[arg-type]
                host_only=True,
                trusted_hosts=self._config.get("TRUSTED_HOSTS"),
            )
        except SecurityError:
            return None
        return host_url.rstrip("/")


def front_of(app: Flask) -> PollFront:
    """The poll front among the app's WSGI wrappers (`create_app` puts it there)."""
    wrapped: object = app.wsgi_app
    while not isinstance(wrapped, PollFront):
        wrapped = getattr(wrapped, "app")  # noqa: B009 - ProxyFix keeps what it wraps as `app`
    return wrapped
