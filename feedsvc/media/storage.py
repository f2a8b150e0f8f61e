"""Where uploaded bytes are kept: blobs named by the SHA-256 of their content.

`Storage` is the one interface the rest of feedsvc uses; `FileStorage` keeps the blobs in
a folder (FEEDSVC_MEDIA_PATH, by default `media/` in the instance folder). A store for an
S3-compatible service needs the same four methods and nothing else.

Content addressing makes a repeated upload free (its blobs are there already) and a blob
immutable: a key always names the same bytes, so whatever serves them may cache them for
good. A blob is written to a temporary file beside its place and renamed into it, so a
reader never sees half a file and a crash leaves no half blob under its key.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_KEY = re.compile(r"[0-9a-f]{64}")


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> bool:
        """Keeps `data` under `key` (its SHA-256); True when it was not there before."""

    def open(self, key: str) -> BinaryIO:
        """The blob for reading; FileNotFoundError when there is none."""

    def delete(self, key: str) -> None:
        """Removes the blob, if there is one."""

    def exists(self, key: str) -> bool:
        """Whether there is a blob under `key`."""


def content_key(data: bytes) -> str:
    """The key of `data` in every store: its SHA-256 in lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def is_key(value: str) -> bool:
    """Whether `value` could be a key at all (64 lowercase hex digits)."""
    return _KEY.fullmatch(value) is not None


class FileStorage:
    """Blobs as files under `root`, in two levels of folders (`ab/cd/abcd…`), so that no
    folder holds more than a few thousand entries even with millions of blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        if not is_key(key):
            # Never a path from outside: a key is 64 hex digits or nothing.
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> bool:
        if content_key(data) != key:
            raise ValueError(f"the bytes given for {key} have another SHA-256")
        target = self.path_of(key)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def open(self, key: str) -> BinaryIO:
        return self.path_of(key).open("rb")

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()
