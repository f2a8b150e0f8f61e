"""Real files for the upload tests, made with Pillow and pypdf: photos with the metadata a
camera writes (orientation, GPS, serial number), PNG, WebP, PDF, and hostile ones."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from typing import Any

from flask.testing import FlaskClient
from PIL import ExifTags, Image
from pypdf import PdfWriter
from werkzeug.test import TestResponse

CAMERA_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator><rdf:Seq><rdf:li>Erika Mustermann, Privat</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _picture(width: int, height: int) -> Image.Image:
    """A picture with structure (so encoders have something to do), not one flat colour."""
    gradient = Image.linear_gradient("L").resize((width, height))
    return Image.merge(
        "RGB", (gradient, gradient.rotate(90).resize((width, height)), Image.new("L", (width, height), 90))
    )


@functools.cache
def camera_jpeg(width: int = 2400, height: int = 1600) -> bytes:
    """A JPEG as a phone writes it: stored sideways with EXIF orientation 6 (turn 90° clockwise
    to show), GPS position, camera make and serial number, and XMP naming the owner."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Kamerahersteller"
    exif[ExifTags.Base.BodySerialNumber] = "SN-4711"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (12.0, 7.0, 3.0)
    out = io.BytesIO()
    _picture(width, height).save(out, "JPEG", quality=90, exif=exif.tobytes(), xmp=CAMERA_XMP)
    return out.getvalue()


@functools.cache
def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    _picture(width, height).convert("RGBA").save(out, "PNG")
    return out.getvalue()


@functools.cache
def webp(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    _picture(width, height).save(out, "WEBP", quality=80)
    return out.getvalue()


@functools.cache
def gif() -> bytes:
    out = io.BytesIO()
    _picture(64, 64).convert("P").save(out, "GIF")
    return out.getvalue()


@functools.cache
def pdf(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb() -> bytes:
    """A valid PNG of a few hundred bytes that claims 40,000 × 40,000 pixels: decoded, 1.6
    billion of them (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", 40_000, 40_000, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def corrupt_png() -> bytes:
    """A PNG whose pixel data was damaged in transit (its checksum no longer matches)."""
    data = bytearray(png(64, 64))
    at = data.index(b"IDAT") + 20
    data[at] ^= 0xFF
    return bytes(data)


SVG_PLAIN = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
)
SVG_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>fetch('/publish').then(r => r.text())</script></svg>"
)


def upload(
    client: FlaskClient, headers: dict[str, str], data: bytes, filename: str, **fields: str
) -> TestResponse:
    """POSTs a file to /api/v1/media as a multipart upload, as curl -F does."""
    form: dict[str, Any] = {"file": (io.BytesIO(data), filename), **fields}
    return client.post("/api/v1/media", data=form, headers=headers, content_type="multipart/form-data")


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()
