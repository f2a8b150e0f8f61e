"""`/publish/audit`: the audit log for admins, newest first, filtered by action or by
release, paged by id (docs/pages.md#the-audit-log). Everyone else gets 403.

The page shows what `feedsvc audit` prints; both read `store.audit`.
"""

from __future__ import annotations

from flask import Response, request, url_for

from feedsvc import db
from feedsvc.models import AuditEvent
from feedsvc.store import audit
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import MAX_ROW_ID, admin_only
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import private_page

blueprint = desk.blueprint("desk_audit", __name__)

PAGE_SIZE = 100
ACTION_LABELS = {
    "release.published": "Veröffentlicht",
    "release.corrected": "Korrigiert",
    "release.rescheduled": "Sperrfrist geändert",
    "release.retracted": "Zurückgezogen",
    "draft.saved": "Entwurf gespeichert",
    "draft.deleted": "Entwurf gelöscht",
    "preview.created": "Vorschau-Link erstellt",
    "preview.revoked": "Vorschau-Link widerrufen",
    "media.uploaded": "Datei hochgeladen",
    "user.signed_in": "Angemeldet",
    "user.signed_out": "Abgemeldet",
    "user.created": "Benutzer angelegt",
    "user.changed": "Benutzer geändert",
    "token.created": "Token erstellt",
    "token.revoked": "Token widerrufen",
    "catalog.changed": "Katalog geändert",
    "webhook.created": "Webhook angelegt",
    "webhook.removed": "Webhook gelöscht",
    "webhook.enabled": "Webhook aktiviert",
    "webhook.disabled": "Webhook deaktiviert",
    "webhook.redelivered": "Webhook erneut gesendet",
}
ACTOR_LABELS = {"user": "Benutzer", "token": "Token", "command": "Befehl"}


def _number(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ROW_ID else None


@blueprint.get("/audit")
@admin_only
def audit_log(signed: SignedIn) -> Response:
    action = request.args.get("action", "")
    chosen_action = action if action in audit.ACTIONS else None
    release_id = _number("release")
    where = audit.AuditFilter(
        action=chosen_action,
        subject=audit.Subject("release", release_id) if release_id is not None else None,
        before_id=_number("before"),
    )
    rows = audit.entries(db.session(), where, PAGE_SIZE + 1)
    return private_page(
        "publish/audit.html",
        head=desk.head("Protokoll"),
        entries=[(row, audit.detail_of(row)) for row in rows[:PAGE_SIZE]],
        older=_older(rows, chosen_action, release_id),
        action=chosen_action or "",
        release_id=release_id,
        action_labels=ACTION_LABELS,
        actor_labels=ACTOR_LABELS,
    )


def _older(rows: list[AuditEvent], action: str | None, release_id: int | None) -> str | None:
    if len(rows) <= PAGE_SIZE:
        return None
    return url_for("desk_audit.audit_log", action=action, release=release_id, before=rows[PAGE_SIZE - 1].id)
