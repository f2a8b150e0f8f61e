"""Preview links: a secret URL (`/preview/<secret>`) that shows a draft or a release under
embargo as its page would look, to whoever has it (docs/pages.md#preview-links).

As for API tokens and desk sessions, the secret has 256 bits and only its SHA-256 is
stored (`store.secret_digest`): a copy of the table opens no preview. A link opens
nothing after `expires_at`; revoking it deletes its row; it goes with its draft (ON
DELETE CASCADE), unless the draft is published, when it moves to the release.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from feedsvc.models import Draft, PreviewLink, Release
from feedsvc.store.secret_digest import hash_secret

NAME_LENGTH = 300
SECRET_BYTES = 32


def create_link(
    session: Session,
    target: Draft | Release,
    *,
    created_by: str,
    now: datetime,
    lifetime: timedelta,
) -> tuple[PreviewLink, str]:
    """A new link to `target` and its secret (not stored, shown once). Expired links go."""
    prune(session, now)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    link = PreviewLink(
        secret_hash=hash_secret(secret),
        draft_id=target.id if isinstance(target, Draft) else None,
        release_id=target.id if isinstance(target, Release) else None,
        created_by=created_by[:NAME_LENGTH],
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(link)
    session.flush()
    return link, secret


def link_by_secret(session: Session, secret: str, now: datetime) -> PreviewLink | None:
    """The link with this secret while it has not expired; None for any other secret."""
    query = select(PreviewLink).where(
        PreviewLink.secret_hash == hash_secret(secret), PreviewLink.expires_at > now
    )
    return session.scalars(query).one_or_none()


def links_to(session: Session, target: Draft | Release, now: datetime) -> list[PreviewLink]:
    """The links to `target` that still open it, the newest first."""
    column = PreviewLink.draft_id if isinstance(target, Draft) else PreviewLink.release_id
    query = select(PreviewLink).where(column == target.id, PreviewLink.expires_at > now)
    return list(session.scalars(query.order_by(PreviewLink.created_at.desc(), PreviewLink.id.desc())))


def link_by_id(session: Session, link_id: int) -> PreviewLink | None:
    return session.get(PreviewLink, link_id)


def revoke(session: Session, link: PreviewLink) -> None:
    """The link opens nothing from now on: its row is deleted."""
    session.execute(delete(PreviewLink).where(PreviewLink.id == link.id))


def move_to_release(session: Session, draft: Draft, release: Release) -> None:
    """The links to a draft, now that it is published as `release`, open the release."""
    session.execute(
        update(PreviewLink)
        .where(PreviewLink.draft_id == draft.id)
        .values(draft_id=None, release_id=release.id)
    )


def prune(session: Session, now: datetime) -> None:
    """Deletes the links that have expired."""
    session.execute(delete(PreviewLink).where(PreviewLink.expires_at <= now))
