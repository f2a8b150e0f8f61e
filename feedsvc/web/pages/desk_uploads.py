"""Files sent with the release form of the desk (docs/pages.md#images-and-documents): an
image row or a document row may carry a file instead of an address.

Each file is uploaded as the API's `POST /api/v1/media` does (`publishing.media`), with
its row's caption and credit; its row then names the upload's URL, so a form shown again
(another field was wrong) keeps the upload without sending it again. A refused file gets
its reason in German next to its field, and the form keeps everything typed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from werkzeug.datastructures import FileStorage as UploadedFile

from feedsvc.formats.common import file_size_label
from feedsvc.media.sniffing import TYPE_NAMES, Reason, Refused
from feedsvc.models import Publisher
from feedsvc.publishing.input import MediaIn
from feedsvc.publishing.media import Input, Stored, canonical_path
from feedsvc.publishing.writers import TokenWriter, Writer
from feedsvc.store.audit import Acting, Actor
from feedsvc.store.media import DOCUMENT, IMAGE
from feedsvc.web import urls
from feedsvc.web.auth import client_address
from feedsvc.web.media import max_upload_bytes, read_file, uploads
from feedsvc.web.pages.publish_form import ReleaseForm, apply_errors

log = logging.getLogger(__name__)
# What the form says of each refusal (the API's own words are English).
_REFUSALS = {
    Reason.EMPTY: "Die Datei ist leer.",
    Reason.SVG: (
        "SVG-Grafiken werden nicht angenommen, da Browser sie wie Programme ausführen. "
        "Bitte als JPEG, PNG oder WebP speichern."
    ),
    Reason.NOT_ACCEPTED: "Diese Datei ist kein Bild im Format JPEG, PNG oder WebP und kein PDF-Dokument.",
    Reason.DAMAGED: "Die Bilddatei ist beschädigt oder unvollständig. Bitte erneut speichern und hochladen.",
    Reason.ANIMATED: "Animierte Bilder werden nicht angenommen. Bitte ein Standbild hochladen.",
    Reason.NOT_PDF: "Diese Datei ist kein gültiges PDF-Dokument.",
    Reason.ENCRYPTED: "Das PDF-Dokument ist mit einem Passwort geschützt. Bitte ohne Passwort speichern.",
}
NOT_STORED = "Die Datei konnte gerade nicht gespeichert werden. Bitte in einigen Minuten noch einmal senden."
IMAGE_ONLY = "Hier bitte ein Bild (JPEG, PNG oder WebP); PDF-Dokumente gehören zu „Dokumente“."
DOCUMENT_ONLY = "Hier bitte ein PDF-Dokument; Bilder gehören zu „Bilder“."


def refusal_message(refused: Refused) -> str:
    """A refused upload in German."""
    if refused.reason is Reason.TOO_LARGE:
        return f"Die Datei ist zu groß: höchstens {file_size_label(max_upload_bytes())}."
    if refused.reason is Reason.NAME_MISMATCH:
        named = TYPE_NAMES.get(refused.named or "", refused.named or "")
        found = TYPE_NAMES.get(refused.found or "", refused.found or "")
        return (
            f"Der Dateiname sagt {named}, die Datei ist aber {found}. "
            "Bitte prüfen, ob es die gemeinte Datei ist, und sie passend benennen."
        )
    if refused.reason is Reason.TOO_MANY_PIXELS:
        return "Das Bild hat zu viele Bildpunkte. Bitte verkleinert hochladen (z. B. 6000 × 4000)."
    return _REFUSALS[refused.reason]


def _sent(files: Mapping[str, UploadedFile], name: str | None) -> UploadedFile | None:
    """The file sent in the field `name`; None when the field was left empty."""
    file = files.get(name) if name else None
    return file if file is not None and file.filename else None


def _upload(
    form: ReleaseForm,
    field: str,
    file: UploadedFile,
    text: MediaIn,
    publisher: Publisher | None,
    kind: str,
    actor: Actor,
) -> str | None:
    """The URL of the upload of `file`, or None with the reason on `field`."""
    try:
        by = Acting(actor, client_address())
        stored = uploads().upload(read_file(file), file.filename or "", text, publisher, by)
    except OSError as error:
        # The media folder is full, gone or not writable: nothing was kept (publishing.media).
        log.error("an upload from the desk could not be kept in the media storage: %s", error)
        form.add_error(field, NOT_STORED)
        return None
    if not isinstance(stored, Stored):
        form.add_error(field, refusal_message(stored))
        return None
    if stored.media.kind != kind:
        form.add_error(field, IMAGE_ONLY if kind == IMAGE else DOCUMENT_ONLY)
        return None
    return urls.absolute(canonical_path(stored.media))


def take_uploads(form: ReleaseForm, files: Mapping[str, UploadedFile], writer: Writer) -> None:
    """Uploads every file the form carries; each row that sent one names its upload after."""
    publisher = uploader(writer)
    for index, image in enumerate(form.images):
        field = f"images-{index}-file"
        file = _sent(files, form.files.get(field))
        if file is None:
            continue
        text = MediaIn(caption=image["caption"], credit=image["credit"])
        url = _upload(form, field, file, text, publisher, IMAGE, writer.actor)
        if url is not None:
            image["url"] = url
    for index, attachment in enumerate(form.attachments):
        field = f"attachments-{index}-file"
        file = _sent(files, form.files.get(field))
        if file is None:
            continue
        url = _upload(form, field, file, MediaIn(), publisher, DOCUMENT, writer.actor)
        if url is not None:
            attachment["url"] = url


def only_file_errors(form: ReleaseForm) -> None:
    """Leaves a row whose file was refused with that error alone: that its address is
    missing too is no news."""
    for field in [name for name in form.errors if name.endswith("-file")]:
        form.errors.pop(field.removesuffix("-file") + "-url", None)


def naming_uploads(form: ReleaseForm, data: Input | None, writer: Writer) -> Input | None:
    """`data` (None: the form had errors already) with the images and documents that name
    uploads filled from them; None with the errors on the form when one names none."""
    resolved = uploads().resolve(data, urls.base_url(), uploader(writer)) if data is not None else None
    if isinstance(resolved, tuple):
        apply_errors(form, resolved)
        resolved = None
    only_file_errors(form)
    return resolved


def uploader(writer: Writer) -> Publisher | None:
    """The press office an upload from the desk is made for: a press office's token's; a
    user's uploads are nobody's office's (like an admin token's)."""
    return writer.token.publisher if isinstance(writer, TokenWriter) else None
