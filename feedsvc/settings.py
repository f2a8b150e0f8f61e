"""The checked settings: one typed object, read from defaults, then `FEEDSVC_*` environment
variables, then the overrides a caller passes to `create_app` (tests).

Every problem is collected and reported at once by `ConfigError`, each naming the variable,
its value and the accepted form. `FEEDSVC_*` names that are no setting are warned about,
with the closest known name. The values end up in `app.config` under the names they always
had (`app.config["FEED_MAX_AGE"]`); where each came from is kept for `feedsvc check-config`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "FEEDSVC_"
FALLBACK_TAG_AUTHORITY = "feedsvc.localhost"
# FEEDSVC_* names read by the test suite and tools, not by the app.
_NOT_SETTINGS = ("TEST_", "CORPUS_DIR", "APP")

NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]


class ConfigError(Exception):
    """Settings that cannot be used; `problems` has one line per bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"feedsvc cannot start, the configuration has {count}:\n" + "\n".join(
            f"  - {problem}" for problem in problems
        ))  # fmt: skip


class Settings(BaseModel):
    """feedsvc's own settings; the description of each is the form it accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ENV: Literal["development", "production"] = Field(
        "development", description="'development' or 'production'"
    )
    DATABASE_URL: str = Field(
        description="an SQLAlchemy URL: sqlite:///PATH, or postgresql://USER:PASSWORD@HOST/DB "
        "(postgres:// and postgresql+psycopg:// are accepted too)"
    )
    DB_POOL_SIZE: int = Field(5, ge=1, description="a whole number, at least 1")
    BASE_URL: str | None = Field(
        None, description="an absolute http:// or https:// URL, e.g. https://presse.example.org"
    )
    TAG_AUTHORITY: str | None = Field(
        None, description="a DNS name (e.g. presse.example.org) or an e-mail address"
    )
    HUB_URLS: list[str] = Field([], description="comma-separated http:// or https:// URLs")
    CACHE_PURGE_URLS: list[str] = Field([], description="comma-separated http:// or https:// URLs")
    DELIVERY_INTERVAL: float = Field(1.0, gt=0, description="seconds, a number above 0")
    DELIVERY_BATCH: int = Field(100, ge=1, description="a whole number, at least 1")
    DELIVERY_LAG_ALERT: NonNegativeFloat = Field(60.0, description="seconds, 0 or more (0: never)")
    FEED_MAX_AGE: NonNegativeInt = Field(300, description="whole seconds, 0 or more")
    FEED_STALE_WHILE_REVALIDATE: NonNegativeInt = Field(60, description="whole seconds, 0 or more")
    FEED_ARCHIVE_MAX_AGE: NonNegativeInt = Field(86400, description="whole seconds, 0 or more")
    FEED_STALE_IF_ERROR: NonNegativeInt = Field(86400, description="whole seconds, 0 or more")
    TOMBSTONE_DAYS: NonNegativeInt = Field(30, description="whole days, 0 or more")
    FEED_CACHE_BYTES: NonNegativeInt = Field(56 * 1024 * 1024, description="bytes, a whole number, 0 or more")
    PROXY_COUNT: NonNegativeInt = Field(0, description="a whole number, 0 or more (nginx in front: 1)")
    FEED_STATE_TTL: NonNegativeFloat = Field(1.0, description="seconds, 0 or more")
    MAX_CONTENT_LENGTH: NonNegativeInt = Field(1024 * 1024, description="bytes, a whole number, 0 or more")
    FEED_CONTENT_BUDGET: NonNegativeInt = Field(
        1_000_000, description="bytes, a whole number, 0 or more (0: none)"
    )
    DB_STATEMENT_TIMEOUT: float = Field(20.0, gt=0, description="seconds, a number above 0")
    DB_LOCK_TIMEOUT: float = Field(5.0, gt=0, description="seconds, a number above 0")
    SECRET_KEY: str | None = Field(None, description="a long random string, the same on every app server")
    SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict", "None"] | None = Field(
        "Lax", description="'Lax', 'Strict' or 'None'"
    )

    @field_validator("BASE_URL", "TAG_AUTHORITY", "SECRET_KEY", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("HUB_URLS", "CACHE_PURGE_URLS", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return list(value) if isinstance(value, tuple) else value

    @field_validator("HUB_URLS", "CACHE_PURGE_URLS")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            _check_http_url(url)
        return value

    @field_validator("BASE_URL")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _check_http_url(value)
        if urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError("no query or fragment")
        return value.rstrip("/")

    @field_validator("TAG_AUTHORITY")
    @classmethod
    def _tag_authority(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"([^@\s]+@)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value):
            raise ValueError("not a DNS name or e-mail address")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)


def _check_http_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")


def normalise_database_url(url: str) -> str:
    """`postgres://` and `postgresql://` as `postgresql+psycopg://` (the driver installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url.removeprefix(prefix)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL") from None
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ValueError(f"unsupported database {parsed.drivername!r}")
    return url


# Settings only callers of create_app set (never from the environment).
CODE_ONLY = ("CLOCK",)
SECRETS = ("SECRET_KEY",)


@dataclass(frozen=True)
class Loaded:
    """The validated settings and, per setting, where its value came from."""

    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def tag_authority_is_fallback(self) -> bool:
        return self.sources.get("TAG_AUTHORITY") == "fallback"


def load(
    app: Flask, environ: Mapping[str, str], overrides: Mapping[str, Any] | None, defaults: Mapping[str, Any]
) -> Loaded:
    """Validated settings from `defaults`, `environ` and `overrides`, or ConfigError naming
    every bad value. Other Flask settings in `environ` (FEEDSVC_TRUSTED_HOSTS) are set on
    `app.config` as Flask's `from_prefixed_env` would."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    known = set(Settings.model_fields)
    flask_keys = set(app.config) - known
    warnings: list[str] = []
    for name in sorted(environ):
        if not name.startswith(PREFIX):
            continue
        key = name.removeprefix(PREFIX)
        if key in known:
            values[key], sources[key] = environ[name], "environment"
        elif key in flask_keys and key not in CODE_ONLY:
            app.config[key] = _flask_value(environ[name])
        elif not key.startswith(_NOT_SETTINGS):
            close = difflib.get_close_matches(key, sorted(known | flask_keys), n=1, cutoff=0.6)
            hint = f"; did you mean {PREFIX}{close[0]}?" if close else ""
            warnings.append(f"{name} is not a feedsvc setting and is ignored{hint}")
    for warning in warnings:
        app.logger.warning(warning)
    for key, value in (overrides or {}).items():
        if key in known:
            values[key], sources[key] = value, "create_app"
    for key in known - set(values):
        if key in defaults:
            values[key] = defaults[key]
        sources[key] = "default"
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        raise ConfigError(_problems(error, values, sources)) from None
    if settings.TAG_AUTHORITY is None:
        host = urlsplit(settings.BASE_URL or "").hostname or ""
        # RFC 4151 wants a DNS name (or e-mail address) as authority, not an IP address.
        if any(ch.isalpha() for ch in host) and ":" not in host:
            settings = settings.model_copy(update={"TAG_AUTHORITY": host})
            sources["TAG_AUTHORITY"] = "from BASE_URL"
        else:
            settings = settings.model_copy(update={"TAG_AUTHORITY": FALLBACK_TAG_AUTHORITY})
            sources["TAG_AUTHORITY"] = "fallback"
    return Loaded(settings, sources, tuple(warnings))


def _flask_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _problems(error: ValidationError, values: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    problems: dict[str, str] = {}
    for item in error.errors(include_url=False):
        key = str(item["loc"][0]) if item["loc"] else "?"
        if key in problems:
            continue
        described = Settings.model_fields[key].description if key in Settings.model_fields else None
        value = values.get(key)
        shown = repr(mask(key, value) if isinstance(value, str) else value)
        where = f"{PREFIX}{key}" if sources.get(key) == "environment" else f"{key} (given to create_app)"
        reason = str(item["msg"]).removeprefix("Value error, ")
        problems[key] = f"{where}={shown}: {reason}; expected {described}"
    return [problems[key] for key in Settings.model_fields if key in problems]


def mask(key: str, value: str | None) -> str | None:
    """A value as it may be shown: secrets as ***, the password inside a database URL hidden."""
    if value is None:
        return None
    if key in SECRETS:
        return "***"
    if key == "DATABASE_URL":
        try:
            return make_url(value).render_as_string(hide_password=True)
        except ArgumentError:
            return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)
    return value
