"""`/publish/drafts`: saving the publish form as a draft, opening a draft again, deleting one
(docs/pages.md#drafts).

"Als Entwurf speichern" posts the new release's form here (its button's `formaction`); the
form's submission key names the draft, so saving it again saves the same draft, and
"Planen" or "Jetzt veröffentlichen" on it publishes it (`publish.create`) and deletes it.
A draft of a city nobody signed in may write, or somebody else's draft without a city,
answers 404, as an id that does not exist.
"""

from __future__ import annotations

from flask import Response, flash, request

from feedsvc import db
from feedsvc.models import Draft
from feedsvc.publishing.drafts import DraftChanged, DraftRefusal, DraftRefused, DraftSaved
from feedsvc.store.drafts import visible_draft
from feedsvc.web.pages import desk
from feedsvc.web.pages.desk import MAX_ROW_ID, signed_in
from feedsvc.web.pages.desk_uploads import only_file_errors, take_uploads
from feedsvc.web.pages.draft_form import draft_content, form_of_draft
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.publish import drafting, new_release_form_page
from feedsvc.web.pages.publish_form import ReleaseForm, form_from_request, new_submission_key
from feedsvc.web.pages.publish_messages import OUT_OF_SCOPE, draft_changed_message
from feedsvc.web.pages.publish_session import SignedIn
from feedsvc.web.pages.responses import private_page

blueprint = desk.blueprint("desk_drafts", __name__)

UNTITLED = "(ohne Titel)"
_CITY_REFUSALS = {
    DraftRefusal.UNKNOWN_CITY: "Unbekannte Stadt „{city}“.",
    DraftRefusal.CITY_OUT_OF_SCOPE: OUT_OF_SCOPE,
    DraftRefusal.RETIRED_CITY: "Für „{city}“ erscheinen keine neuen Pressemitteilungen mehr.",
}


def own_draft(signed: SignedIn, draft_id: int) -> Draft | Response:
    """The draft with this id if the one signed in sees it; else 404, as for no draft at all."""
    draft = visible_draft(db.session(), signed.holder, draft_id) if draft_id <= MAX_ROW_ID else None
    return draft if draft is not None else error_response(404, private=True)


def title_of(draft: Draft) -> str:
    return draft.title or UNTITLED


@blueprint.post("/drafts")
@signed_in
def save(signed: SignedIn) -> Response:
    form = form_from_request(request.form, files=request.files)
    if not form.submission_key:
        form.submission_key = new_submission_key()  # a POST not made by the form: a draft of its own
    # As when the form is published: files become uploads, which the draft's rows then name.
    take_uploads(form, request.files, signed.writer)
    only_file_errors(form)
    content = draft_content(form) if not form.errors else None
    if content is None:
        return new_release_form_page(signed, form, status=422)
    outcome = drafting().save(
        signed.writer, signed.holder, signed.name, form.submission_key, content, form.draft_revision
    )
    if isinstance(outcome, DraftRefused):
        return _refused(signed, form, outcome)
    if isinstance(outcome, DraftChanged):
        # 409: saved again meanwhile. What was typed comes back at the draft's revision, so that
        # saving it once more, knowingly, replaces the newer draft.
        form.add_error("", draft_changed_message(outcome.draft))
        form.draft_revision = outcome.draft.revision
        return new_release_form_page(signed, form, status=409)
    flash(_saved_message(outcome))
    return desk.see_other("desk_drafts.edit", draft_id=outcome.draft.id)


def _saved_message(saved: DraftSaved) -> str:
    # A form sent twice is answered as the first time: the draft is saved.
    return f"Entwurf gespeichert: {title_of(saved.draft)}"


def _refused(signed: SignedIn, form: ReleaseForm, refused: DraftRefused) -> Response:
    if refused.reason is DraftRefusal.NOT_VISIBLE:
        return error_response(404, private=True)
    form.add_error("city", _CITY_REFUSALS[refused.reason].format(city=form.value("city")))
    return new_release_form_page(signed, form, status=422)


@blueprint.get("/drafts/<int:draft_id>")
@signed_in
def edit(signed: SignedIn, draft_id: int) -> Response:
    draft = own_draft(signed, draft_id)
    if isinstance(draft, Response):
        return draft
    return new_release_form_page(signed, form_of_draft(draft))


@blueprint.get("/drafts/<int:draft_id>/delete")
@signed_in
def delete_form(signed: SignedIn, draft_id: int) -> Response:
    draft = own_draft(signed, draft_id)
    if isinstance(draft, Response):
        return draft
    return private_page(
        "publish/draft_delete.html", head=desk.head("Entwurf löschen"), draft=draft, title=title_of(draft)
    )


@blueprint.post("/drafts/<int:draft_id>/delete")
@signed_in
def delete(signed: SignedIn, draft_id: int) -> Response:
    if draft_id > MAX_ROW_ID:
        return error_response(404, private=True)
    deleted = drafting().delete(signed.writer, signed.holder, draft_id)
    if deleted is None:
        return error_response(404, private=True)
    flash(f"Entwurf gelöscht: {title_of(deleted)}")
    return desk.see_other("publish.dashboard")
