"""The desk's users: e-mail address, argon2 password hash, role and cities; their
one-time sign-in links.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile); the
password itself is never stored. `authenticate` takes about as long for an unknown
address as for a wrong password, since it verifies a hash of a random password then:
how long it takes tells nothing about which addresses have accounts. A link's secret
is random (256 bits) and stored as SHA-256 only, like a token's; a link signs in once,
and only before it expires.

Input is checked here (`check_new_user`, `check_password`), each problem as a
`Problem` that every surface words in its own language: the desk in German, the CLI
in English. Nothing commits here.
"""

from __future__ import annotations

import enum
import functools
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from feedsvc.models import City, DeskSession, SignInLink, User
from feedsvc.store import catalog, desk_sessions
from feedsvc.store.audit import Acting, Subject, record_by
from feedsvc.store.secret_digest import hash_secret
from feedsvc.store.write_access import ADMIN_ROLE
from feedsvc.text import plain_text

EDITOR_ROLE = "editor"
ROLES = (EDITOR_ROLE, ADMIN_ROLE)
EMAIL_LENGTH = 320  # RFC 5321: 64 for the local part, @, 255 for the domain
NAME_LENGTH = 200
MIN_PASSWORD_LENGTH = 10
# Hashing reads all of a password; nobody types more than this.
MAX_PASSWORD_LENGTH = 1000
# Stricter than `text.EMAIL_PATTERN` (a press contact's address, which is only shown): a
# user's address receives sign-in links, so it is an unquoted local part (RFC 5322 atext
# and dots), one @ and a domain with a dot, in ASCII: what smtplib and every mail server
# take as it is, and nothing a To: header could read as two addresses.
_EMAIL = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+")

# New hashes are made with argon2-cffi's default parameters (RFC 9106's low-memory profile);
# a hash names its own parameters, so verifying needs none. The test suite, which makes
# thousands of hashes, puts a hasher with the library's cheapest profile here.
hasher = PasswordHasher()


class Problem(enum.Enum):
    EMAIL_MISSING = "email missing"
    EMAIL_INVALID = "email invalid"
    EMAIL_TAKEN = "email taken"
    NAME_TOO_LONG = "name too long"
    ROLE_UNKNOWN = "role unknown"
    CITIES_MISSING = "cities missing"
    CITIES_FOR_ADMIN = "cities for admin"
    CITY_UNKNOWN = "city unknown"
    PASSWORD_TOO_SHORT = "password too short"
    PASSWORD_TOO_LONG = "password too long"


@dataclass(frozen=True)
class Invalid:
    """One problem of an input: the field it is in, and for unknown cities their slugs."""

    field: str
    problem: Problem
    detail: str = ""


@dataclass(frozen=True)
class NewUser:
    """A checked new user, ready for `create_user`."""

    email: str
    name: str
    role: str
    cities: tuple[City, ...]
    password: str | None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _is_address(normalised: str) -> bool:
    return len(normalised) <= EMAIL_LENGTH and _EMAIL.fullmatch(normalised) is not None


def is_sendable_address(normalised: str) -> bool:
    """Whether a normalised address is one feedsvc sends mail to: a user's for sign-in
    links, a subscriber's for e-mail alerts (see `_EMAIL`)."""
    return _is_address(normalised)


def check_email(session: Session, email: str) -> str | Problem:
    """The normalised address, or what is wrong with it (taken included)."""
    email = normalise_email(email)
    if not email:
        return Problem.EMAIL_MISSING
    if not _is_address(email):
        return Problem.EMAIL_INVALID
    if user_by_email(session, email) is not None:
        return Problem.EMAIL_TAKEN
    return email


def check_password(password: str) -> Problem | None:
    length = len(_normalised_password(password))
    if length < MIN_PASSWORD_LENGTH:
        return Problem.PASSWORD_TOO_SHORT
    if length > MAX_PASSWORD_LENGTH:
        return Problem.PASSWORD_TOO_LONG
    return None


def resolve_cities(session: Session, slugs: Sequence[str]) -> tuple[list[City], list[str]]:
    """The cities `slugs` name (each once, in the order given), and the slugs no city has."""
    found: list[City] = []
    unknown: list[str] = []
    for slug in dict.fromkeys(slug.strip() for slug in slugs):
        city = catalog.city_by_slug(session, slug)
        if city is None:
            unknown.append(slug)
        else:
            found.append(city)
    return found, unknown


