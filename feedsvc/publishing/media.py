"""Uploading images and PDFs, and releases naming them: one way for the API and the desk
(docs/api.md#uploading-images-and-pdfs).

An upload is judged by its bytes (`media.sniffing`), an image rendered (`media.renditions`,
its caption and credit written in as XMP), and then kept: its blobs in the media storage,
its rows in the database. Nothing is kept half: the blobs are written first, the rows
committed after them; when that fails, the blobs it wrote are deleted again unless another
upload serves them (decided under `store.media.lock_uploads`, so no upload can come to
need them meanwhile).

The key of an upload is content-addressed: a PDF's is the SHA-256 of its bytes, an
image's that of the bytes first uploaded with the caption and credit its renditions
carry. Uploading the same again costs a lookup. A release image naming an upload with
another caption or credit than the upload's gets an upload of its own with them, made from
the first one's pixels, so every served image says what the release says of it.

Releases name uploads by their URLs (`resolve`): those become site paths (`/media/…`, as
the sample's images are stored, valid under any base URL), and their type, length and size
come from the upload, whatever the input said.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import TypeVar

from sqlalchemy.orm import Session

from feedsvc import paths
from feedsvc.db import begin_writing
from feedsvc.media import renditions, sniffing
from feedsvc.media.storage import Storage, content_key
from feedsvc.models import Media, Publisher
from feedsvc.publishing.input import AttachmentIn, FieldError, ImageIn, MediaIn, ReleaseIn, ReleasePatch
from feedsvc.store import audit
from feedsvc.store import media as media_rows
from feedsvc.store.audit import Acting
from feedsvc.store.media import DOCUMENT, IMAGE, MediaRow, RenditionRow
from feedsvc.text import plain_text

DOCUMENT_RENDITION = "document"
MAX_NAME_CHARS = 300
Input = TypeVar("Input", ReleaseIn, ReleasePatch)


@dataclass(frozen=True)
class Stored:
    """An upload that is kept; `created` is False when the same was uploaded before."""

    media: Media
    created: bool


def clean_name(filename: str) -> str:
    """The name an upload was sent with, as plain text without any folders."""
    base = PureWindowsPath(PurePosixPath(filename).name).name
    return plain_text(base)[:MAX_NAME_CHARS].strip()


def title_of(media: Media) -> str:
    """What an uploaded PDF is called where a release names none: its name without `.pdf`."""
    stem, dot, extension = media.name.rpartition(".")
    return stem.strip() if dot and extension.lower() == "pdf" and stem.strip() else media.name


def _image_key(source_sha256: str, caption: str, credit: str) -> str:
    # Unambiguous: neither a hex digest nor plain text (folded white space) holds a newline.
    return hashlib.sha256(f"image\n{source_sha256}\n{caption}\n{credit}".encode()).hexdigest()


def canonical_rendition(media: Media) -> str:
    """The rendition a release names an upload by: an image's full size, a PDF itself."""
    return renditions.FULL if media.kind == IMAGE else DOCUMENT_RENDITION


def canonical_path(media: Media) -> str:
    return paths.media_path(media.key, canonical_rendition(media), sniffing.EXTENSIONS[media.media_type])


