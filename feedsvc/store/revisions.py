"""The versions a release had before corrections replaced them.

A correction first keeps what readers saw (`keep`), so the release page can show
"Korrigiert am …" with what changed and every earlier version. A version is kept as
a JSON object of the fields readers see; the release row itself is always the newest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedsvc.models import Release, ReleaseRevision


@dataclass(frozen=True)
class VersionImage:
    url: str
    caption: str
    credit: str


@dataclass(frozen=True)
class Version:
    """What a release said in one revision, and how that revision ended."""

    revision: int
    title: str
    summary: str
    body_html: str
    body_text: str
    author: str
    city: str
    topics: tuple[str, ...]
    published_at: datetime
    correction_note: str | None
    images: tuple[VersionImage, ...]
    valid_from: datetime
    # None for the current version; else when the correction that replaced it came,
    # whether it was major, and the note it gave.
    replaced_at: datetime | None = None
    replaced_by_major: bool = True
    change_note: str | None = None


def keep(session: Session, release: Release, now: datetime, *, major: bool, change_note: str | None) -> None:
    """Keeps the release as it is now as its revision `release.revision`, replaced at `now`."""
    current = current_version(release, _current_since(session, release))
    session.add(
        ReleaseRevision(
            release_id=release.id,
            revision=release.revision,
            content=json.dumps(_content(current), ensure_ascii=False, sort_keys=True),
            valid_from=current.valid_from,
            replaced_at=now,
            major=major,
            change_note=change_note,
        )
    )


def current_version(release: Release, since: datetime) -> Version:
    """The release as it is now, a version since `since`."""
    return Version(
        revision=release.revision,
        title=release.title,
        summary=release.summary,
        body_html=release.body_html,
        body_text=release.body_text,
        author=release.author,
        city=release.city.name,
        topics=tuple(topic.name for topic in release.topics),
        published_at=release.published_at,
        correction_note=release.correction_note,
        images=tuple(VersionImage(image.url, image.caption, image.credit) for image in release.images),
        valid_from=since,
    )


def versions(session: Session, release: Release) -> list[Version]:
    """Every version of the release, the oldest first, the current one last."""
    rows = session.scalars(
        select(ReleaseRevision)
        .where(ReleaseRevision.release_id == release.id)
        .order_by(ReleaseRevision.revision)
    )
    earlier = [_version(row) for row in rows]
    since = earlier[-1].replaced_at if earlier and earlier[-1].replaced_at else release.created_at
    return [*earlier, current_version(release, since)]


def _current_since(session: Session, release: Release) -> datetime:
    """When the release's current version began: the last correction, else its creation."""
    last = session.scalar(
        select(func.max(ReleaseRevision.replaced_at)).where(ReleaseRevision.release_id == release.id)
    )
    return last if last is not None else release.created_at


def _content(version: Version) -> dict[str, object]:
    return {
        "title": version.title,
        "summary": version.summary,
        "body_html": version.body_html,
        "body_text": version.body_text,
        "author": version.author,
        "city": version.city,
        "topics": list(version.topics),
        "published_at": version.published_at.isoformat(),
        "correction_note": version.correction_note,
        "images": [{"url": i.url, "caption": i.caption, "credit": i.credit} for i in version.images],
    }


def _version(row: ReleaseRevision) -> Version:
    content = json.loads(row.content)
    return Version(
        revision=row.revision,
        title=content["title"],
        summary=content["summary"],
        body_html=content["body_html"],
        body_text=content["body_text"],
        author=content["author"],
        city=content["city"],
        topics=tuple(content["topics"]),
        published_at=datetime.fromisoformat(content["published_at"]),
        correction_note=content["correction_note"],
        images=tuple(VersionImage(i["url"], i["caption"], i["credit"]) for i in content["images"]),
        valid_from=row.valid_from,
        replaced_at=row.replaced_at,
        replaced_by_major=row.major,
        change_note=row.change_note,
    )
