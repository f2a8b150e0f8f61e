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

from feedsvc import identity, settings

IDENTITY = "feedsvc.identity"

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
        # Seconds a newsroom's webhook endpoint may fail continuously before it is disabled.
        "WEBHOOK_DISABLE_AFTER": 5 * 24 * 3600,
        "FEED_MAX_AGE": 300,
        "FEED_STALE_WHILE_REVALIDATE": 60,
        # Public feeds and pages stay fresh until the next multiple of this many seconds
        # (since the epoch, UTC) at most: an embargo on such a point lifts exactly for every
        # client, and max-age never tells of one (docs/feeds.md#polling-http-caching).
        "FEED_EXPIRY_GRID": 60,
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
        # The largest uploaded file (images, PDFs), on the upload routes only.
        "MAX_UPLOAD_BYTES": 20_000_000,
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
        # The desk's sessions end after this many seconds without a request, and this many
        # seconds after sign-in at the latest.
        "SESSION_IDLE_TIMEOUT": 7200,
        "SESSION_MAX_AGE": 43200,
        # Sign-in is refused for an account (an address) with this many failures within the
        # window (seconds), until the window has passed them.
        "SIGN_IN_MAX_FAILURES": 5,
        "SIGN_IN_MAX_FAILURES_PER_ADDRESS": 30,
        "SIGN_IN_FAILURE_WINDOW": 900,
        # Seconds an e-mail sign-in link signs in (once).
        "SIGN_IN_LINK_MAX_AGE": 900,
        # Seconds a preview link of a draft or a scheduled release opens it.
        "PREVIEW_LINK_MAX_AGE": 7 * 24 * 3600,
        # The mail server of sign-in links (none: no links), sent with STARTTLS by default.
        "SMTP_HOST": None,
        "SMTP_PORT": 587,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "SMTP_FROM": None,
        "SMTP_STARTTLS": True,
        # E-mail alerts: the daily digest's hour (Europe/Berlin), mails sent per minute at
        # most, seconds a sign-up may be confirmed, sign-ups per address and per client
        # within the window (seconds), and days the record of a sent mail is kept.
        "MAIL_DIGEST_HOUR": 7,
        "MAIL_PER_MINUTE": 60,
        "MAIL_CONFIRM_MAX_AGE": 48 * 3600,
        "MAIL_SIGN_UPS_PER_ADDRESS": 5,
        "MAIL_SIGN_UPS_PER_CLIENT": 20,
        "MAIL_SIGN_UP_WINDOW": 24 * 3600,
        "MAIL_KEEP_SENT_DAYS": 365,
        # Flask's own instance folder unless FEEDSVC_INSTANCE_PATH names another.
        "INSTANCE_PATH": instance_path,
        # Uploaded images and PDFs, in a folder every app server shares (docs/operations.md);
        # None: `media` in the instance folder.
        "MEDIA_PATH": None,
    }


def configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """`app.config` from the checked settings (`feedsvc.settings`); ConfigError lists every
    bad value at once."""
    if (instance_path := settings.instance_path_given(os.environ, test_config)) is not None:
        app.instance_path = instance_path
    base = defaults(app.instance_path)
    app.config.from_mapping(base)
    loaded = settings.load(app, os.environ, test_config, base)
    app.config.update(loaded.settings.model_dump())
    if test_config:
        app.config.update(
            {key: value for key, value in test_config.items() if key not in settings.Settings.model_fields}
        )
    app.extensions["feedsvc.settings"] = loaded
    app.extensions[IDENTITY] = _site_identity(loaded)
    _ensure_secret_key(app)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def loaded_settings(app: Flask) -> settings.Loaded:
    """The checked settings of `app` and where each value came from."""
    loaded: settings.Loaded = app.extensions["feedsvc.settings"]
    return loaded


def site_identity(app: Flask) -> identity.Identity:
    """The site's identity (name, logo, colours, contact), as checked when `app` was made."""
    found: identity.Identity = app.extensions[IDENTITY]
    return found


def _site_identity(loaded: settings.Loaded) -> identity.Identity:
    """The identity the settings describe, its logo and icon files read once; ConfigError
    names each that cannot be used."""
    values = loaded.settings.model_dump()
    found, problems = identity.identity_from(values, Path(loaded.settings.INSTANCE_PATH))
    if problems:
        raise settings.ConfigError(
            [settings.problem_line(key, values[key], loaded.sources, reason) for key, reason in problems]
        )
    return found


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
