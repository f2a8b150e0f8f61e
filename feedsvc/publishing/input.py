"""Validated input of a release (docs/api.md#a-release), shared by the API, the publish
form and `feedsvc import`.

pydantic checks types and limits; `feedsvc.text` cleans what passes: plain-text
fields lose markup and XML-forbidden characters, the body gets its paragraphs
(plain text's blank lines, an editor's `<div>`s) and is sanitised (`clean_body`).
So text is clean when it is written, never at render time. The OpenAPI document is
generated from these same models. No Flask, no SQLAlchemy here.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from feedsvc.paths import parse_media_path
from feedsvc.text import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    HtmlTooDeep,
    clean_body,
    html_has_text,
    plain_text,
    strip_xml_forbidden,
)

MAX_BODY_CHARS = 1_000_000
MAX_REASON_CHARS = 1000
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# BCP 47 in the shape used in practice: language, optional script/region/variants.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def _http_url(value: str) -> str:
    value = strip_xml_forbidden(value).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain white space")
    return value


def is_slug(value: object) -> bool:
    """Whether a value could name a city or topic at all (what `Slug` accepts)."""
    return isinstance(value, str) and len(value) <= 100 and _SLUG.fullmatch(value) is not None


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):  # match's "$" lets a final newline pass
        raise ValueError("must be a slug: lowercase letters, digits and single hyphens")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE_TAG.fullmatch(value):  # match's "$" lets a final newline pass
        raise ValueError("must be a BCP 47 language tag such as 'de' or 'de-AT'")
    return value


def _plain(value: str) -> str:
    return plain_text(value)


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


# Feeds show instants in Europe/Berlin and page cursors count microseconds since 1970: an
# instant outside these bounds could not be stored, rendered or paged past.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def _rfc3339_text(value: Any) -> Any:
    # pydantic would also read a number as seconds since 1970; the contract asks for RFC 3339.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. '2026-11-25T09:00:00+01:00'")
    return value


def _plausible_instant(value: datetime) -> datetime:
    try:
        in_range = EARLIEST_INSTANT <= value.astimezone(UTC) < LATEST_INSTANT
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00, before year 1 in UTC
        in_range = False
    if not in_range:
        raise ValueError("must lie between the years 1970 and 8999")
    return value


HttpUrl = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_plausible_instant)]
Slug = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_slug)]
PlainText = Annotated[str, AfterValidator(_plain)]
Title = Annotated[str, Field(max_length=3000), AfterValidator(_plain), AfterValidator(_non_empty)]
LanguageTag = Annotated[str, Field(max_length=35), AfterValidator(_language)]


def _limit(max_chars: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters")
        return value

    return AfterValidator(check)


# strict: a JSON string or boolean is not a number, though pydantic would convert it.
ByteLength = Annotated[int, Field(ge=0, le=2**53, strict=True)]
Pixels = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]


def _unset(value: object) -> bool:
    return value is None


def _names_an_upload(url: object) -> bool:
    """Whether a URL looks like one of feedsvc's uploads (`/media/<key>/<rendition>.<ext>`)."""
    return isinstance(url, str) and parse_media_path(urlsplit(url).path) is not None


class ImageIn(BaseModel):
    """An image of a release. One uploaded to feedsvc (its `/media/…` URL) gets its type,
    length and size from the upload (`publishing.media`), and its caption and credit too
    where none are given."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    caption: Annotated[PlainText, _limit(1000)] = ""
    credit: Annotated[PlainText, _limit(300)] = ""
    # Left out of the content hash when empty, so retries of releases sent before it existed match.
    usage_terms: Annotated[PlainText, _limit(500)] = Field("", exclude_if=lambda value: not value)
    type: Annotated[str, Field(pattern=r"^image/[a-z0-9.+-]+$", max_length=100)] = "image/jpeg"
    # Required, 0 (or null) when unknown, which feeds then leave out; an upload's own is taken
    # (`_uploads_know_their_length`). Left out of the content hash when null, as are width
    # and height, so retries of releases sent before they existed match.
    length: ByteLength | None = Field(exclude_if=_unset)
    width: Pixels | None = Field(None, exclude_if=_unset)
    height: Pixels | None = Field(None, exclude_if=_unset)

    @model_validator(mode="before")
    @classmethod
    def _uploads_know_their_length(cls, data: Any) -> Any:
        # An image uploaded to feedsvc (`publishing.media` checks that it is one) needs no
        # length: its own is filled in. Any other still does.
        if isinstance(data, dict) and "length" not in data and _names_an_upload(data.get("url")):
            return {**data, "length": None}
        return data


class AttachmentIn(BaseModel):
    """A PDF document of a release: one uploaded to feedsvc (its `/media/…` URL), or one
    elsewhere."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    # What the page and feeds call it; by default the name it was uploaded with.
    title: Annotated[PlainText, _limit(300)] = ""
    type: Annotated[str, Field(pattern=r"^application/pdf$", max_length=100)] = "application/pdf"
    length: ByteLength | None = Field(None, exclude_if=_unset)


class MediaIn(BaseModel):
    """What is sent with an upload besides its bytes (docs/api.md#uploading-images-and-pdfs):
    the caption and credit written into an image's metadata."""

    model_config = ConfigDict(extra="forbid")

    caption: Annotated[PlainText, _limit(1000)] = ""
    credit: Annotated[PlainText, _limit(300)] = ""


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[PlainText, _limit(200)] | None = None
    email: Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)] | None = None
    phone: Annotated[str, Field(max_length=50, pattern=PHONE_PATTERN)] | None = None


