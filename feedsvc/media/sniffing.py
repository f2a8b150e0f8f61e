"""What an upload really is, read from its bytes: a JPEG, PNG or WebP image, a PDF, or a
refusal naming why not (docs/api.md#uploading-images-and-pdfs).

The name of the file never decides the type; it can only contradict it: a PNG named
`foto.jpg` is refused, since whoever sent it believes it is something it is not. An
image must open in Pillow, hold no more pixels than Pillow's decompression-bomb limit
(`Image.MAX_IMAGE_PIXELS`) and decode to its last byte; a PDF must open in pypdf with at
least one page and without a password. SVG is never taken: it is a document a browser
runs, scripts included, not a picture.
"""

from __future__ import annotations

import enum
import io
import mimetypes
import re
import zlib
from dataclasses import dataclass

# Pillow and pypdf are imported by the functions that decode, on the first upload: every
# `feedsvc` command and every app server imports this module for its types and names, and
# only uploads need the decoders, which would add to the start of each.

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
SVG = "image/svg+xml"
IMAGE_TYPES = (JPEG, PNG, WEBP)
ACCEPTED_TYPES = (*IMAGE_TYPES, PDF)
# The extension each type is served with, and Pillow's name of its format.
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
# What people call each type in messages.
TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", PDF: "PDF", SVG: "SVG"}
# Extensions `mimetypes` may not know on every system.
_KNOWN_EXTENSIONS = {
    "jpg": JPEG,
    "jpeg": JPEG,
    "jpe": JPEG,
    "jfif": JPEG,
    "png": PNG,
    "webp": WEBP,
    "pdf": PDF,
    "svg": SVG,
    "svgz": SVG,
}
# The PDF header may follow up to 1024 bytes of anything (ISO 32000-1, 7.5.2, as readers do).
_PDF_HEADER_WINDOW = 1024
_SVG_START = re.compile(rb"^\s*(?:<\?xml|<!--|<!DOCTYPE\s+svg|<svg)", re.IGNORECASE)
_SVG_ANYWHERE = re.compile(rb"<svg[\s>]", re.IGNORECASE)


class Reason(enum.Enum):
    EMPTY = "empty"
    TOO_LARGE = "too large"
    SVG = "svg"
    NOT_ACCEPTED = "not accepted"  # some other type, or no type at all
    NAME_MISMATCH = "name mismatch"  # the name says one type, the bytes another
    DAMAGED = "damaged"  # truncated or corrupt
    TOO_MANY_PIXELS = "too many pixels"  # a decompression bomb
    ANIMATED = "animated"
    NOT_PDF = "not a pdf"  # says it is a PDF, is none
    ENCRYPTED = "encrypted"


@dataclass(frozen=True)
class Refused:
    """Why an upload is not taken. `message` is the API's wording; `found` names the type
    the bytes have (if any) and `named` the one the file name claims, for other wordings."""

    reason: Reason
    message: str
    found: str | None = None
    named: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Sniffed:
    """An upload that is what it seems: its true type and, for images, its size in pixels
    as stored (before EXIF orientation); for PDFs, the number of pages."""

    media_type: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.media_type]


def type_of_name(filename: str) -> str | None:
    """The media type a file name claims by its extension; None when it claims none we know."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem.strip(" ./\\"):
        return None
    extension = extension.lower()
    if extension in _KNOWN_EXTENSIONS:
        return _KNOWN_EXTENSIONS[extension]
    guessed, _ = mimetypes.guess_type(f"x.{extension}", strict=False)
    return guessed


def type_of_bytes(data: bytes) -> str | None:
    """The type the first bytes announce (their magic numbers); None when none we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return PDF
    if data[:2] == b"\x1f\x8b":  # gzip: an .svgz, or anything else packed
        return SVG if _looks_like_svg(_gunzipped_head(data)) else None
    return SVG if _looks_like_svg(data[:4096]) else None


def _looks_like_svg(head: bytes) -> bool:
    head = head.lstrip(b"\xef\xbb\xbf")
    return bool(_SVG_START.match(head) and _SVG_ANYWHERE.search(head))


