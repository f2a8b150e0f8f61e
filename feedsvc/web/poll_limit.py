"""Optional: 429 for a client that polls one feed far more often than `max-age` allows.

Off unless `FEEDSVC_POLL_LIMIT_REDIS_URL` is set. The counters live in Redis so
that every worker and app server sees the same count: a client cannot escape
its limit by landing on another process. A client may fetch a feed
`FEEDSVC_POLL_LIMIT` times per `max-age` window; beyond that it gets 429 with
`Retry-After` until the window ends. If Redis cannot be reached, requests pass:
the limit protects the service, it must never take it down.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, request

from feedsvc.web.problems import problem

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)
_CLIENT = "feedsvc.poll_limit"


def init_app(app: Flask) -> None:
    url = app.config.get("POLL_LIMIT_REDIS_URL")
    if url:
        import redis  # only where the limit is switched on: the client costs every worker memory

        app.extensions[_CLIENT] = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.05)


def is_on(app: Flask) -> bool:
    return _CLIENT in app.extensions


def refused(feed_key: str) -> Response | None:
    """A 429 response when this client exceeded its polls of `feed_key`, else None."""
    client: redis.Redis | None = current_app.extensions.get(_CLIENT)
    if client is None:
        return None
    import redis

    window: int = max(1, current_app.config["FEED_MAX_AGE"])
    now = time.time()
    window_start = int(now // window) * window
    counter = f"feedsvc:polls:{request.remote_addr}:{feed_key}:{window_start}"
    try:
        pipeline = client.pipeline()
        pipeline.incr(counter)
        pipeline.expire(counter, window + 1)
        count = int(pipeline.execute()[0])
    except redis.RedisError as error:
        log.warning("poll limit not checked, Redis unavailable: %s", error)
        return None
    if count <= current_app.config["POLL_LIMIT"]:
        return None
    retry_after = str(max(1, int(window_start + window - now)))
    detail = f"this feed changes at most every {window} s; poll it less often (Cache-Control tells how often)"
    return problem(429, detail, headers={"Retry-After": retry_after})
