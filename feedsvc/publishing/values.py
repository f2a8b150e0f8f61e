"""Validated input (`feedsvc.publishing.input`) as the plain values the store writes.

The store knows nothing of pydantic or of which fields a request sent: here a
field a `ReleasePatch` does not give becomes `UNCHANGED`.
"""

from __future__ import annotations

from typing import TypeVar

from feedsvc.publishing.input import AttachmentIn, ContactIn, ImageIn, ReleaseIn, ReleasePatch
from feedsvc.store.release_fields import (
    DEFAULT_URGENCY,
    UNCHANGED,
    AttachmentFields,
    ContactFields,
    ImageFields,
    ReleaseFields,
    ReleaseUpdate,
    Unchanged,
)

Value = TypeVar("Value")


def new_release_fields(data: ReleaseIn, content_hash: str) -> ReleaseFields:
    """`data` as a new release; `content_hash` is `data.content_hash()`, computed once by the caller."""
    return ReleaseFields(
        title=data.title,
        body_html=data.body,
        content_hash=content_hash,
        language=data.language,
        external_id=data.external_id,
        published_at=data.published_at,
        summary=data.summary,
        author=data.author,
        correction_note=data.correction_note,
        urgency=data.urgency or DEFAULT_URGENCY,
        source_url=data.source_url,
        contact=_contact(data.contact),
        images=_images(data.images),
        attachments=_attachments(data.attachments),
    )


def update_from_patch(patch: ReleasePatch) -> ReleaseUpdate:
    """The fields `patch` gives; the others UNCHANGED. (Its city and topics are references.)"""
    given = patch.model_fields_set
    return ReleaseUpdate(
        title=_given_value(given, "title", patch.title),
        body_html=_given_value(given, "body", patch.body),
        summary=_given(given, "summary", patch.summary),
        published_at=_given_value(given, "published_at", patch.published_at),
        author=_given(given, "author", patch.author),
        language=_given_value(given, "language", patch.language),
        correction_note=_given(given, "correction_note", patch.correction_note),
        urgency=_given_value(given, "urgency", patch.urgency),
        source_url=_given(given, "source_url", patch.source_url),
        contact=_contact(patch.contact) if "contact" in given else UNCHANGED,
        # null removes every image, as [] does
        images=_images(patch.images or []) if "images" in given else UNCHANGED,
        attachments=_attachments(patch.attachments or []) if "attachments" in given else UNCHANGED,
    )


def update_replacing_with(data: ReleaseIn, content_hash: str) -> ReleaseUpdate:
    """Every field of a release replaced by `data`'s, but its publication time when `data`
    names none (a time once published is not moved by sending the release again)."""
    return ReleaseUpdate(
        title=data.title,
        body_html=data.body,
        summary=data.summary,
        published_at=data.published_at if data.published_at is not None else UNCHANGED,
        author=data.author,
        language=data.language,
        correction_note=data.correction_note,
        urgency=data.urgency or DEFAULT_URGENCY,
        source_url=data.source_url,
        contact=_contact(data.contact),
        images=_images(data.images),
        attachments=_attachments(data.attachments),
        content_hash=content_hash,
    )


def _given(given: set[str], name: str, value: Value) -> Value | Unchanged:
    return value if name in given else UNCHANGED


def _given_value(given: set[str], name: str, value: Value | None) -> Value | Unchanged:
    # For fields without "absent": `ReleasePatch` refuses null for them.
    return value if name in given and value is not None else UNCHANGED


def _contact(contact: ContactIn | None) -> ContactFields | None:
    if contact is None:
        return None
    return ContactFields(name=contact.name, email=contact.email, phone=contact.phone)


def _images(images: list[ImageIn]) -> tuple[ImageFields, ...]:
    return tuple(
        ImageFields(
            url=image.url,
            caption=image.caption,
            credit=image.credit,
            usage_terms=image.usage_terms,
            media_type=image.type,
            length=image.length or 0,
            width=image.width,
            height=image.height,
        )
        for image in images
    )


def _attachments(attachments: list[AttachmentIn]) -> tuple[AttachmentFields, ...]:
    return tuple(
        AttachmentFields(
            url=attachment.url,
            title=attachment.title,
            media_type=attachment.type,
            length=attachment.length or 0,
        )
        for attachment in attachments
    )
