"""The images feedsvc serves of an upload, made with Pillow.

Every rendition is encoded anew from the decoded pixels, so nothing of the uploaded file
travels on but its pixels and its colour profile:

- the EXIF orientation is applied to the pixels (and the tag dropped with the rest), so
  every reader shows the picture upright, also those that ignore EXIF;
- all other metadata is dropped: EXIF with the camera's GPS position, serial numbers and
  owner names, IPTC-IIM, XMP, PNG text chunks. The ICC colour profile stays (it says how
  the colours are meant, nothing about who took the picture);
- the caption and credit are written as XMP (`metadata.xmp_packet`).

The sizes: `full` (the upload's own size, for newsrooms that print it), `page` (the
release page: its column at twice the density of ordinary screens) and `feed` (what feed
readers and portals show). An image narrower than a size is never scaled up: that
rendition is then the same bytes as `full` (and the same blob in storage).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feedsvc.media.metadata import xmp_packet
from feedsvc.media.sniffing import JPEG, PILLOW_FORMATS, PNG, WEBP

# Pillow is imported when an image is rendered (as in `sniffing`): pages, feeds and
# commands import this module for its names only.
if TYPE_CHECKING:
    from PIL import Image

FULL, PAGE, FEED = "full", "page", "feed"
# The widest each rendition is, in pixels (None: as uploaded).
WIDTHS: dict[str, int | None] = {FULL: None, PAGE: 1440, FEED: 1200}
RENDITION_NAMES = tuple(WIDTHS)
# Quality of the full size and of the smaller ones (JPEG and lossy WebP; PNG is lossless).
_QUALITY = {JPEG: (90, 84), WEBP: (90, 82)}
# Modes each format is written in: anything else is converted to the first that fits.
_MODES = {JPEG: ("RGB", "L"), PNG: ("RGBA", "RGB", "LA", "L"), WEBP: ("RGBA", "RGB")}


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes
    media_type: str
    width: int
    height: int


def _upright(image: Image.Image, media_type: str) -> Image.Image:
    """The pixels turned as the EXIF orientation says, in a mode the format can write."""
    from PIL import ImageOps

    turned = ImageOps.exif_transpose(image)
    allowed = _MODES[media_type]
    if turned.mode in allowed:
        return turned
    transparent = turned.mode in ("RGBA", "LA", "PA") or "transparency" in turned.info
    if transparent and "RGBA" in allowed:
        return turned.convert("RGBA")
    if turned.mode in ("1", "I;16", "I", "F") and "L" in allowed:
        return turned.convert("L")
    return turned.convert("RGB")


def _scaled(image: Image.Image, width: int) -> Image.Image:
    from PIL import Image

    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, media_type: str, xmp: bytes, icc: bytes | None, *, full: bool) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if media_type == PNG:
        from PIL.PngImagePlugin import PngInfo

        chunks = PngInfo()
        chunks.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)
        options |= {"pnginfo": chunks, "compress_level": 6}
    else:
        full_quality, smaller_quality = _QUALITY[media_type]
        options |= {"xmp": xmp, "quality": full_quality if full else smaller_quality}
        if media_type == JPEG:
            options |= {"optimize": True, "progressive": True}
        else:
            options |= {"method": 4}
    image.save(out, PILLOW_FORMATS[media_type], **options)
    return out.getvalue()


def render(
    data: bytes, media_type: str, caption: str, credit: str, language: str = "de"
) -> tuple[Rendition, ...]:
    """The renditions of an image that `sniffing.sniff` took, with caption and credit as XMP."""
    from PIL import Image

    xmp = xmp_packet(caption, credit, language)
    with Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[media_type]]) as opened:
        icc = opened.info.get("icc_profile")
        image = _upright(opened, media_type)
    full = _encode(image, media_type, xmp, icc, full=True)
    made = [Rendition(FULL, full, media_type, image.width, image.height)]
    for name, width in WIDTHS.items():
        if width is None:
            continue
        if image.width <= width:  # never scaled up: the full size is small enough
            made.append(Rendition(name, full, media_type, image.width, image.height))
            continue
        smaller = _scaled(image, width)
        made.append(
            Rendition(
                name,
                _encode(smaller, media_type, xmp, icc, full=False),
                media_type,
                smaller.width,
                smaller.height,
            )
        )
    return tuple(made)
