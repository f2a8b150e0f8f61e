"""The audit log: who (a user, a token, a command) did what (published, corrected,
retracted, signed in, made or revoked a token ...) to what, when and from where.

One entry per write, added in the writer's own transaction, so an entry exists exactly
when its write does (a rolled-back write leaves none). The table is append-only: this
module only adds and reads, and the database refuses UPDATE and DELETE (migration
0013). Admins read it on the desk (`/publish/audit`) and with `feedsvc audit`
(docs/operations.md#the-audit-log).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from feedsvc.models import AuditEvent, Token, User

# The actions written. A new kind of write adds its name here, so the desk and the CLI
# can offer every action as a filter.
ACTIONS: tuple[str, ...] = (
    "release.published",
    "release.corrected",
    "release.rescheduled",
    "release.retracted",
    "draft.saved",
    "draft.deleted",
    "preview.created",
    "preview.revoked",
    "media.uploaded",
    "user.signed_in",
    "user.signed_out",
    "user.created",
    "user.changed",
    "token.created",
    "token.revoked",
    "catalog.changed",
    # An operator's answer to a deletion or information request (`feedsvc mail-subscribers`):
    # the detail counts what was deleted or exported, never the address.
    "mail_subscribers.deleted",
    "mail_subscribers.exported",
    "webhook.created",
    "webhook.removed",
    "webhook.enabled",
    "webhook.disabled",
    "webhook.redelivered",
)

Detail = Mapping[str, str | int | bool | Sequence[str] | None]
ADDRESS_LENGTH = 45
LABEL_LENGTH = 320


@dataclass(frozen=True)
class Actor:
    """Who wrote: `kind` is "user", "token" or "command"; `id` the user's or token's id."""

    kind: str
    id: int | None
    label: str


@dataclass(frozen=True)
class Acting:
    """Who writes, and from where (a client's address; "" for a command)."""

    actor: Actor
    address: str = ""


def token_actor(token: Token) -> Actor:
    return Actor("token", token.id, token.label or f"token {token.id}")


def user_actor(user: User) -> Actor:
    return Actor("user", user.id, user.email)


def command_actor(command: str) -> Actor:
    """An operator's command: `feedsvc <command>` on the server, as whoever may run it."""
    return Actor("command", None, f"feedsvc {command}")


@dataclass(frozen=True)
class Subject:
    """What was written: `kind` is "release", "draft", "user", "token", "media" or a
    catalog kind; `id` its id (or a slug or digest)."""

    kind: str
    id: str | int


def record(
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    action: str,
    subject: Subject,
    detail: Detail | None = None,
    address: str = "",
) -> None:
    """Adds one entry to the log, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEvent(
            at=at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:LABEL_LENGTH],
            action=action,
            subject_kind=subject.kind,
            subject_id=str(subject.id),
            detail=json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True),
            address=address[:ADDRESS_LENGTH],
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    subject: Subject | None = None
    actor_label: str | None = None
    since: datetime | None = None
    before_id: int | None = None  # paging: entries older than this one


def entries(session: Session, where: AuditFilter, limit: int) -> list[AuditEvent]:
    """The newest entries matching `where`, newest first."""
    return list(session.scalars(_query(where).order_by(AuditEvent.id.desc()).limit(limit)))


def _query(where: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if where.action is not None:
        query = query.where(AuditEvent.action == where.action)
    if where.subject is not None:
        query = query.where(
            AuditEvent.subject_kind == where.subject.kind, AuditEvent.subject_id == str(where.subject.id)
        )
    if where.actor_label is not None:
        query = query.where(AuditEvent.actor_label == where.actor_label)
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.before_id is not None:
        query = query.where(AuditEvent.id < where.before_id)
    return query


def detail_of(event: AuditEvent) -> dict[str, object]:
    loaded = json.loads(event.detail)
    return loaded if isinstance(loaded, dict) else {}


def record_by(
    session: Session, by: Acting, at: datetime, action: str, subject: Subject, detail: Detail | None = None
) -> None:
    """`record` for a writer `by` (actor and address together)."""
    record(session, at=at, actor=by.actor, action=action, subject=subject, detail=detail, address=by.address)
