"""`/publish`: press officers, signed in with an account or an API token
(`desk_sign_in`), list, create, correct and retract the releases of their cities
(docs/pages.md#publishing-in-the-browser).

Every POST must carry the session's CSRF secret; every response is private and
never stored (`desk`). Writes are `feedsvc.publishing.service`'s, the API's own
rules, by the writer of whoever is signed in (`publishing.writers`); here their
outcomes become pages, messages in German on the form or flashed.

A new release's form publishes once however often it is sent: its submission key
is the release's external_id, and a repeat is answered like the first success.
The same key names the form's draft (`desk_drafts`, "Als Entwurf speichern"), which
publishing the form deletes in the same transaction (`publishing.drafts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, current_app, flash, request, url_for
from pydantic import ValidationError

from feedsvc import db, paths
from feedsvc.models import City, Draft, Release, Topic
from feedsvc.publishing.drafts import DraftChanged, Drafting
from feedsvc.publishing.input import MAX_REASON_CHARS, RetractionIn
from feedsvc.publishing.service import Conflict, ConflictReason, Publishing, RefusalKind, Refused
from feedsvc.store import catalog
from feedsvc.store.browse import releases_in_cities
from feedsvc.store.drafts import draft_with_key, visible_draft, visible_drafts
from feedsvc.store.releases import was_public
from feedsvc.store.scope import Cursor, decode_cursor, encode_cursor
from feedsvc.web.auth import client_address
from feedsvc.web.media import accepts_uploads
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import signed_in
from feedsvc.web.pages.desk_sign_in import sign_in_page
from feedsvc.web.pages.desk_uploads import naming_uploads, take_uploads
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish_form import (
    ACTION_FIELD,
    ReleaseForm,
    apply_errors,
    check_timing,
    empty_form,
    field_labels,
    form_from_release,
    form_from_request,
    new_submission_key,
    parse_change,
    parse_new,
)
from feedsvc.web.pages.publish_messages import (
    OUT_OF_SCOPE,
    already_published_message,
    conflict_message,
    draft_changed_message,
    published_message,
)
from feedsvc.web.pages.publish_session import SignedIn, current
from feedsvc.web.pages.release import embargoed_page
from feedsvc.web.pages.responses import now, private_page

blueprint = desk.blueprint("publish", __name__)

LIST_LIMIT = 50
# The drafts the list shows, the most recently saved first.
DRAFT_LIST_LIMIT = 100
# Refusals of the release itself are answered with an error page, as when it is opened.
_STATUS_OF_RELEASE_REFUSAL = {
    RefusalKind.NO_SUCH_RELEASE: 404,
    RefusalKind.RELEASE_OUT_OF_SCOPE: 403,
    RefusalKind.RETRACTED: 410,
}


def _publishing() -> Publishing:
    return Publishing(
        db.session(),
        now=now(),
        tag_authority=current_app.config["TAG_AUTHORITY"],
        address=client_address(),
    )


def drafting() -> Drafting:
    """The writes of drafts and preview links, for whoever asks from this request's address."""
    return Drafting(db.session(), now=now(), address=client_address())


def new_release_form_page(signed: SignedIn, form: ReleaseForm, status: int = 200) -> Response:
    """The form of a new release, or of the draft its submission key saved (`desk_drafts`)."""
    return _form_page(signed, form, status=status)


def _form_page(
    signed: SignedIn,
    form: ReleaseForm,
    release: Release | None = None,
    status: int = 200,
    earlier: Release | None = None,
) -> Response:
    draft = _draft_of(signed, form) if release is None else None
    title = "Neue Pressemitteilung" if release is None else "Pressemitteilung bearbeiten"
    if draft is not None:
        title = "Entwurf bearbeiten"
    if release is None and not form.submission_key:
        # A POST from a page without a key (opened before keys existed) is shown again with
        # one, so that from now on sending it twice publishes once.
        form.submission_key = new_submission_key()
    return private_page(
        "publish/form.html",
        status=status,
        head=desk.head(title),
        heading=title,
        form=form,
        release=release,
        draft=draft,
        earlier=earlier,
        cities=_offered_cities(signed.writable_cities(), release),
        topics=_offered_topics(release),
        labels=field_labels(form),
    )


