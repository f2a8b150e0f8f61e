"""Settings: defaults, then `FEEDSVC_*` environment variables, then test overrides,
checked by `feedsvc.settings` (one typed object; every bad value reported at once).

Read when an app is created, never at import time.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from feedsvc import settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'feedsvc.sqlite3'}",
        "DB_POOL_SIZE": 5,
        # Absolute base of every link in feeds and API answers; when unset, the
        # request's own host is used (fine locally, set it in production).
        "BASE_URL": None,
        # RFC 4151 tag authority of new release ids; default: the BASE_URL host.
        "TAG_AUTHORITY": None,
        "HUB_URLS": [],
        # Caches in front to purge by subject key on every change (Varnish: its
        # listen address, e.g. http://127.0.0.1:6081/; see deploy/varnish/feedsvc.vcl).
        "CACHE_PURGE_URLS": [],
        # The delivery worker: seconds between its looks at the outbox, changes per batch,
        # and the delivery lag (seconds) past which /healthz answers 503 (0: never).
        "DELIVERY_INTERVAL": 1.0,
        "DELIVERY_BATCH": 100,
        "DELIVERY_LAG_ALERT": 60,
        "FEED_MAX_AGE": 300,
        "FEED_STALE_WHILE_REVALIDATE": 60,
        # Archive pages (RFC 5005, `?after=`) hold only complete, older releases.
        "FEED_ARCHIVE_MAX_AGE": 86400,
        "FEED_STALE_IF_ERROR": 86400,
        "TOMBSTONE_DAYS": 30,
        # Bytes of rendered feeds each worker keeps in memory.
        "FEED_CACHE_BYTES": 56 * 1024 * 1024,
        # Proxies in front (nginx: 1) whose X-Forwarded-For/-Proto/-Host are trusted.
        "PROXY_COUNT": 0,
        # PostgreSQL: seconds a worker trusts the change counters it read
        # (SQLite learns of every commit at once through PRAGMA data_version).
        "FEED_STATE_TTL": 1.0,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # Bytes of entry bodies one feed document carries in full; later entries get their
        # summary and a link (0: no budget).
        "FEED_CONTENT_BUDGET": 1_000_000,
        # PostgreSQL: seconds a statement may run and a write may wait for a lock before
        # the request answers 503 (migrations run without these limits).
        "DB_STATEMENT_TIMEOUT": 20.0,
        "DB_LOCK_TIMEOUT": 5.0,
        "CLOCK": system_clock,
        # Signs the session cookie of the publish form (FEEDSVC_SECRET_KEY).
        "SECRET_KEY": None,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }


def configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """`app.config` from the checked settings (`feedsvc.settings`); ConfigError lists every
    bad value at once."""
    base = defaults(app.instance_path)
    app.config.from_mapping(base)
    loaded = settings.load(app, os.environ, test_config, base)
    app.config.update(loaded.settings.model_dump())
    if test_config:
        app.config.update(
            {key: value for key, value in test_config.items() if key not in settings.Settings.model_fields}
        )
    app.extensions["feedsvc.settings"] = loaded
    _ensure_secret_key(app)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def loaded_settings(app: Flask) -> settings.Loaded:
    """The checked settings of `app` and where each value came from."""
    loaded: settings.Loaded = app.extensions["feedsvc.settings"]
    return loaded


def _ensure_secret_key(app: Flask) -> None:
    # Behind HTTPS the session cookie of the publish form must never travel in clear text.
    if str(app.config["BASE_URL"] or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if app.config["SECRET_KEY"]:
        return
    # Without a configured key, one is made once and kept in the instance folder:
    # every worker on this machine shares it and sign-ins survive restarts. Several
    # app servers still need one FEEDSVC_SECRET_KEY, so say so.
    app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")
    app.logger.info(
        "FEEDSVC_SECRET_KEY is not set: using the key kept in the instance folder; "
        "set it when several app servers share the publish form."
    )


def _instance_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may be writing it this instant
            if secret := path.read_text(encoding="ascii").strip():
                return secret
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty: delete it or set FEEDSVC_SECRET_KEY") from None
    secret = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret)
    return secret
