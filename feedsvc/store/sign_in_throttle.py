"""Throttled sign-in: failed attempts counted per account and per client address, in the
database, so every gunicorn worker and every app server refuses the same ones.

A counter (an account's e-mail address, a client address) that reached its limit
within the window is refused until enough of its failures are older than the window.
A refused attempt is neither checked nor counted, so the refusal ends on time however
often it is tried meanwhile. Each account has a counter of its own, and the address's
limit is the higher one: the failures for one account never lock another account out,
and an address reaches its limit only by failing for several. Unknown e-mail addresses
are counted like known ones: the answers never tell whether an account exists.

What is counted per purpose: sign-ins (password, token, e-mail link used) count their
failures; requests for a sign-in link count every request, since each sends an e-mail.
Two requests racing past a limit at the same instant may both be checked: a limit is
a brake for guessing, not an exact quota.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedsvc.models import SignInAttempt
from feedsvc.store.secret_digest import hash_secret


class Purpose(enum.Enum):
    SIGN_IN = "sign-in"
    LINK_REQUEST = "link-request"


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window: timedelta


@dataclass(frozen=True)
class Counter:
    """One thing counted, and how many attempts it may have within the window."""

    key: str
    limit: int

    @property
    def key_hash(self) -> str:
        return hash_secret(self.key)


def address_counter(limits: Limits, purpose: Purpose, address: str) -> Counter:
    """The counter of a client address."""
    return Counter(f"{purpose.value}:address:{address}", limits.per_address)


def account_counter(limits: Limits, purpose: Purpose, email: str) -> Counter:
    """The counter of an account, by its (normalised) e-mail address, whether it exists or not."""
    return Counter(f"{purpose.value}:account:{email}", limits.per_account)


def refused_until(
    session: Session, found: Sequence[Counter], now: datetime, window: timedelta
) -> datetime | None:
    """When the attempt may be made again, or None when it may be made now."""
    until: datetime | None = None
    for counter in found:
        # The limit-th newest attempt in the window: once it is older than the window,
        # fewer than `limit` remain in it.
        query = (
            select(SignInAttempt.attempted_at)
            .where(SignInAttempt.key_hash == counter.key_hash, SignInAttempt.attempted_at > now - window)
            .order_by(SignInAttempt.attempted_at.desc())
            .offset(counter.limit - 1)
            .limit(1)
        )
        oldest_counted = session.scalar(query)
        if oldest_counted is not None:
            ends = oldest_counted + window
            until = ends if until is None else max(until, ends)
    return until


def record(session: Session, found: Sequence[Counter], now: datetime) -> None:
    session.add_all(SignInAttempt(key_hash=counter.key_hash, attempted_at=now) for counter in found)
    session.flush()


def forget(session: Session, counter: Counter) -> None:
    """Forgets the failures of `counter` (an account after its successful sign-in)."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.key_hash == counter.key_hash))


def prune(session: Session, now: datetime, window: timedelta) -> None:
    """Deletes the attempts that no longer count."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at <= now - window))
