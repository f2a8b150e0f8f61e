"""Settings: defaults, then `FEEDSVC_*` environment variables, then test overrides.

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
from urllib.parse import urlsplit

from flask import Flask

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
        # Optional 429 for over-eager pollers, counted in Redis (off when unset).
        "POLL_LIMIT_REDIS_URL": None,
        "POLL_LIMIT": 10,
        "CLOCK": system_clock,
        # Signs the session cookie of the publish form (FEEDSVC_SECRET_KEY).
        "SECRET_KEY": None,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(part) for part in value]
    raise ValueError(f"expected a comma-separated list, got {value!r}")


def configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_prefixed_env("FEEDSVC")
    if test_config:
        app.config.update(test_config)
    app.config["HUB_URLS"] = _as_list(app.config["HUB_URLS"])
    base_url = app.config["BASE_URL"]
    if base_url:
        app.config["BASE_URL"] = str(base_url).rstrip("/")
    if not app.config["TAG_AUTHORITY"]:
        host = urlsplit(app.config["BASE_URL"] or "").hostname or ""
        # RFC 4151 wants a DNS name (or e-mail address) as authority, not an IP address.
        is_dns_name = any(ch.isalpha() for ch in host) and ":" not in host
        app.config["TAG_AUTHORITY"] = host if is_dns_name else "feedsvc.localhost"
    for key in (
        "FEED_MAX_AGE",
        "FEED_ARCHIVE_MAX_AGE",
        "FEED_STALE_WHILE_REVALIDATE",
        "FEED_STALE_IF_ERROR",
        "MAX_CONTENT_LENGTH",
        "PROXY_COUNT",
    ):
        value = int(app.config[key])
        if value < 0:
            raise ValueError(f"FEEDSVC_{key} must not be negative")
        app.config[key] = value
    _ensure_secret_key(app)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


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
