"""The release form of press offices: its fields to and from what the API takes
(`ReleaseIn` / `ReleasePatch` input), and validation errors back onto its fields,
in German.

Validation and sanitising are not written here: `parse_new` and `parse_change`
run the API's own pydantic models on the form. This module only maps names and
keeps what the user typed.

A new release's form carries a random submission key, posted back in a hidden
field. It becomes the release's external_id (`form-<key>`), so that posting the
same form twice (a double click, a browser resending the POST) is recognised by
the API's own idempotency rule and publishes once.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from feedsvc.models import Release
from feedsvc.paths import MEDIA_PREFIX
from feedsvc.publishing.input import FieldError, ReleaseIn, ReleasePatch, field_errors
from feedsvc.web import urls
from feedsvc.web.pages.formatting import BERLIN, datetime_local_value

TEXT_FIELDS = ("title", "city", "summary", "body", "published_at", "source_url", "author", "correction_note")
CONTACT_FIELDS = ("name", "email", "phone")
IMAGE_FIELDS = ("url", "caption", "credit", "usage_terms")
MAX_IMAGES = 20
# Shown as empty rows below the images a release already has.
BLANK_IMAGE_ROWS = 1
# PDF documents of a release, each by address or as a file sent with the form.
ATTACHMENT_FIELDS = ("url", "title")
MAX_ATTACHMENTS = 20
BLANK_ATTACHMENT_ROWS = 1
SUBMISSION_KEY_FIELD = "submission_key"
DRAFT_REVISION_FIELD = "draft_revision"
# Which button of a new release's form was pressed: "Planen" (SCHEDULE) or "Jetzt
# veröffentlichen" (PUBLISH_NOW); "Als Entwurf speichern" posts to the drafts instead. A POST
# without one publishes as the form says: at the time given, or now.
ACTION_FIELD = "action"
SCHEDULE = "schedule"
PUBLISH_NOW = "publish"
# Of a correction: "major" (announced) or "minor" (a typo, quietly fixed).
CHANGE_FIELD = "change"
# 24 random bytes: 32 URL-safe characters, far too many to guess or to collide.
_SUBMISSION_KEY_BYTES = 24
# What `secrets.token_urlsafe` makes (with room for other lengths); anything else posted
# was not made here and is ignored rather than stored as (part of) an external_id.
_SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_DRAFT_REVISION = re.compile(r"[0-9]{1,9}")
EXTERNAL_ID_PREFIX = "form-"


@dataclass
class ReleaseForm:
    """What the form shows: the user's values (kept on error) and the errors per field."""

    values: dict[str, str] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Known byte lengths of images by URL: the form does not ask for them.
    image_lengths: dict[str, int] = field(default_factory=dict)
    attachments: list[dict[str, str]] = field(default_factory=list)
    # The file fields of the rows above ("images-0-file") → the request's field that sent a
    # file for that row (rows are numbered anew when the form is read: empty ones go).
    files: dict[str, str] = field(default_factory=dict)
    # Of a new release only: "" when the POST came without one (a request not made by the form).
    submission_key: str = ""
    # The revision of the draft the form was opened from (None: it was not a saved draft).
    draft_revision: int | None = None

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def scheduled_for(self) -> datetime | None:
        """The publication time the form gives, if it reads as one."""
        return local_datetime(self.value("published_at"))

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def image_rows(self) -> list[dict[str, str]]:
        blank = {name: "" for name in IMAGE_FIELDS}
        return self.images + [dict(blank) for _ in range(BLANK_IMAGE_ROWS)]

    def attachment_rows(self) -> list[dict[str, str]]:
        blank = {name: "" for name in ATTACHMENT_FIELDS}
        return self.attachments + [dict(blank) for _ in range(BLANK_ATTACHMENT_ROWS)]


LABELS = {
    "title": "Titel",
    "city": "Stadt oder Gemeinde",
    "topics": "Themen",
    "summary": "Zusammenfassung",
    "body": "Text",
    "published_at": "Veröffentlichung",
    "images": "Bilder",
    "attachments": "Dokumente",
    "contact-name": "Pressekontakt, Name",
    "contact-email": "Pressekontakt, E-Mail",
    "contact-phone": "Pressekontakt, Telefon",
    "source_url": "Originalmeldung",
    "author": "Autor",
    "correction_note": "Korrekturhinweis",
}
_IMAGE_LABELS = {
    "url": "Adresse",
    "file": "Datei",
    "caption": "Bildunterschrift",
    "credit": "Bildnachweis",
    "usage_terms": "Nutzungsrechte",
}
_ATTACHMENT_LABELS = {"url": "Adresse", "file": "Datei", "title": "Bezeichnung"}