@dataclass(frozen=True)
class Uploads:
    """Uploads on `session` into `storage`, at `now`; files of at most `max_bytes`."""

    session: Session
    storage: Storage
    now: datetime
    max_bytes: int

    def upload(
        self, data: bytes, filename: str, text: MediaIn, publisher: Publisher | None, by: Acting | None = None
    ) -> Stored | sniffing.Refused:
        """The upload of `data`, sent as `filename`, or why it is refused (nothing is kept then).
        A new upload by `by` leaves an entry in the audit log."""
        found = sniffing.sniff(data, filename, self.max_bytes)
        if isinstance(found, sniffing.Refused):
            return found
        source = content_key(data)
        name = clean_name(filename)
        if not found.is_image:
            row = MediaRow(
                key=source,
                kind=DOCUMENT,
                media_type=found.media_type,
                source_sha256=source,
                name=name,
                caption="",
                credit="",
                pages=found.pages,
                renditions=[RenditionRow(DOCUMENT_RENDITION, source, found.media_type, len(data))],
            )
            return self._keep(row, {source: data}, publisher, by)
        return self._image(
            data, found.media_type, source, name, text.caption, text.credit, publisher, None, by
        )

    def restyled(self, media: Media, caption: str, credit: str, publisher: Publisher | None) -> Media:
        """The upload of `media`'s picture with this caption and credit (made once)."""
        if (media.caption, media.credit) == (caption, credit):
            return media
        existing = media_rows.media_by_key(self.session, _image_key(media.source_sha256, caption, credit))
        if existing is not None:
            return existing
        source = media.source if media.source is not None else media
        full = source.rendition(renditions.FULL)
        assert full is not None, f"upload {source.key} has no full size"
        with self.storage.open(full.blob) as file:
            pixels = file.read()
        made = self._image(
            pixels,
            source.media_type,
            source.source_sha256,
            source.name,
            caption,
            credit,
            publisher,
            source.id,
        )
        return made.media

    def _image(
        self,
        data: bytes,
        media_type: str,
        source_sha256: str,
        name: str,
        caption: str,
        credit: str,
        publisher: Publisher | None,
        source_id: int | None,
        by: Acting | None = None,
    ) -> Stored:
        key = _image_key(source_sha256, caption, credit)
        existing = media_rows.media_by_key(self.session, key)
        if existing is not None:
            return Stored(existing, created=False)
        made = renditions.render(data, media_type, caption, credit)
        full = made[0]
        blobs = {content_key(each.data): each.data for each in made}
        row = MediaRow(
            key=key,
            kind=IMAGE,
            media_type=media_type,
            source_sha256=source_sha256,
            source_id=source_id,
            name=name,
            caption=caption,
            credit=credit,
            width=full.width,
            height=full.height,
            renditions=[
                RenditionRow(
                    each.name,
                    content_key(each.data),
                    each.media_type,
                    len(each.data),
                    each.width,
                    each.height,
                )
                for each in made
            ],
        )
        return self._keep(row, blobs, publisher, by)

    def _keep(
        self, row: MediaRow, blobs: dict[str, bytes], publisher: Publisher | None, by: Acting | None = None
    ) -> Stored:
        """Writes the blobs, then the rows, in one transaction of its own; see the module."""
        begin_writing(self.session)
        media_rows.lock_uploads(self.session)
        existing = media_rows.media_by_key(self.session, row.key)
        if existing is not None:  # the same upload, committed meanwhile
            self.session.rollback()
            found = media_rows.media_by_key(self.session, row.key)
            assert found is not None
            return Stored(found, created=False)
        written: list[str] = []
        try:
            for blob, data in blobs.items():
                if self.storage.put(blob, data):
                    written.append(blob)
            media = media_rows.add_media(self.session, row, publisher, self.now)
            if by is not None:
                detail = {"kind": row.kind, "type": row.media_type, "name": row.name}
                audit.record_by(
                    self.session, by, self.now, "media.uploaded", audit.Subject("media", row.key), detail
                )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            self._forget(written)
            raise
        return Stored(media, created=True)

    def _forget(self, blobs: list[str]) -> None:
        """Deletes the blobs a failed upload wrote that no upload serves."""
        if not blobs:
            return
        begin_writing(self.session)
        media_rows.lock_uploads(self.session)
        try:
            for blob in set(blobs) - media_rows.blobs_in_use(self.session, blobs):
                self.storage.delete(blob)
        finally:
            self.session.rollback()

    # --- releases naming uploads --------------------------------------------------------------------

    def resolve(
        self, data: Input, base_url: str, publisher: Publisher | None
    ) -> Input | tuple[FieldError, ...]:
        """`data` with the images and attachments that name uploads (by a URL under `base_url`)
        filled from them, or the errors of those that name none, or the wrong kind."""
        errors: list[FieldError] = []
        update: dict[str, object] = {}
        if data.images is not None:
            images = [
                self._image_in(image, index, base_url, publisher, errors)
                for index, image in enumerate(data.images)
            ]
            update["images"] = images
        if data.attachments is not None:
            update["attachments"] = [
                self._attachment_in(attachment, index, base_url, errors)
                for index, attachment in enumerate(data.attachments)
            ]
        if errors:
            return tuple(errors)
        # Not validated again: the values are the upload's own, and a site path is no URL.
        return data.model_copy(update=update)

    def _uploaded(self, url: str, base_url: str) -> Media | str | None:
        """The upload `url` names; None when it names none of feedsvc's; an error message
        when it looks like one but there is no such upload."""
        prefix = f"{base_url}{paths.MEDIA_PREFIX}"
        if url.startswith(prefix):
            path = url.removeprefix(base_url)
        elif url.startswith(paths.MEDIA_PREFIX):
            path = url  # stored before: a site path
        else:
            return None
        found = paths.parse_media_path(path)
        media = media_rows.media_by_key(self.session, found.key) if found is not None else None
        if found is None or media is None or media.rendition(found.rendition) is None:
            return "no upload at this URL: upload the file first (POST /api/v1/media)"
        if found.extension != sniffing.EXTENSIONS[media.media_type]:
            return "no upload at this URL: upload the file first (POST /api/v1/media)"
        return media

    def _image_in(
        self, image: ImageIn, index: int, base_url: str, publisher: Publisher | None, errors: list[FieldError]
    ) -> ImageIn:
        media = self._uploaded(image.url, base_url)
        if media is None:
            return image
        if isinstance(media, str):
            errors.append(FieldError(field=f"images.{index}.url", message=media))
            return image
        if media.kind != IMAGE:
            message = "this upload is a PDF document, not an image: name it in attachments"
            errors.append(FieldError(field=f"images.{index}.url", message=message))
            return image
        media = self.restyled(media, image.caption or media.caption, image.credit or media.credit, publisher)
        full = media.rendition(renditions.FULL)
        assert full is not None
        return image.model_copy(
            update={
                "url": canonical_path(media),
                "caption": media.caption,
                "credit": media.credit,
                "type": full.media_type,
                "length": full.length,
                "width": full.width,
                "height": full.height,
            }
        )

    def _attachment_in(
        self, attachment: AttachmentIn, index: int, base_url: str, errors: list[FieldError]
    ) -> AttachmentIn:
        media = self._uploaded(attachment.url, base_url)
        if media is None:
            return attachment
        if isinstance(media, str):
            errors.append(FieldError(field=f"attachments.{index}.url", message=media))
            return attachment
        if media.kind != DOCUMENT:
            message = "this upload is an image, not a PDF document: name it in images"
            errors.append(FieldError(field=f"attachments.{index}.url", message=message))
            return attachment
        document = media.rendition(DOCUMENT_RENDITION)
        assert document is not None
        return attachment.model_copy(
            update={
                "url": canonical_path(media),
                "title": attachment.title or title_of(media),
                "type": document.media_type,
                "length": document.length,
            }
        )
