"""Uploads over HTTP: `/media/<key>/<rendition>.<ext>`, where every upload is served for
good, and what every route that takes uploads shares (docs/api.md#uploading-images-and-pdfs).

A route that takes files says so with `@accepts_uploads`: only its requests may be as
large as FEEDSVC_MAX_UPLOAD_BYTES (plus FEEDSVC_MAX_CONTENT_LENGTH for the other fields),
set before anything reads the body (the desk's CSRF check reads the form); every other
route keeps FEEDSVC_MAX_CONTENT_LENGTH.

The bytes of a rendition never change (its key is the SHA-256 of its content), so they
are cached for a year and marked immutable; the ETag is the blob's key. Served with their
true type, `nosniff`, and a sandboxing Content-Security-Policy; PDFs as a download
(`Content-Disposition: attachment`) under the name they were uploaded with.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.datastructures import FileStorage as UploadedFile
from werkzeug.wsgi import wrap_file

from feedsvc import db, paths
from feedsvc.formats.common import file_size_label
from feedsvc.media import renditions, sniffing
from feedsvc.media.storage import FileStorage, Storage
from feedsvc.publishing.entries import shown
from feedsvc.publishing.media import DOCUMENT_RENDITION, Uploads
from feedsvc.store.media import media_by_key
from feedsvc.web import urls

blueprint = Blueprint("media", __name__)
log = logging.getLogger(__name__)

STORAGE = "feedsvc.media_storage"
_ACCEPTS_UPLOADS = "feedsvc_accepts_uploads"
# A year: the longest RFC 9111 asks caches to honour; the bytes never change anyway.
IMMUTABLE = "public, max-age=31536000, immutable"
# Nothing a served file holds may run or load anything, should a browser ever render it.
SANDBOX = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
View = TypeVar("View", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    folder = app.config["MEDIA_PATH"] or str(Path(app.instance_path) / "media")
    app.extensions[STORAGE] = FileStorage(Path(folder))
    app.before_request(_upload_limits)
    app.register_blueprint(blueprint)
    # Pages show uploads in the size made for them, and documents with their size.
    app.jinja_env.globals["shown"] = shown
    app.jinja_env.filters["file_size"] = file_size_label
    app.jinja_env.globals["max_upload_size"] = lambda: file_size_label(max_upload_bytes())
    app.jinja_env.globals["upload_preview"] = preview_path


def storage() -> Storage:
    found: Storage = current_app.extensions[STORAGE]
    return found


def max_upload_bytes() -> int:
    limit: int = current_app.config["MAX_UPLOAD_BYTES"]
    return limit


def upload_request_limit() -> int:
    """The largest request an upload route reads: the files and the other fields."""
    fields: int = current_app.config["MAX_CONTENT_LENGTH"]
    return max_upload_bytes() + fields


def accepts_uploads(view: View) -> View:
    """Marks a view whose requests may carry files (see the module)."""
    setattr(view, _ACCEPTS_UPLOADS, True)
    return view


def _upload_limits() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _ACCEPTS_UPLOADS, False):
        request.max_content_length = upload_request_limit()
        # Each field but the files: a release's body may be a megabyte of text.
        request.max_form_memory_size = current_app.config["MAX_CONTENT_LENGTH"]


def preview_path(url: str) -> str | None:
    """Where the desk's form shows a small copy of an uploaded image (its size for feeds)."""
    found = paths.parse_media_path(url.removeprefix(urls.base_url()))
    if found is None or found.rendition != renditions.FULL:
        return None
    return paths.media_path(found.key, renditions.FEED, found.extension)


def uploads() -> Uploads:
    return Uploads(db.session(), storage(), current_app.config["CLOCK"](), max_upload_bytes())


def read_file(file: UploadedFile) -> bytes:
    """The bytes of an uploaded file, one byte more than allowed at most (so that a file too
    large is told apart from one at the limit)."""
    return file.stream.read(max_upload_bytes() + 1)


def _download_disposition(name: str, extension: str) -> str:
    """`attachment` with the name it was uploaded with: plain ASCII in `filename` (quotes,
    backslashes and controls gone), the name itself in `filename*` (RFC 6266, RFC 8187)."""
    if not name.lower().endswith(f".{extension}"):
        name = f"{name or 'dokument'}.{extension}"
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    simple = "".join(ch for ch in simple if ch.isprintable() and ch not in '"\\;') or f"dokument.{extension}"
    return f"attachment; filename=\"{simple}\"; filename*=UTF-8''{quote(name, safe='')}"


@blueprint.get("/media/<key>/<filename>")
def serve(key: str, filename: str) -> Response:
    found = paths.parse_media_path(f"{paths.MEDIA_PREFIX}{key}/{filename}")
    media = media_by_key(db.session(), found.key) if found is not None else None
    rendition = media.rendition(found.rendition) if media is not None and found is not None else None
    if found is None or media is None or rendition is None:
        abort(404)
    if found.extension != sniffing.EXTENSIONS[rendition.media_type]:
        abort(404)
    if request.if_none_match.contains(rendition.blob):
        return Response(status=304, headers={"ETag": f'"{rendition.blob}"', "Cache-Control": IMMUTABLE})
    try:
        stream = storage().open(rendition.blob)
    except FileNotFoundError:
        # The row is there, its bytes are not: a media folder lost, or not the one every
        # app server shares (docs/operations.md#uploaded-images-and-pdfs).
        log.error(
            "media %s/%s: blob %s is missing from the media storage",
            media.key,
            rendition.name,
            rendition.blob,
        )
        abort(404)
    headers = {
        "Content-Length": str(rendition.length),
        "ETag": f'"{rendition.blob}"',
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX,
    }
    if found.rendition == DOCUMENT_RENDITION:
        headers["Content-Disposition"] = _download_disposition(media.name, found.extension)
    body = wrap_file(request.environ, stream)
    return Response(body, headers=headers, mimetype=rendition.media_type, direct_passthrough=True)
