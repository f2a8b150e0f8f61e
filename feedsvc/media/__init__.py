"""Uploaded images and PDF attachments as bytes: where they are kept, what they really are,
and the renditions that are served of them (docs/architecture.md#uploaded-media).

- `storage`: one small interface (`put`, `open`, `delete`, `exists`) over content-addressed
  blobs, with a folder on disk behind it; an S3-compatible store can stand in later.
- `sniffing`: the type of an upload read from its bytes, never from its name (Pillow for
  images, pypdf for PDFs), and every refusal with its reason.
- `renditions`: the served images made with Pillow: EXIF orientation applied, camera
  metadata (GPS and the rest) dropped, sizes for pages and feeds, never upscaled.
- `metadata`: the caption and credit written into every rendition as XMP (IPTC Photo
  Metadata), and read back.

No Flask, no SQLAlchemy, no models here: bytes in, bytes and plain values out. The only
modules that import Pillow and pypdf live here.
"""
