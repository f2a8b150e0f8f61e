"""`feedsvc audit`: the audit log, newest first (docs/operations.md#the-audit-log).

One entry per line, tab-separated: id, time (UTC, RFC 3339), actor, address, action,
subject, detail (JSON). `--json` prints one JSON object per line instead, for tools.
Reading changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.models import AuditEvent
from feedsvc.store import audit

SUBJECT_KINDS = ("release", "draft", "user", "token", "media", "region", "city", "topic", "publisher")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "must be a date or an RFC 3339 time, e.g. 2026-12-01 or 2026-12-01T09:00:00+01:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@click.command("audit")
@with_appcontext
@click.option("--action", type=click.Choice(audit.ACTIONS), help="Only entries of this action.")
@click.option(
    "--release", "release_id", type=click.IntRange(1, 2**31 - 1), help="Only entries of this release."
)
@click.option(
    "--subject",
    metavar="KIND:ID",
    help=f"Only entries of this subject; KIND is one of {', '.join(SUBJECT_KINDS)}.",
)
@click.option(
    "--actor", help="Only entries of this actor (an e-mail address, a token's label, 'feedsvc import')."
)
@click.option("--since", help="Only entries at or after this time (UTC when no offset is given).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_command(
    action: str | None,
    release_id: int | None,
    subject: str | None,
    actor: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit log: who published, corrected, retracted, signed in, made or revoked what."""
    if release_id is not None and subject is not None:
        raise click.UsageError("give --release or --subject, not both")
    chosen = audit.Subject("release", release_id) if release_id is not None else _subject(subject)
    where = audit.AuditFilter(action=action, subject=chosen, actor_label=actor, since=_since(since))
    for entry in audit.entries(db.session(), where, limit):
        click.echo(json.dumps(_as_object(entry), ensure_ascii=False) if as_json else _as_line(entry))


def _subject(value: str | None) -> audit.Subject | None:
    if value is None:
        return None
    kind, _, ident = value.partition(":")
    if kind not in SUBJECT_KINDS or not ident:
        raise click.BadParameter(
            f"must be KIND:ID with KIND one of {', '.join(SUBJECT_KINDS)}", param_hint="--subject"
        )
    return audit.Subject(kind, ident)


def _as_object(entry: AuditEvent) -> dict[str, object]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "label": entry.actor_label},
        "address": entry.address,
        "action": entry.action,
        "subject": {"kind": entry.subject_kind, "id": entry.subject_id},
        "detail": audit.detail_of(entry),
    }


def _as_line(entry: AuditEvent) -> str:
    fields = (
        str(entry.id),
        entry.at.isoformat(),
        f"{entry.actor_kind}:{entry.actor_label}",
        entry.address or "-",
        entry.action,
        f"{entry.subject_kind}:{entry.subject_id}",
        json.dumps(audit.detail_of(entry), ensure_ascii=False, sort_keys=True),
    )
    return "\t".join(field.replace("\t", " ").replace("\n", " ") for field in fields)