def _draft_of(signed: SignedIn, form: ReleaseForm) -> Draft | None:
    """The saved draft a form was opened from, if the one signed in sees it."""
    if form.draft_revision is None or not form.submission_key:
        return None
    draft = draft_with_key(db.session(), form.submission_key)
    return draft if draft is not None and visible_draft(db.session(), signed.holder, draft.id) else None


def _offered_cities(cities: Sequence[City], release: Release | None) -> list[City]:
    """The cities the form offers: a retired one takes no new releases, but a release of it
    keeps it when corrected."""
    return [
        city for city in cities if not city.is_retired or (release is not None and city.id == release.city_id)
    ]


def _offered_topics(release: Release | None) -> list[Topic]:
    """The topics the form offers: those not retired, and the retired ones a release keeps."""
    kept = [topic for topic in release.topics if topic.is_retired] if release is not None else []
    return sorted([*catalog.topics(db.session()), *kept], key=lambda topic: topic.name)


def _show_refusal(form: ReleaseForm, refused: Refused) -> None:
    """Puts a refusal of the city or topics the form names next to those fields."""
    if refused.kind is RefusalKind.CITY_OUT_OF_SCOPE:
        form.add_error("city", OUT_OF_SCOPE)
    else:
        apply_errors(form, refused.errors)


def _release_refused(refused: Refused) -> Response:
    return error_response(_STATUS_OF_RELEASE_REFUSAL[refused.kind], private=True)


@blueprint.get("")
def dashboard() -> Response:
    signed = current()
    if signed is None:
        return sign_in_page()
    after = decode_cursor(request.args.get("after", ""))
    cities = signed.writable_cities()
    city_ids = None if signed.is_admin else [city.id for city in cities]
    rows = releases_in_cities(db.session(), city_ids, LIST_LIMIT + 1, after)
    return private_page(
        "publish/list.html",
        head=desk.head("Ihre Pressemitteilungen"),
        cities=cities,
        # Drafts head the first page only; older pages go on with releases.
        drafts=[] if after else visible_drafts(db.session(), signed.holder, DRAFT_LIST_LIMIT),
        releases=rows[:LIST_LIMIT],
        older=_older_page(rows),
        now=now(),
    )


def _older_page(rows: list[Release]) -> str | None:
    if len(rows) <= LIST_LIMIT:
        return None
    last = rows[LIST_LIMIT - 1]
    return url_for("publish.dashboard", after=encode_cursor(Cursor(last.published_at, last.id)))


@blueprint.get("/new")
@signed_in
def new_form(signed: SignedIn) -> Response:
    cities = signed.writable_cities()
    return _form_page(signed, empty_form(cities[0].slug if len(cities) == 1 else ""))


@blueprint.post("/new")
@accepts_uploads
@signed_in
def create(signed: SignedIn) -> Response:
    form = form_from_request(request.form, files=request.files)
    # Files sent with the form are uploaded first: their rows name the uploads from now on.
    take_uploads(form, request.files, signed.writer)
    # "Planen" and "Jetzt veröffentlichen" each check the time against what they promise.
    check_timing(form, request.form.get(ACTION_FIELD, ""), now())
    data = naming_uploads(form, parse_new(form), signed.writer)
    if data is None or form.errors:
        return _form_page(signed, form, status=422)  # keeps its key: corrected and sent, still one form
    # Its submission key is the external_id: the service answers a form sent again (a double
    # click racing itself included) with the release it made the first time. The form's
    # draft, if it was saved as one, goes in the same transaction.
    outcome = drafting().publish(
        _publishing(), signed.writer, signed.holder, data, form.submission_key, form.draft_revision
    )
    if isinstance(outcome, DraftChanged):
        # 409: the draft was saved again since this form was opened. The form comes back as it
        # was typed, now at the draft's revision: sending it once more, knowingly, wins.
        form.add_error("", draft_changed_message(outcome.draft))
        form.draft_revision = outcome.draft.revision
        return _form_page(signed, form, status=409)
    if isinstance(outcome, Refused):
        _show_refusal(form, outcome)
        return _form_page(signed, form, status=422)
    if isinstance(outcome, Conflict):
        return _conflict_answer(signed, form, outcome)
    if outcome.created:
        flash(published_message(outcome.release, now()))
    else:
        # Answered exactly as the first POST was: to the list, which shows the release once.
        flash(already_published_message(outcome.release))
    return desk.see_other("publish.dashboard")


