"""`feedsvc mail-subscribers list | delete ADDRESS | export ADDRESS`: the subscribers of
e-mail alerts, for the operator's answers to deletion and information requests (DSGVO
Art. 17 and 15; docs/operations.md#e-mail-alerts).

`delete` removes everything stored of an address: its subscriptions, sign-ups and the
record of every mail sent to it. `export` writes all of it as JSON to standard output.
Both are written to the audit log with counts only: the address goes into no log. A bad
address changes nothing and is one line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import db
from feedsvc.publishing.subscriptions import filter_title
from feedsvc.store import audit, mail_alerts
from feedsvc.store.audit import Acting, command_actor

SUBJECT = audit.Subject("mail_subscribers", "by-address")


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(2)


def _address(given: str) -> str:
    address = mail_alerts.normalise_address(given)
    if not mail_alerts.is_address(address):
        _fail("ADDRESS is not an e-mail address alerts can be sent to (ASCII: name@example.org)")
    return address


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@click.group("mail-subscribers")
def mail_subscribers_group() -> None:
    """Subscribers of e-mail alerts: list them, delete or export what is stored of an address."""


@mail_subscribers_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every confirmed subscriber: address, mode, subscription, confirmed at; then the
    number of sign-ups waiting for their confirmation."""
    session = db.session()
    for subscriber in mail_alerts.subscribers(session):
        click.echo(
            f"{subscriber.address}\t{subscriber.mode}\t{subscriber.subscription.key}\t"
            f"{_iso(subscriber.confirmed_at)}\t{filter_title(subscriber.subscription)}"
        )
    click.echo(f"{mail_alerts.pending_count(session)} sign-ups waiting for their confirmation", err=True)


@mail_subscribers_group.command("delete")
@with_appcontext
@click.argument("address")
def delete_command(address: str) -> None:
    """Delete everything stored of ADDRESS: subscriptions, sign-ups, mails sent."""
    normalised = _address(address)
    session = db.session()
    db.begin_writing(session)
    deleted = mail_alerts.delete_address(session, normalised)
    detail = {"subscribers": deleted.subscribers, "sign_ups": deleted.sign_ups, "mails": deleted.mails}
    audit.record_by(
        session,
        Acting(command_actor("mail-subscribers delete")),
        _now(),
        "mail_subscribers.deleted",
        SUBJECT,
        detail,
    )
    session.commit()
    click.echo(
        f"deleted {deleted.subscribers} subscriptions, {deleted.sign_ups} sign-ups "
        f"and the record of {deleted.mails} mails"
    )


@mail_subscribers_group.command("export")
@with_appcontext
@click.argument("address")
def export_command(address: str) -> None:
    """Write everything stored of ADDRESS as JSON to standard output."""
    normalised = _address(address)
    session = db.session()
    found: dict[str, Any] = {"address": normalised, "subscriptions": [], "sign_ups": []}
    mails = 0
    for subscriber in mail_alerts.subscribers(session, normalised):
        sent = mail_alerts.mails_of(session, subscriber)
        mails += len(sent)
        found["subscriptions"].append(
            {
                "subscription": subscriber.subscription.key,
                "holds": filter_title(subscriber.subscription),
                "mode": subscriber.mode,
                "confirmed_at": _iso(subscriber.confirmed_at),
                "mails": [
                    {
                        "kind": message.kind,
                        "queued_at": _iso(message.created_at),
                        "sent_at": _iso(message.sent_at),
                        "releases": release_ids,
                    }
                    for message, release_ids in sent
                ],
            }
        )
    for sign_up in mail_alerts.sign_ups_of(session, normalised):
        found["sign_ups"].append(
            {
                "subscription": sign_up.subscription.key,
                "mode": sign_up.mode,
                "created_at": _iso(sign_up.created_at),
                "expires_at": _iso(sign_up.expires_at),
                "confirmed_at": _iso(sign_up.used_at),
            }
        )
    session.rollback()
    db.begin_writing(session)
    detail = {"subscribers": len(found["subscriptions"]), "sign_ups": len(found["sign_ups"]), "mails": mails}
    audit.record_by(
        session,
        Acting(command_actor("mail-subscribers export")),
        _now(),
        "mail_subscribers.exported",
        SUBJECT,
        detail,
    )
    session.commit()
    click.echo(json.dumps(found, ensure_ascii=False, indent=2))


def _now() -> datetime:
    moment: datetime = current_app.config["CLOCK"]()
    return moment
