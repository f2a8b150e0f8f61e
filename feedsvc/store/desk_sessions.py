"""Sessions of the desk (`/publish`), kept in the database: who is signed in, since when,
from where.

The cookie carries a random 256-bit secret and the table only its SHA-256, as for API
tokens (`store.secret_digest`): a copy of the table signs nobody in. A session
ends when its row is deleted (signing out, a deactivated user, a revoked token, a
changed password for the user's other sessions) or by itself: at `expires_at`, fixed
at sign-in, or after `Lifetime.idle` without a request. Lookups only read; expired rows
are deleted by `prune`, which each sign-in runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from feedsvc.models import DeskSession, Token, User
from feedsvc.store.audit import Acting, Subject, record_by, token_actor, user_actor
from feedsvc.store.secret_digest import hash_secret

METHODS = ("password", "link", "token")
# `last_seen_at` is written at most this often: a request a second would otherwise be a
# write a second. Idle expiry is as precise as this.
TOUCH_INTERVAL = timedelta(minutes=1)
IP_ADDRESS_LENGTH = 45  # the longest text form of an IPv6 address
USER_AGENT_LENGTH = 300


@dataclass(frozen=True)
class Lifetime:
    """How long a session lasts: `idle` without a request, `absolute` after sign-in at most."""

    idle: timedelta
    absolute: timedelta


def start_session(
    session: Session,
    *,
    owner: User | Token,
    method: str,
    now: datetime,
    lifetime: Lifetime,
    ip_address: str,
    user_agent: str,
) -> tuple[DeskSession, str]:
    """A new session of `owner` and the secret its cookie carries (not stored, shown to nobody)."""
    if method not in METHODS:
        raise ValueError(f"unknown sign-in method {method!r}")
    secret = secrets.token_urlsafe(32)
    row = DeskSession(
        secret_hash=hash_secret(secret),
        user_id=owner.id if isinstance(owner, User) else None,
        token_id=owner.id if isinstance(owner, Token) else None,
        method=method,
        csrf_secret=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime.absolute,
        ip_address=ip_address[:IP_ADDRESS_LENGTH],
        user_agent=user_agent[:USER_AGENT_LENGTH],
    )
    session.add(row)
    session.flush()
    actor = user_actor(owner) if isinstance(owner, User) else token_actor(owner)
    subject = Subject(actor.kind, owner.id)
    record_by(session, Acting(actor, ip_address), now, "user.signed_in", subject, {"method": method})
    return row, secret


def _live(now: datetime, lifetime: Lifetime) -> ColumnElement[bool]:
    return (DeskSession.expires_at > now) & (DeskSession.last_seen_at > now - lifetime.idle)


def session_by_secret(session: Session, secret: str, now: datetime, lifetime: Lifetime) -> DeskSession | None:
    """The live session whose cookie carries `secret`, or None (unknown, ended or expired)."""
    query = select(DeskSession).where(DeskSession.secret_hash == hash_secret(secret), _live(now, lifetime))
    return session.scalars(query).one_or_none()


def needs_touch(row: DeskSession, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_INTERVAL


def touch(session: Session, session_id: int, now: datetime) -> None:
    """Records a request of the session: the idle time starts again."""
    session.execute(update(DeskSession).where(DeskSession.id == session_id).values(last_seen_at=now))


def _of_owner(owner: User | Token) -> ColumnElement[bool]:
    if isinstance(owner, User):
        return DeskSession.user_id == owner.id
    return DeskSession.token_id == owner.id


def sessions_of(
    session: Session, owner: User | Token, now: datetime, lifetime: Lifetime
) -> Sequence[DeskSession]:
    """The live sessions of a user or token, the most recently used first."""
    query = select(DeskSession).where(_of_owner(owner), _live(now, lifetime))
    return session.scalars(query.order_by(DeskSession.last_seen_at.desc(), DeskSession.id.desc())).all()


def end_session(session: Session, session_id: int) -> None:
    session.execute(delete(DeskSession).where(DeskSession.id == session_id))


def end_session_with_secret(session: Session, secret: str) -> None:
    """Ends the session whose cookie carries `secret` (if there is one)."""
    session.execute(delete(DeskSession).where(DeskSession.secret_hash == hash_secret(secret)))


def end_sessions_of(session: Session, owner: User | Token, *, keep: int | None = None) -> None:
    """Ends every session of a user or token, except the one with id `keep`."""
    condition = _of_owner(owner)
    if keep is not None:
        condition = condition & (DeskSession.id != keep)
    session.execute(delete(DeskSession).where(condition))


def prune(session: Session, now: datetime, lifetime: Lifetime) -> None:
    """Deletes the sessions that have expired."""
    expired = or_(DeskSession.expires_at <= now, DeskSession.last_seen_at <= now - lifetime.idle)
    session.execute(delete(DeskSession).where(expired))