def _conflict_answer(signed: SignedIn, form: ReleaseForm, conflict: Conflict) -> Response:
    """The answer to a changed form whose submission key made a release, or whose release was
    retracted since. 409, not 422: every field is valid, the submission conflicts with the
    release its key already made (the API's status for the same case). The form comes back
    with what was typed and a fresh key, so sending it once more, knowingly, publishes it as a
    release of its own (and only once)."""
    form.add_error("", conflict_message(conflict))
    form.submission_key = new_submission_key()
    existing = conflict.existing if conflict.reason is ConflictReason.OTHER_CONTENT else None
    return _form_page(signed, form, status=409, earlier=existing)


@blueprint.get("/<int:release_id>/edit")
@signed_in
def edit_form(signed: SignedIn, release_id: int) -> Response:
    release = desk.own_release(signed, release_id)
    if isinstance(release, Response):
        return release
    return _form_page(signed, form_from_release(release), release)


@blueprint.post("/<int:release_id>/edit")
@accepts_uploads
@signed_in
def update(signed: SignedIn, release_id: int) -> Response:
    release = desk.own_release(signed, release_id)
    if isinstance(release, Response):
        return release
    form = form_from_request(
        request.form, {image.url: image.length for image in release.images}, request.files
    )
    take_uploads(form, request.files, signed.writer)
    patch = naming_uploads(form, parse_change(form, release), signed.writer)
    if patch is None or form.errors:
        return _form_page(signed, form, release, status=422)
    outcome = _publishing().correct(signed.writer, release_id, patch)
    if isinstance(outcome, Refused):
        if outcome.kind in _STATUS_OF_RELEASE_REFUSAL:  # changed meanwhile
            return _release_refused(outcome)
        _show_refusal(form, outcome)
        return _form_page(signed, form, release, status=422)
    flash(f"Gespeichert: {outcome.release.title}")
    return desk.see_other("publish.dashboard")


@blueprint.get("/<int:release_id>/view")
@signed_in
def view(signed: SignedIn, release_id: int) -> Response:
    """The press office's own look at a release: under embargo, its page marked SPERRFRIST
    (seen by nobody else); once public, the public page itself."""
    release = desk.own_release(signed, release_id)
    if isinstance(release, Response):
        return release
    if was_public(release, now()):
        return Response(status=303, headers={"Location": paths.release_path(release)})
    return embargoed_page(release)


@blueprint.get("/<int:release_id>/retract")
@signed_in
def retract_form(signed: SignedIn, release_id: int) -> Response:
    release = desk.own_release(signed, release_id)
    if isinstance(release, Response):
        return release
    return _retract_page(release)


def _retract_page(release: Release, reason: str = "", error: str = "", status: int = 200) -> Response:
    return private_page(
        "publish/retract.html",
        status=status,
        head=desk.head("Zurückziehen"),
        release=release,
        reason=reason,
        error=error,
    )


@blueprint.post("/<int:release_id>/retract")
@signed_in
def retract(signed: SignedIn, release_id: int) -> Response:
    release = desk.own_release(signed, release_id)  # answered as its pages are: 403 before 410
    if isinstance(release, Response):
        return release
    typed = request.form.get("reason", "")
    try:
        retraction = RetractionIn.model_validate({"reason": typed})
    except ValidationError:
        message = f"Der Grund darf höchstens {MAX_REASON_CHARS} Zeichen lang sein."
        return _retract_page(release, typed, message, status=422)
    outcome = _publishing().retract(signed.writer, release_id, retraction.given_reason)
    if isinstance(outcome, Refused):  # changed meanwhile
        return _release_refused(outcome)
    flash(f"Zurückgezogen: {outcome.release.title}")
    return desk.see_other("publish.dashboard")