def check_new_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    city_slugs: Sequence[str],
    password: str | None,
) -> NewUser | list[Invalid]:
    """The checked user, or every problem of the input at once."""
    problems: list[Invalid] = []
    checked_email = check_email(session, email)
    if isinstance(checked_email, Problem):
        problems.append(Invalid("email", checked_email))
    name = plain_text(name)  # no markup, no control characters (PostgreSQL stores no NUL)
    if len(name) > NAME_LENGTH:
        problems.append(Invalid("name", Problem.NAME_TOO_LONG))
    cities, unknown = resolve_cities(session, city_slugs)
    if role not in ROLES:
        problems.append(Invalid("role", Problem.ROLE_UNKNOWN))
    elif role == ADMIN_ROLE:
        if cities or unknown:
            problems.append(Invalid("cities", Problem.CITIES_FOR_ADMIN))
    elif unknown:
        problems.append(Invalid("cities", Problem.CITY_UNKNOWN, ", ".join(unknown)))
    elif not cities:
        problems.append(Invalid("cities", Problem.CITIES_MISSING))
    if password is not None and (password_problem := check_password(password)) is not None:
        problems.append(Invalid("password", password_problem))
    if isinstance(checked_email, Problem) or problems:
        return problems
    return NewUser(checked_email, name, role, tuple(cities), password)


def create_user(session: Session, new: NewUser, now: datetime, *, by: Acting) -> User:
    user = User(
        email=new.email,
        name=new.name,
        role=new.role,
        cities=list(new.cities),
        password_hash=hash_password(new.password) if new.password is not None else None,
        is_active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    detail = {"email": user.email, "role": user.role, "cities": [city.slug for city in new.cities]}
    record_by(session, by, now, "user.created", Subject("user", user.id), detail)
    return user


def user_by_email(session: Session, email: str) -> User | None:
    email = normalise_email(email)
    if not _is_address(email):
        return None  # no account has it (and the database is never asked about a NUL or a megabyte)
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.email)).all()


def _normalised_password(password: str) -> str:
    # "ü" typed as one character on one device and as u + combining diaeresis on another
    # is the same password.
    return unicodedata.normalize("NFC", password)


def hash_password(password: str) -> str:
    return hasher.hash(_normalised_password(password))


@functools.cache
def _unknown_user_hash() -> str:
    """A hash of a random password, verified for addresses without an account."""
    return hasher.hash(secrets.token_urlsafe(32))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, _normalised_password(password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this address and password, or None; as slow either way. Reads only."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return None  # no account has such a password, whoever asks
    user = user_by_email(session, email)
    stored = user.password_hash if user is not None else None
    matches = _verify(stored or _unknown_user_hash(), password)
    if user is None or stored is None or not matches or not user.is_active:
        return None
    return user


def rehash_if_needed(user: User, password: str) -> None:
    """After a successful sign-in: a hash made with older argon2 parameters is made again."""
    if user.password_hash is not None and hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def set_password(
    session: Session,
    user: User,
    password: str,
    now: datetime,
    *,
    by: Acting,
    keep: DeskSession | None = None,
) -> None:
    """Sets a checked password (`check_password`) and ends every session of the user but `keep`."""
    user.password_hash = hash_password(password)
    desk_sessions.end_sessions_of(session, user, keep=keep.id if keep is not None else None)
    record_by(session, by, now, "user.changed", Subject("user", user.id), {"changed": "password"})


def verify_password(user: User, password: str) -> bool:
    """Whether `password` is the user's (a user without one has none to match)."""
    if user.password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        return False
    return _verify(user.password_hash, password)


def deactivate_user(session: Session, user: User, now: datetime, *, by: Acting) -> None:
    """The user can no longer sign in: its sessions and sign-in links end at once."""
    user.is_active = False
    user.deactivated_at = now
    desk_sessions.end_sessions_of(session, user)
    session.execute(delete(SignInLink).where(SignInLink.user_id == user.id))
    record_by(session, by, now, "user.changed", Subject("user", user.id), {"changed": "deactivated"})


def create_sign_in_link(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    """A new sign-in link's secret (for the e-mail only: just its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            user_id=user.id, secret_hash=hash_secret(secret), created_at=now, expires_at=now + lifetime
        )
    )
    session.flush()
    return secret


def use_sign_in_link(session: Session, secret: str, now: datetime) -> User | None:
    """The active user the link signs in, marking it used; None for an unknown, used or
    expired link. Of two requests using one link at once, one wins."""
    digest = hash_secret(secret)
    claimed = session.execute(
        update(SignInLink)
        .where(SignInLink.secret_hash == digest, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    link = session.scalars(select(SignInLink).where(SignInLink.secret_hash == digest)).one()
    user = user_by_id(session, link.user_id)
    return user if user is not None and user.is_active else None


def prune_sign_in_links(session: Session, now: datetime) -> None:
    """Deletes the links that can no longer sign in."""
    session.execute(
        delete(SignInLink).where(or_(SignInLink.expires_at <= now, SignInLink.used_at.is_not(None)))
    )