def _strip_forbidden_everywhere(value: Any) -> Any:
    if isinstance(value, str):
        return strip_xml_forbidden(value)
    if isinstance(value, dict):
        return {key: _strip_forbidden_everywhere(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip_forbidden_everywhere(item) for item in value]
    return value


class _ReleaseFields(BaseModel):
    """Fields and cleaning shared by a new release and a change to one."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _remove_xml_forbidden_characters(cls, data: Any) -> Any:
        # Removed rather than refused: a stray control character pasted from a
        # word processor should not cost a press officer a rejected release.
        return _strip_forbidden_everywhere(data)

    title: Annotated[Title, _limit(300)] | None = None
    body: Annotated[str, Field(max_length=MAX_BODY_CHARS)] | None = None
    city: Slug | None = None
    topics: Annotated[list[Slug], Field(max_length=10)] | None = None
    summary: Annotated[PlainText, _limit(1000)] | None = None
    published_at: Instant | None = None
    images: Annotated[list[ImageIn], Field(max_length=20)] | None = None
    attachments: Annotated[list[AttachmentIn], Field(max_length=20)] | None = None
    source_url: HttpUrl | None = None
    author: Annotated[PlainText, _limit(300), AfterValidator(_non_empty)] | None = None
    contact: ContactIn | None = None
    language: LanguageTag | None = None
    correction_note: Annotated[PlainText, _limit(1000)] | None = None
    # IPTC urgency: 1 (most urgent) to 9 (least); subscriptions may ask for urgent ones only.
    urgency: Annotated[int, Field(ge=1, le=9, strict=True)] | None = None

    @model_validator(mode="after")
    def _clean_body_and_topics(self) -> _ReleaseFields:
        if self.body is not None:
            # Relative links in a press release point into the city's own site.
            try:
                self.body = clean_body(self.body, base_url=self.source_url)
            except HtmlTooDeep as error:
                raise ValueError(f"body: {error}") from None
            if not html_has_text(self.body):
                raise ValueError("body: must contain text after sanitising")
        if self.topics is not None:
            self.topics = list(dict.fromkeys(self.topics))
        return self


class ReleaseIn(_ReleaseFields):
    """A new release, as POSTed by a press office (docs/api.md#a-release)."""

    title: Annotated[Title, _limit(300)]
    body: Annotated[str, Field(max_length=MAX_BODY_CHARS)]
    city: Slug
    topics: Annotated[list[Slug], Field(max_length=10)] = []
    images: Annotated[list[ImageIn], Field(max_length=20)] = []
    # Left out of the content hash when empty, so retries of releases sent before attachments
    # existed still match.
    attachments: Annotated[list[AttachmentIn], Field(max_length=20)] = Field(
        default_factory=list, exclude_if=lambda value: not value
    )
    language: LanguageTag = "de"
    external_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")] | None = None

    def content_hash(self) -> str:
        """Fingerprint of what was submitted, for idempotent retries of a POST. How a change
        is announced (`change` of an import record) is not content."""
        # An urgency left out is no content, so hashes stay those of the fields a publish has.
        content = self.model_dump(
            mode="json", exclude={"change"} | ({"urgency"} if self.urgency is None else set())
        )
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# A major change is announced (feeds move `updated`, alerts and webhooks go out); a minor
# one (a typo) is not: pages and feeds quietly carry the fix (docs/api.md#major-and-minor-changes).
Change = Literal["major", "minor"]


class ReleasePatch(_ReleaseFields):
    """A change to a release: only the fields given are changed; `change` says how it is
    announced and changes no field."""

    change: Change = "major"

    @property
    def changed_fields(self) -> set[str]:
        return self.model_fields_set - {"change"}

    @model_validator(mode="after")
    def _refuse_nulls_for_required(self) -> ReleasePatch:
        # null removes an optional field (summary, author, images...); these have no "absent".
        for name in ("title", "body", "city", "published_at", "language", "urgency"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: may be changed but not removed")
        if "topics" in self.model_fields_set and self.topics is None:
            raise ValueError("topics: send [] for a release without topics")
        return self


class ImportRecord(ReleaseIn):
    """A release in an import file: a release plus the press office that issued it."""

    publisher: Annotated[PlainText, _limit(200), AfterValidator(_non_empty)] | None = None
    # How a change to a record imported before is announced.
    change: Change = "major"


class RetractionIn(BaseModel):
    """A retraction: an optional reason, shown on the release's 410 page and in its tombstones."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[PlainText, _limit(MAX_REASON_CHARS)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _remove_xml_forbidden_characters(cls, data: Any) -> Any:
        return _strip_forbidden_everywhere(data)

    @property
    def given_reason(self) -> str | None:
        return self.reason.strip() or None if self.reason is not None else None


class FieldError(BaseModel):
    field: str
    message: str


def field_errors(error: ValidationError) -> list[FieldError]:
    """pydantic's errors as `{field, message}` pairs with dotted field paths."""
    result: list[FieldError] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"])
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        # Model-level validators name their field in the message ("body: ...").
        if not location and ": " in message:
            location, message = message.split(": ", 1)
        result.append(FieldError(field=location or "(body)", message=message))
    return result


def parse_datetime(value: Any) -> datetime | None:
    """RFC 3339 timestamp with offset, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
