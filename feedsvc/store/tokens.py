"""API tokens: created with a random secret, stored only as its SHA-256 (`secret_digest`)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from feedsvc.models import City, Publisher, Token
from feedsvc.store import catalog, desk_sessions
from feedsvc.store.audit import Acting, Subject, record_by
from feedsvc.store.secret_digest import hash_secret

ROLES = ("publisher", "admin", "journalist")
SECRET_PREFIX = "fsv_"


def create_token(
    session: Session,
    *,
    role: str,
    now: datetime,
    publisher: Publisher | None = None,
    cities: Sequence[City] = (),
    label: str = "",
    by: Acting,
) -> tuple[Token, str]:
    """A new token and its secret; the secret is not stored and cannot be shown again."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = Token(
        role=role,
        publisher=publisher,
        cities=list(cities),
        label=label,
        secret_hash=hash_secret(secret),
        is_active=True,
        created_at=now,
    )
    session.add(token)
    session.flush()
    detail = {
        "role": role,
        "label": label,
        "publisher": publisher.name if publisher is not None else None,
        "cities": [city.slug for city in cities],
    }
    record_by(session, by, now, "token.created", Subject("token", token.id), detail)
    return token, secret


def token_by_secret(session: Session, secret: str) -> Token | None:
    """The active token with this secret, or None."""
    digest = hash_secret(secret)
    token = session.scalars(select(Token).where(Token.secret_hash == digest)).one_or_none()
    # The lookup goes through an index on the hash; comparing the digests in
    # constant time as well keeps timing from telling how much of one matched.
    if token is None or not hmac.compare_digest(token.secret_hash, digest) or not token.is_active:
        return None
    return token


def token_by_id(session: Session, token_id: int) -> Token | None:
    return session.get(Token, token_id)


def tokens(session: Session) -> Sequence[Token]:
    return session.scalars(select(Token).order_by(Token.id)).all()


def create_publisher_token(
    session: Session,
    *,
    office_name: str,
    cities: Sequence[City],
    now: datetime,
    label: str = "",
    by: Acting,
) -> tuple[Token, str]:
    """A publisher token for the press office `office_name` (made, for `cities`, if it is new)."""
    owner = catalog.publisher_named(session, office_name)
    if owner is None:
        owner = catalog.upsert_publisher(session, office_name, cities, now)
    return create_token(
        session, role="publisher", now=now, publisher=owner, cities=cities, label=label, by=by
    )


def revoke_token(token: Token, now: datetime, *, by: Acting) -> None:
    """Revokes the token and ends every desk session signed in with it, in its session's transaction."""
    token.is_active = False
    token.revoked_at = now
    session = object_session(token)
    if session is not None:
        desk_sessions.end_sessions_of(session, token)
        record_by(session, by, now, "token.revoked", Subject("token", token.id), {"label": token.label})