def _gunzipped_head(data: bytes) -> bytes:
    """The first few KB a gzip stream unpacks to (never more, whatever it would unpack to)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:65536], 4096)
    except zlib.error:
        return b""


def sniff(data: bytes, filename: str, max_bytes: int) -> Sniffed | Refused:
    """What `data` (sent as `filename`) is, or why it is refused. At most `max_bytes`."""
    if not data:
        return Refused(Reason.EMPTY, "the file is empty")
    if len(data) > max_bytes:
        return Refused(
            Reason.TOO_LARGE,
            f"the file may be at most {max_bytes} bytes, it has {len(data)}",
            limit=max_bytes,
        )
    found = type_of_bytes(data)
    named = type_of_name(filename)
    if found == SVG or named == SVG:
        return Refused(
            Reason.SVG,
            "SVG images are not accepted (a browser runs them as documents, scripts included): "
            "upload a JPEG, PNG or WebP image",
            found=found,
            named=named,
        )
    if found is None:
        return _unknown(data, named)
    if named is not None and named != found:
        return Refused(
            Reason.NAME_MISMATCH,
            f"the file is named as {_called(named)} but its content is {_called(found)}: "
            "check that it is the file you meant, and name it after what it is",
            found=found,
            named=named,
        )
    if found == PDF:
        return _pdf(data)
    return _image(data, found)


def _called(media_type: str) -> str:
    name = TYPE_NAMES.get(media_type)
    if name is None:
        return f"'{media_type}'"
    return f"a {name} {'document' if media_type == PDF else 'image'}"


def _unknown(data: bytes, named: str | None) -> Refused:
    """The refusal of bytes that are no type we take; names the type when Pillow knows it."""
    from PIL import Image, UnidentifiedImageError

    other = None
    try:
        with Image.open(io.BytesIO(data)) as image:
            other = image.format
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError):
        pass
    except (ValueError, SyntaxError, EOFError):  # Pillow's plugins raise these on broken headers
        pass
    if named == PDF:
        return Refused(Reason.NOT_PDF, "the file is named as a PDF but is no PDF document", named=named)
    what = f"a {other} image" if other else "no image or PDF document feedsvc knows"
    return Refused(
        Reason.NOT_ACCEPTED,
        f"the file is {what}: upload a JPEG, PNG or WebP image or a PDF document",
        named=named,
    )


def _image(data: bytes, media_type: str) -> Sniffed | Refused:
    from PIL import Image, UnidentifiedImageError

    bomb = Refused(
        Reason.TOO_MANY_PIXELS,
        f"the image has more than {Image.MAX_IMAGE_PIXELS} pixels, more than feedsvc decodes",
        found=media_type,
        limit=Image.MAX_IMAGE_PIXELS,
    )
    damaged = Refused(
        Reason.DAMAGED, f"the {TYPE_NAMES[media_type]} image is damaged or incomplete", found=media_type
    )
    formats = [PILLOW_FORMATS[media_type]]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            width, height = image.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:
                return bomb
            if getattr(image, "is_animated", False):
                return Refused(
                    Reason.ANIMATED,
                    "animated images are not accepted: upload a still image",
                    found=media_type,
                )
            image.verify()  # checksums and structure, without decoding
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()  # every pixel: a truncated file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Beyond twice the limit Pillow refuses itself; beyond the limit it warns, which
        # is an error wherever warnings are (the tests): refused either way.
        return bomb
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError):
        # What Pillow's decoders raise on broken data (a truncated file is an OSError).
        return damaged
    if width < 1 or height < 1:
        return damaged
    return Sniffed(media_type, width=width, height=height)


def _pdf(data: bytes) -> Sniffed | Refused:
    from pypdf import PdfReader

    not_pdf = Refused(Reason.NOT_PDF, "the file starts like a PDF document but is none", found=PDF)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return Refused(
                Reason.ENCRYPTED,
                "the PDF document is encrypted: upload it without a password, so readers can open it",
                found=PDF,
            )
        pages = len(reader.pages)
        # Every page's box: walks the whole page tree, which a broken file fails.
        if pages < 1 or any(page.mediabox.width <= 0 for page in reader.pages):
            return not_pdf
    except Exception:
        # pypdf raises many kinds of errors on hostile input; each one means "no PDF".
        return not_pdf
    return Sniffed(PDF, pages=pages)