def field_labels(form: ReleaseForm) -> dict[str, str]:
    """The label of every field an error can be shown at, for the summary above the form."""
    labels = dict(LABELS)
    for row in range(len(form.image_rows())):
        for name, label in _IMAGE_LABELS.items():
            labels[f"images-{row}-{name}"] = f"Bild {row + 1}, {label}"
    for row in range(len(form.attachment_rows())):
        for name, label in _ATTACHMENT_LABELS.items():
            labels[f"attachments-{row}-{name}"] = f"Dokument {row + 1}, {label}"
    return labels


def new_submission_key() -> str:
    return secrets.token_urlsafe(_SUBMISSION_KEY_BYTES)


def submission_external_id(key: str) -> str:
    """The external_id of the release a form with this submission key publishes."""
    return f"{EXTERNAL_ID_PREFIX}{key}"


def _posted_submission_key(value: str) -> str:
    return value if _SUBMISSION_KEY.fullmatch(value) else ""


def empty_form(city_slug: str = "") -> ReleaseForm:
    return ReleaseForm(values={"city": city_slug}, submission_key=new_submission_key())


def form_from_release(release: Release) -> ReleaseForm:
    values = {
        "title": release.title,
        "city": release.city.slug,
        "summary": "" if release.summary_derived else release.summary,
        "body": release.body_html,
        "published_at": datetime_local_value(release.published_at),
        "source_url": release.source_url or "",
        "author": "" if release.author == release.publisher.name else release.author,
        "correction_note": release.correction_note or "",
        "contact-name": release.contact_name or "",
        "contact-email": release.contact_email or "",
        "contact-phone": release.contact_phone or "",
    }
    images = [
        {"url": _address(i.url), "caption": i.caption, "credit": i.credit, "usage_terms": i.usage_terms}
        for i in release.images
    ]
    lengths = {image.url: image.length for image in release.images}
    attachments = [{"url": _address(a.url), "title": a.title} for a in release.attachments]
    return ReleaseForm(
        values=values,
        topics=[t.slug for t in release.topics],
        images=images,
        image_lengths=lengths,
        attachments=attachments,
    )


def _address(url: str) -> str:
    """A stored URL as the form shows it: an upload's site path as its absolute URL."""
    return urls.absolute(url) if url.startswith(MEDIA_PREFIX) else url


