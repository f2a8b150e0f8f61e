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
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from feedsvc import identity
from feedsvc.text import EMAIL_PATTERN, PHONE_PATTERN, plain_text

PREFIX = "FEEDSVC_"
FALLBACK_TAG_AUTHORITY = "feedsvc.localhost"
# FEEDSVC_* names read by the test suite and tools, not by the app.
_NOT_SETTINGS = ("TEST_", "CORPUS_DIR", "APP", "SCREENSHOTS")

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
    # Newsrooms' webhooks (docs/operations.md#webhooks): an endpoint failing continuously this
    # long is disabled, and the admins are told.
    WEBHOOK_DISABLE_AFTER: int = Field(
        5 * 24 * 3600, ge=60, le=90 * 24 * 3600, description="whole seconds, from 60 to 7776000 (90 days)"
    )
    FEED_MAX_AGE: NonNegativeInt = Field(300, description="whole seconds, 0 or more")
    FEED_STALE_WHILE_REVALIDATE: NonNegativeInt = Field(60, description="whole seconds, 0 or more")
    FEED_EXPIRY_GRID: int = Field(
        60,
        ge=1,
        le=3600,
        description="whole seconds from 1 to 3600 that divide an hour (1, 2, 5, 10, 15, 30, 60, 300, 600, "
        "900, 1800, 3600, ...)",
    )
    FEED_ARCHIVE_MAX_AGE: NonNegativeInt = Field(86400, description="whole seconds, 0 or more")
    FEED_STALE_IF_ERROR: NonNegativeInt = Field(86400, description="whole seconds, 0 or more")
    TOMBSTONE_DAYS: NonNegativeInt = Field(30, description="whole days, 0 or more")
    FEED_CACHE_BYTES: NonNegativeInt = Field(56 * 1024 * 1024, description="bytes, a whole number, 0 or more")
    PROXY_COUNT: NonNegativeInt = Field(0, description="a whole number, 0 or more (nginx in front: 1)")
    FEED_STATE_TTL: NonNegativeFloat = Field(1.0, description="seconds, 0 or more")
    MAX_CONTENT_LENGTH: NonNegativeInt = Field(1024 * 1024, description="bytes, a whole number, 0 or more")
    # Uploads (docs/operations.md#uploaded-images-and-pdfs): the largest file, taken on the
    # upload routes only; every other route keeps MAX_CONTENT_LENGTH.
    MAX_UPLOAD_BYTES: int = Field(
        20_000_000, ge=1024, le=1024**3, description="bytes, a whole number from 1024 to 1073741824"
    )
    FEED_CONTENT_BUDGET: NonNegativeInt = Field(
        1_000_000, description="bytes, a whole number, 0 or more (0: none)"
    )
    DB_STATEMENT_TIMEOUT: float = Field(20.0, gt=0, description="seconds, a number above 0")
    DB_LOCK_TIMEOUT: float = Field(5.0, gt=0, description="seconds, a number above 0")
    SECRET_KEY: str | None = Field(None, description="a long random string, the same on every app server")
    SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict", "None"] | None = Field(
        "Lax", description="'Lax', 'Strict' or 'None'"
    )
    # The desk's sessions and sign-in (docs/pages.md#signing-in, store.desk_sessions).
    SESSION_IDLE_TIMEOUT: int = Field(7200, ge=60, description="whole seconds, at least 60")
    SESSION_MAX_AGE: int = Field(43200, ge=60, description="whole seconds, at least 60")
    SIGN_IN_MAX_FAILURES: int = Field(5, ge=1, description="a whole number, at least 1")
    SIGN_IN_MAX_FAILURES_PER_ADDRESS: int = Field(30, ge=1, description="a whole number, at least 1")
    SIGN_IN_FAILURE_WINDOW: int = Field(900, ge=1, description="whole seconds, at least 1")
    SIGN_IN_LINK_MAX_AGE: int = Field(900, ge=60, description="whole seconds, at least 60")
    # How long a preview link of a draft or a scheduled release opens it (docs/pages.md#preview-links).
    PREVIEW_LINK_MAX_AGE: int = Field(
        7 * 24 * 3600, ge=60, le=366 * 24 * 3600, description="whole seconds, from 60 to 31622400 (366 days)"
    )
    # The mail server of e-mail sign-in links; without a host there are none.
    SMTP_HOST: str | None = Field(None, description="a host name or IP address")
    SMTP_PORT: int = Field(587, ge=1, le=65535, description="a port number, 1 to 65535")
    SMTP_USER: str | None = Field(None, description="a user name (with FEEDSVC_SMTP_PASSWORD)")
    SMTP_PASSWORD: str | None = Field(None, description="a password")
    SMTP_FROM: str | None = Field(
        None,
        validate_default=True,
        description="an e-mail address, or a name and one: Presseportal <presse@example.org>; "
        "needed with FEEDSVC_SMTP_HOST",
    )
    SMTP_STARTTLS: bool = Field(True, description="'true' or 'false'")
    # E-mail alerts of subscriptions (docs/operations.md#e-mail-alerts), sent through the
    # same mail server; offered with FEEDSVC_SMTP_HOST and FEEDSVC_BASE_URL set.
    MAIL_DIGEST_HOUR: int = Field(7, ge=0, le=23, description="an hour of the day, 0 to 23 (Europe/Berlin)")
    MAIL_PER_MINUTE: int = Field(60, ge=1, le=100_000, description="a whole number from 1 to 100000")
    MAIL_CONFIRM_MAX_AGE: int = Field(
        48 * 3600, ge=600, le=30 * 24 * 3600, description="whole seconds, from 600 to 2592000 (30 days)"
    )
    MAIL_SIGN_UPS_PER_ADDRESS: int = Field(5, ge=1, description="a whole number, at least 1")
    MAIL_SIGN_UPS_PER_CLIENT: int = Field(20, ge=1, description="a whole number, at least 1")
    MAIL_SIGN_UP_WINDOW: int = Field(
        24 * 3600, ge=60, le=30 * 24 * 3600, description="whole seconds, from 60 to 2592000 (30 days)"
    )
    MAIL_KEEP_SENT_DAYS: int = Field(365, ge=1, le=3650, description="whole days, from 1 to 3650")
    # The instance folder: the SQLite database, the kept secret key, the site's logo and its
    # legal pages (feedsvc.legal). Read before the other settings (`instance_path_given`).
    INSTANCE_PATH: str = Field(description="an absolute path of a folder")
    # Where uploaded images and PDFs are kept (feedsvc.media.storage); None: `media` in the
    # instance folder.
    MEDIA_PATH: str | None = Field(None, description="an absolute path of a folder")
    # The site's identity (feedsvc.identity, docs/operations.md#site-identity-and-legal-pages).
    SITE_NAME: str = Field(identity.DEFAULT_NAME, description="plain text, 1 to 100 characters")
    SITE_SHORT_NAME: str = Field(
        identity.DEFAULT_SHORT_NAME, description="plain text, 1 to 40 characters; feed titles begin with it"
    )
    SITE_LOGO: str | None = Field(
        None,
        description="a .png, .jpg, .jpeg or .gif file in the instance folder (its path there), "
        "or an http:// or https:// URL of one",
    )
    SITE_ICON: str | None = Field(
        None,
        description="a square .png, .jpg, .jpeg, .gif or .ico file in the instance folder (its path "
        "there), or an http:// or https:// URL of one",
    )
    SITE_COLOR_PRIMARY: str = Field(
        identity.DEFAULT_PRIMARY,
        description="a CSS hex colour (#rgb or #rrggbb) with at least 4.5:1 contrast to white and to "
        f"the page background {identity.PAGE_BACKGROUND} (WCAG AA)",
    )
    SITE_COLOR_ACCENT: str = Field(
        identity.DEFAULT_ACCENT,
        description="a CSS hex colour (#rgb or #rrggbb) with at least 4.5:1 contrast to white and to "
        "the light tint of the primary colour (WCAG AA)",
    )
    SITE_CONTACT_EMAIL: str | None = Field(None, description="an e-mail address, e.g. presse@example.org")
    SITE_CONTACT_ADDRESS: str | None = Field(
        None,
        description="one line of plain text, at most 200 characters, e.g. Rathausplatz 1, 83022 Rosenheim",
    )
    SITE_CONTACT_PHONE: str | None = Field(
        None, description="a phone number of digits, spaces and + ( ) / . -, e.g. +49 8031 365-0"
    )

    @field_validator(
        "BASE_URL",
        "TAG_AUTHORITY",
        "SECRET_KEY",
        "SITE_LOGO",
        "SITE_ICON",
        "SITE_CONTACT_EMAIL",
        "SITE_CONTACT_ADDRESS",
        "SITE_CONTACT_PHONE",
        "SMTP_HOST",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "SMTP_FROM",
        "MEDIA_PATH",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("FEED_EXPIRY_GRID")
    @classmethod
    def _divides_an_hour(cls, value: int) -> int:
        # Every full hour (the usual embargo, "Sperrfrist 10:00 Uhr") must be a point of the grid.
        if 3600 % value:
            raise ValueError("does not divide an hour, so full hours would not be points of the grid")
        return value

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

    @field_validator("INSTANCE_PATH", "MEDIA_PATH")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value)
        if not path.is_absolute():
            raise ValueError("not an absolute path")
        if path.exists() and not path.is_dir():
            raise ValueError("not a folder")
        return str(path)

    @field_validator("SITE_NAME", "SITE_SHORT_NAME", "SITE_CONTACT_ADDRESS")
    @classmethod
    def _plain_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        line = " ".join(value.split())
        if not line:
            raise ValueError("empty")
        if plain_text(line) != line:
            raise ValueError("not plain text (markup, character references or control characters)")
        longest = {"SITE_NAME": 100, "SITE_SHORT_NAME": 40}.get(str(info.field_name), 200)
        if len(line) > longest:
            raise ValueError(f"longer than {longest} characters")
        return line

    @field_validator("SITE_LOGO", "SITE_ICON")
    @classmethod
    def _image(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        problem = identity.asset_form_problem(
            "logo" if info.field_name == "SITE_LOGO" else "icon", value.strip()
        )
        if problem is not None:
            raise ValueError(problem)
        return value.strip()

    @field_validator("SITE_COLOR_PRIMARY", "SITE_COLOR_ACCENT")
    @classmethod
    def _colour(cls, value: str, info: ValidationInfo) -> str:
        colour = identity.normalise_colour(value)
        role = "primary" if info.field_name == "SITE_COLOR_PRIMARY" else "accent"
        # The accent is checked on the tint of the primary colour: that one must be valid.
        primary = info.data.get("SITE_COLOR_PRIMARY", identity.DEFAULT_PRIMARY)
        problem = identity.colour_problem(role, colour, primary)
        if problem is not None:
            raise ValueError(problem)
        return colour

    @field_validator("SITE_CONTACT_EMAIL")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not (
            len(value.strip()) <= 320 and re.fullmatch(EMAIL_PATTERN, value.strip())
        ):
            raise ValueError("not an e-mail address")
        return None if value is None else value.strip()

    @field_validator("SITE_CONTACT_PHONE")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not (re.fullmatch(PHONE_PATTERN, value.strip()) and re.search(r"\d", value)):
            raise ValueError("not a phone number")
        return None if value is None else " ".join(value.split())

    @field_validator("SMTP_HOST")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9._:-]+", value.strip()):
            raise ValueError("not a host name or IP address")
        return None if value is None else value.strip()

    @field_validator("SMTP_FROM")
    @classmethod
    def _smtp_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("SMTP_HOST"):
                raise ValueError("missing: e-mails need a sender")
            return None
        _, address = parseaddr(value)
        if "\n" in value or "\r" in value or not re.fullmatch(EMAIL_PATTERN, address):
            raise ValueError("not an e-mail address")
        return value.strip()


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
SECRETS = ("SECRET_KEY", "SMTP_PASSWORD")


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
        reason = str(item["msg"]).removeprefix("Value error, ")
        problems[key] = problem_line(key, values.get(key), sources, reason)
    return [problems[key] for key in Settings.model_fields if key in problems]


def problem_line(key: str, value: Any, sources: Mapping[str, str], reason: str) -> str:
    """One problem as ConfigError lists it: the variable, its value, why not, the accepted form."""
    described = Settings.model_fields[key].description if key in Settings.model_fields else None
    shown = repr(mask(key, value) if isinstance(value, str) else value)
    where = f"{PREFIX}{key}" if sources.get(key) == "environment" else f"{key} (given to create_app)"
    return f"{where}={shown}: {reason}; expected {described}"


def instance_path_given(environ: Mapping[str, str], overrides: Mapping[str, Any] | None) -> str | None:
    """The instance folder named by FEEDSVC_INSTANCE_PATH (or a caller of create_app), read
    before the other settings since their defaults lie in it. A path that is not absolute is
    not used here; the settings then report it."""
    given = (overrides or {}).get("INSTANCE_PATH") or environ.get(f"{PREFIX}INSTANCE_PATH")
    return str(given) if given and Path(str(given)).is_absolute() else None


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
