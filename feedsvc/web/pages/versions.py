"""The history of a corrected release: which versions readers saw, and what each
correction changed (docs/pages.md#corrections-and-earlier-versions).

The release page lists the major corrections ("Korrigiert am …"); each earlier version
has a page of its own at `/releases/<id>-<slug>/versions/<n>` with what the correction
after it changed, word by word. A version nobody could see (the release was under
embargo while it stood) is no part of the public history.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from feedsvc.store.revisions import Version

# Words and the white space after them: a diff in these units reads like a correction.
_WORDS = re.compile(r"\S+\s*|\s+")
# Unchanged text longer than this is shortened to its ends around the changes.
_CONTEXT_WORDS = 12


@dataclass(frozen=True)
class Piece:
    """A run of text in a comparison: `kind` is "same", "added" or "removed"."""

    kind: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    label: str
    pieces: tuple[Piece, ...]


def was_seen(version: Version) -> bool:
    """Whether readers could see this version: it stood after its publication time."""
    return version.replaced_at is None or version.replaced_at > version.published_at


def public_history(versions: list[Version]) -> list[Version]:
    """The earlier versions readers saw, oldest first (without the current one)."""
    return [version for version in versions[:-1] if was_seen(version)]


def corrections(versions: list[Version]) -> list[Version]:
    """The earlier versions a major correction replaced: the release page's "Korrigiert am"."""
    return [version for version in public_history(versions) if version.replaced_by_major]


def changes_between(old: Version, new: Version) -> list[FieldChange]:
    """What changed from `old` to `new`, field by field (only the fields that did)."""
    fields = (
        ("Titel", old.title, new.title),
        ("Vorspann", old.summary, new.summary),
        ("Text", old.body_text, new.body_text),
        ("Autor", old.author, new.author),
        ("Ort", old.city, new.city),
        ("Themen", ", ".join(old.topics), ", ".join(new.topics)),
        ("Bilder", _images(old), _images(new)),
    )
    return [
        FieldChange(label, tuple(_word_diff(before, after)))
        for label, before, after in fields
        if before != after
    ]


def _images(version: Version) -> str:
    return "\n".join(
        " – ".join(part for part in (i.caption, i.credit) if part) or i.url for i in version.images
    )


def _word_diff(before: str, after: str) -> list[Piece]:
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            pieces.append(Piece("same", _shortened(old[a_start:a_end])))
            continue
        if a_end > a_start:
            pieces.append(Piece("removed", "".join(old[a_start:a_end])))
        if b_end > b_start:
            pieces.append(Piece("added", "".join(new[b_start:b_end])))
    return pieces


def _shortened(words: list[str]) -> str:
    if len(words) <= 2 * _CONTEXT_WORDS:
        return "".join(words)
    return "".join(words[:_CONTEXT_WORDS]) + " … " + "".join(words[-_CONTEXT_WORDS:])