def _rows(
    form: MultiDict[str, str], files: Mapping[str, object], kind: str, names: tuple[str, ...], most: int
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The rows of images or documents that were filled in or sent a file, numbered anew,
    and the file field of each new row number that sent one."""
    rows: list[dict[str, str]] = []
    sent: dict[str, str] = {}
    for row in range(most):
        values = {name: form.get(f"{kind}-{row}-{name}", "").strip() for name in names}
        file_field = f"{kind}-{row}-file"
        has_file = bool(getattr(files.get(file_field), "filename", ""))
        if any(values.values()) or has_file:
            if has_file:
                sent[f"{kind}-{len(rows)}-file"] = file_field
            rows.append(values)
    return rows, sent


def form_from_request(
    form: MultiDict[str, str],
    image_lengths: dict[str, int] | None = None,
    files: Mapping[str, object] | None = None,
) -> ReleaseForm:
    """The form as posted; `files` are the files sent with it (`request.files`)."""
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    values.update({f"contact-{name}": form.get(f"contact-{name}", "").strip() for name in CONTACT_FIELDS})
    values[CHANGE_FIELD] = "minor" if form.get(CHANGE_FIELD) == "minor" else "major"
    sent = files or {}
    images, image_files = _rows(form, sent, "images", IMAGE_FIELDS, MAX_IMAGES + BLANK_IMAGE_ROWS)
    attachments, attachment_files = _rows(
        form, sent, "attachments", ATTACHMENT_FIELDS, MAX_ATTACHMENTS + BLANK_ATTACHMENT_ROWS
    )
    revision = form.get(DRAFT_REVISION_FIELD, "")
    return ReleaseForm(
        values=values,
        topics=form.getlist("topics"),
        images=images,
        image_lengths=dict(image_lengths or {}),
        attachments=attachments,
        files=image_files | attachment_files,
        submission_key=_posted_submission_key(form.get(SUBMISSION_KEY_FIELD, "")),
        draft_revision=int(revision) if _DRAFT_REVISION.fullmatch(revision) else None,
    )


def check_timing(form: ReleaseForm, action: str, now: datetime) -> None:
    """Puts an error on the publication time when it does not fit the button pressed:
    "Planen" needs a time in the future; "Jetzt veröffentlichen" none in the future (one in
    the past stays: a release that appeared elsewhere before). An unreadable time is left to
    the validation, which names it."""
    given = form.value("published_at")
    moment = local_datetime(given)
    if action == SCHEDULE and not given:
        form.add_error("published_at", SCHEDULE_NEEDS_TIME)
    elif action == SCHEDULE and moment is not None and moment <= now:
        form.add_error("published_at", SCHEDULE_IN_THE_PAST)
    elif action == PUBLISH_NOW and moment is not None and moment > now:
        form.add_error("published_at", PUBLISH_NOW_IN_THE_FUTURE)


SCHEDULE_NEEDS_TIME = "Bitte Datum und Uhrzeit angeben, zu denen die Meldung erscheinen soll."
SCHEDULE_IN_THE_PAST = (
    "Dieser Zeitpunkt ist schon vorbei. Zum Planen bitte einen Zeitpunkt in der Zukunft angeben, "
    "oder „Jetzt veröffentlichen“ wählen."
)
PUBLISH_NOW_IN_THE_FUTURE = (
    "Dieser Zeitpunkt liegt in der Zukunft. Zum Planen „Planen“ wählen, "
    "oder das Feld leeren, um jetzt zu veröffentlichen."
)


def local_datetime(value: str) -> datetime | None:
    """An `<input type="datetime-local">` value as an aware time in Berlin, or None."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=BERLIN) if parsed.tzinfo is None else None


def _image(image: dict[str, str], lengths: dict[str, int]) -> dict[str, Any]:
    guessed, _ = mimetypes.guess_type(urlsplit(image["url"]).path)
    return {
        **image,
        "type": guessed if guessed and guessed.startswith("image/") else "image/jpeg",
        # Unknown for an image added here (0, as RSS allows); kept for one the release had.
        "length": lengths.get(image["url"], 0),
    }


def release_fields(form: ReleaseForm, original: Release | None = None) -> dict[str, Any]:
    """The form as input for `ReleaseIn` (new) or `ReleasePatch` (`original` given).

    Empty optional fields are left out of a new release (so defaults apply) and
    set to None in a change (so they are removed). An unchanged time is left out
    of a change: the form shows minutes, the stored time may have seconds. A new
    release's submission key becomes its external_id; a change has none (the
    external_id of a release never changes).
    """
    data: dict[str, Any] = {
        "title": form.value("title"),
        "body": form.value("body"),
        "city": form.value("city"),
    }
    if original is None and form.submission_key:
        data["external_id"] = submission_external_id(form.submission_key)
    data["topics"] = list(form.topics)
    optional = ("summary", "source_url", "author") + (("correction_note",) if original else ())
    for name in optional:
        if form.value(name) or original is not None:
            data[name] = form.value(name) or None
    contact = {
        name: form.value(f"contact-{name}") for name in CONTACT_FIELDS if form.value(f"contact-{name}")
    }
    if contact or original is not None:
        data["contact"] = contact or None
    data["images"] = [_image(image, form.image_lengths) for image in form.images]
    attachments = [{"url": row["url"], "title": row["title"]} for row in form.attachments]
    if attachments or original is not None:
        data["attachments"] = attachments
    if original is not None:
        data["change"] = "minor" if form.value(CHANGE_FIELD) == "minor" else "major"
    published = form.value("published_at")
    if published and not (original and published == datetime_local_value(original.published_at)):
        moment = local_datetime(published)
        # An unreadable time goes through as is: pydantic names the field and the problem.
        data["published_at"] = moment.isoformat() if moment else published
    return data


def parse_new(form: ReleaseForm) -> ReleaseIn | None:
    """The form as a new release, or None with the errors put on the form."""
    try:
        return ReleaseIn.model_validate(release_fields(form))
    except ValidationError as error:
        apply_errors(form, field_errors(error))
        return None


def parse_change(form: ReleaseForm, release: Release) -> ReleasePatch | None:
    """The form as a change to `release`, or None with the errors put on the form."""
    try:
        return ReleasePatch.model_validate(release_fields(form, original=release))
    except ValidationError as error:
        apply_errors(form, field_errors(error))
        return None


def apply_errors(form: ReleaseForm, errors: Sequence[FieldError]) -> ReleaseForm:
    """Puts each error next to its field (or on top of the form when it has none)."""
    for error in errors:
        name = form_field(error.field, len(form.images), len(form.attachments))
        form.add_error(name, german_message(name, error.message))
    return form


def form_field(api_field: str, image_count: int, attachment_count: int = 0) -> str:
    """The form's name for an API field path: `images.0.url` → `images-0-url`; "" for the form as a whole."""
    parts = api_field.split(".")
    head = parts[0]
    if head == "attachments" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < attachment_count:
        sub = parts[2] if len(parts) > 2 and parts[2] in ATTACHMENT_FIELDS else "url"
        return f"attachments-{parts[1]}-{sub}"
    if head == "images" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < image_count:
        sub = parts[2] if len(parts) > 2 and parts[2] in IMAGE_FIELDS else "url"
        return f"images-{parts[1]}-{sub}"
    if head == "contact" and len(parts) > 1 and parts[1] in CONTACT_FIELDS:
        return f"contact-{parts[1]}"
    if head in TEXT_FIELDS or head in ("topics", "images", "attachments"):
        return head
    return ""


_MESSAGES = {
    "Field required": "Bitte ausfüllen.",
    "must not be empty": "Bitte ausfüllen.",
    "must contain text after sanitising": "Der Text ist leer, nachdem nicht erlaubtes HTML entfernt wurde.",
    "must be an absolute http(s) URL": "Bitte eine vollständige Adresse mit https:// (oder http://) angeben.",
    "must not contain white space": "Die Adresse darf keine Leerzeichen enthalten.",
    "no upload at this URL: upload the file first (POST /api/v1/media)": (
        "Unter dieser Adresse ist keine hochgeladene Datei. Bitte die Datei hier hochladen."
    ),
    "this upload is a PDF document, not an image: name it in attachments": (
        "Das ist ein PDF-Dokument, kein Bild: bitte unter „Dokumente“ angeben."
    ),
    "this upload is an image, not a PDF document: name it in images": (
        "Das ist ein Bild, kein PDF-Dokument: bitte unter „Bilder“ angeben."
    ),
    "may be changed but not removed": "Darf geändert, aber nicht geleert werden.",
    "Input should be a valid datetime": "Bitte Datum und Uhrzeit angeben.",
}
_PATTERN_MESSAGES = {
    "contact-email": "Bitte eine gültige E-Mail-Adresse angeben.",
    "contact-phone": "Nur Ziffern, Leerzeichen und + ( ) / . - sind erlaubt.",
}
_TEMPLATES = (
    (re.compile(r"^(?:String should have|must be) at most (\d+) characters?$"), "Höchstens {0} Zeichen."),
    (re.compile(r"^List should have at most (\d+) items?"), "Höchstens {0} Einträge."),
    (re.compile(r"^unknown city '(.*)'$"), "Unbekannte Stadt „{0}“."),
    (re.compile(r"^unknown topic '(.*)'$"), "Unbekanntes Thema „{0}“."),
    (
        re.compile(r"^the city '(.*)' is retired: it takes no new releases$"),
        "Für „{0}“ erscheinen keine neuen Pressemitteilungen mehr.",
    ),
    (
        re.compile(r"^the topic '(.*)' is retired: it takes no new releases$"),
        "Das Thema „{0}“ wird nicht mehr fortgeführt.",
    ),
    (
        re.compile(r"^the press office '(.*)' is retired: it takes no new releases$"),
        "Die Pressestelle „{0}“ veröffentlicht hier nicht mehr.",
    ),
    (re.compile(r"^Input should be a valid datetime"), "Bitte Datum und Uhrzeit angeben."),
)


def german_message(name: str, message: str) -> str:
    """The API's (English) message in German where we know it; otherwise as it is."""
    if message in _MESSAGES:
        return _MESSAGES[message]
    if message.startswith("String should match pattern"):
        return _PATTERN_MESSAGES.get(name, "Ungültiges Format.")
    for pattern, template in _TEMPLATES:
        if match := pattern.match(message):
            return template.format(*match.groups())
    return message
