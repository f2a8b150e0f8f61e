"""API tokens: created with a random secret, stored only as its SHA-256.

The secret has 256 bits of entropy, so a plain (unsalted, fast) hash is enough:
nobody can guess a secret whose hash they might have read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher, Token

ROLES = ("publisher", "admin", "journalist")
SECRET_PREFIX = "fsv_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    *,
    role: str,
    now: datetime,
    publisher: Publisher | None = None,
    cities: Sequence[City] = (),
    label: str = "",
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


def revoke_token(token: Token, now: datetime) -> None:
    token.is_active = False
    token.revoked_at = now


def may_write_city(token: Token, city: City) -> bool:
    if token.role == "admin":
        return True
    return token.role == "publisher" and any(allowed.id == city.id for allowed in token.cities)
