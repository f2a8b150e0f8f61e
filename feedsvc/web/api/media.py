"""`POST /api/v1/media`: a press office uploads an image or a PDF document
(docs/api.md#uploading-images-and-pdfs), as `multipart/form-data` with the file in the
part `file` and, for an image, its `caption` and `credit`.

The answer names the upload's URL, which a release's `images` or `attachments` then name.
Every refusal is problem+json; nothing is kept of a refused upload.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from feedsvc import db
from feedsvc.media import sniffing
from feedsvc.publishing.input import FieldError, MediaIn, field_errors
from feedsvc.store.audit import Acting, token_actor
from feedsvc.web.api.representation import media_out
from feedsvc.web.api.requests import Refusal, require_writer
from feedsvc.web.auth import client_address
from feedsvc.web.media import accepts_uploads, max_upload_bytes, read_file, upload_request_limit, uploads
from feedsvc.web.problems import problem

blueprint = Blueprint("api_media", __name__, url_prefix="/api/v1/media")
log = logging.getLogger(__name__)

FILE_FIELD = "file"
TEXT_FIELDS = tuple(MediaIn.model_fields)


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


def _too_large() -> Refusal:
    detail = f"an upload may be at most {max_upload_bytes()} bytes (FEEDSVC_MAX_UPLOAD_BYTES)"
    return Refusal(problem(413, detail))


def _invalid(errors: list[FieldError]) -> Refusal:
    return Refusal(problem(422, "the upload is refused", errors=errors))


@blueprint.post("")
@accepts_uploads
def upload() -> Response:
    token = require_writer()
    if request.content_length is not None and request.content_length > upload_request_limit():
        raise _too_large()  # before a byte of it is read
    if request.mimetype != "multipart/form-data":
        raise Refusal(
            problem(
                415, f"send the file as 'Content-Type: multipart/form-data' in a part named '{FILE_FIELD}'"
            )
        )
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:  # a chunked body, or fields past their limit
        raise _too_large() from None
    # A part may come without a name (werkzeug reads it as None): named "(part)" then.
    sent = {name or "(part)" for name in (*files.keys(), *form.keys())}
    errors = [
        FieldError(field=name, message="not a field of an upload")
        for name in sorted(sent - {FILE_FIELD, *TEXT_FIELDS})
    ]
    if FILE_FIELD in form:
        errors.append(FieldError(field=FILE_FIELD, message="must be a file (a part with a filename)"))
    errors += [
        FieldError(field=name, message="must be text, not a file") for name in TEXT_FIELDS if name in files
    ]
    errors += [
        FieldError(field=name, message="may be given once")
        for name in TEXT_FIELDS
        if len(form.getlist(name)) > 1
    ]
    if len(files.getlist(FILE_FIELD)) > 1:
        errors.append(FieldError(field=FILE_FIELD, message="one file per upload"))
    file = files.get(FILE_FIELD)
    if file is None and FILE_FIELD not in form:
        errors.append(FieldError(field=FILE_FIELD, message="Field required"))
    try:
        text = MediaIn.model_validate({name: form[name] for name in TEXT_FIELDS if name in form})
    except ValidationError as error:
        errors += field_errors(error)
        text = None
    if errors or file is None or text is None:
        raise _invalid(errors)
    data = read_file(file)
    try:
        by = Acting(token_actor(token), client_address())
        stored = uploads().upload(data, file.filename or "", text, token.publisher, by)
    except OSError as error:
        # The media folder is full, gone or not writable: nothing was kept (publishing.media).
        log.error("an upload could not be kept in the media storage: %s", error)
        raise Refusal(
            problem(503, "the upload could not be stored; try again later", headers={"Retry-After": "60"})
        ) from None
    if isinstance(stored, sniffing.Refused):
        if stored.reason is sniffing.Reason.TOO_LARGE:
            raise _too_large()
        raise _invalid([FieldError(field=FILE_FIELD, message=stored.message)])
    body = media_out(stored.media)
    headers = {"Location": body.url}
    return Response(
        body.model_dump_json(),
        status=201 if stored.created else 200,
        content_type="application/json",
        headers=headers,
    )
