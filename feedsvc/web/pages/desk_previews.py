"""Preview links in the desk: made and revoked for a draft (`/publish/drafts/<id>/preview`)
or a scheduled release (`/publish/<id>/preview`) (docs/pages.md#preview-links).

A link's secret is shown once, on the page that answers the POST making it: only its
SHA-256 is stored (`store.preview_links`). Links of a draft or release that the one
signed in may not see answer 404, as links that do not exist.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, flash

from feedsvc import db
from feedsvc.models import Draft, PreviewLink, Release
from feedsvc.store import preview_links
from feedsvc.store.drafts import visible_draft
from feedsvc.store.releases import release_by_id
from feedsvc.web import urls
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import MAX_ROW_ID, signed_in
from feedsvc.web.pages.desk_drafts import own_draft, title_of
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish import drafting
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("desk_previews", __name__)

NO_CITY = (
    "Eine Vorschau zeigt die Meldung so, wie ihre Seite in ihrer Stadt aussähe: Wählen Sie zuerst "
    "die Stadt und speichern Sie den Entwurf."
)
NOT_SCHEDULED = (
    "Vorschau-Links gibt es für Entwürfe und für geplante Meldungen. Diese Meldung ist schon "
    "veröffentlicht: Ihre Seite ist für alle sichtbar."
)


def preview_url(secret: str) -> str:
    return urls.absolute(f"/preview/{secret}")


def _lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PREVIEW_LINK_MAX_AGE"])


def german_duration(seconds: int) -> str:
    """How long a link opens, in whole units: "7 Tage", "1 Stunde", "90 Minuten"."""
    for unit, singular, plural in ((86400, "Tag", "Tage"), (3600, "Stunde", "Stunden")):
        if seconds % unit == 0:
            count = seconds // unit
            return f"{count} {singular if count == 1 else plural}"
    minutes = round(seconds / 60)
    return f"{minutes} {'Minute' if minutes == 1 else 'Minuten'}"


def _scheduled_release(signed: SignedIn, release_id: int) -> Release | Response:
    """A release of the signer's cities under embargo; other releases answer as the desk's pages do."""
    release = desk.own_release(signed, release_id)
    if isinstance(release, Response):
        return release
    if release.published_at <= now():
        return error_response(409, private=True, message=NOT_SCHEDULED)
    return release


def _page(target: Draft | Release, *, status: int = 200, secret: str = "", error: str = "") -> Response:
    is_draft = isinstance(target, Draft)
    return private_page(
        "publish/preview_links.html",
        status=status,
        head=desk.head("Vorschau-Links"),
        target=target,
        is_draft=is_draft,
        title=title_of(target) if isinstance(target, Draft) else target.title,
        links=preview_links.links_to(db.session(), target, now()),
        new_link=preview_url(secret) if secret else "",
        lifetime=german_duration(current_app.config["PREVIEW_LINK_MAX_AGE"]),
        error=error,
    )


def _created(signed: SignedIn, target: Draft | Release) -> Response:
    made = drafting().create_link(signed.writer, target, signed.name, _lifetime())
    if made is None:  # deleted meanwhile
        return error_response(404, private=True)
    _, secret = made
    return _page(target, secret=secret)


@blueprint.get("/drafts/<int:draft_id>/preview")
@signed_in
def draft_links(signed: SignedIn, draft_id: int) -> Response:
    draft = own_draft(signed, draft_id)
    return draft if isinstance(draft, Response) else _page(draft)


@blueprint.post("/drafts/<int:draft_id>/preview")
@signed_in
def create_draft_link(signed: SignedIn, draft_id: int) -> Response:
    draft = own_draft(signed, draft_id)
    if isinstance(draft, Response):
        return draft
    if draft.city_id is None:
        return _page(draft, status=422, error=NO_CITY)
    return _created(signed, draft)


@blueprint.get("/<int:release_id>/preview")
@signed_in
def release_links(signed: SignedIn, release_id: int) -> Response:
    release = _scheduled_release(signed, release_id)
    return release if isinstance(release, Response) else _page(release)


@blueprint.post("/<int:release_id>/preview")
@signed_in
def create_release_link(signed: SignedIn, release_id: int) -> Response:
    release = _scheduled_release(signed, release_id)
    return release if isinstance(release, Response) else _created(signed, release)


@blueprint.post("/preview-links/<int:link_id>/revoke")
@signed_in
def revoke(signed: SignedIn, link_id: int) -> Response:
    link = preview_links.link_by_id(db.session(), link_id) if link_id <= MAX_ROW_ID else None
    if link is None or not _may_see(signed, link):
        return error_response(404, private=True)
    draft_id, release_id = link.draft_id, link.release_id
    drafting().revoke_link(signed.writer, link)
    flash("Vorschau-Link widerrufen: Er öffnet nichts mehr.")
    if draft_id is not None:
        return desk.see_other("desk_previews.draft_links", draft_id=draft_id)
    return desk.see_other("desk_previews.release_links", release_id=release_id)


def _may_see(signed: SignedIn, link: PreviewLink) -> bool:
    """Whether the one signed in sees what the link shows (its draft, or its release's city)."""
    if link.draft_id is not None:
        return visible_draft(db.session(), signed.holder, link.draft_id) is not None
    release = release_by_id(db.session(), link.release_id) if link.release_id is not None else None
    return release is not None and signed.may_write(release.city)
