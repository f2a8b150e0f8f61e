"""Publishing from the form with exactly the rules of the API: the same pydantic
models validate and sanitise, the same store functions resolve cities and topics
and write, the same scope check decides who may publish where.

Nothing here commits: the view does, once everything has worked.

A new release from a form that was posted before (same submission key, hence
same external_id, same press office) is not created again: the earlier release
is handed back (`PriorRelease`, the API's retry rule) for the view to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher, Release, Token
from feedsvc.schemas import ReleaseIn, ReleasePatch, field_errors
from feedsvc.store import catalog
from feedsvc.store.releases import (
    PriorRelease,
    References,
    create_release,
    prior_release,
    resolve_references,
    update_release,
)
from feedsvc.store.tokens import may_write_city
from feedsvc.web.pages.publish_form import ReleaseForm, apply_errors, release_fields

OUT_OF_SCOPE = "Für diese Stadt dürfen Sie nicht veröffentlichen."
ALREADY_PUBLISHED = (
    "Bereits veröffentlicht: {title}. Das Formular wurde mehrfach gesendet, die Meldung erscheint nur einmal."
)
OTHER_CONTENT = (
    "Dieses Formular wurde bereits als „{title}“ veröffentlicht, damals mit anderem Inhalt. "
    "Es wurde nichts gespeichert. Bitte korrigieren Sie die veröffentlichte Meldung. "
    "Nur wenn Sie eine weitere, eigene Pressemitteilung veröffentlichen wollen, "
    "senden Sie das Formular noch einmal."
)
RETRACTED = (
    "Dieses Formular wurde bereits als „{title}“ veröffentlicht; die Meldung ist inzwischen zurückgezogen. "
    "Es wurde nichts gespeichert. Wenn Sie sie als neue Pressemitteilung veröffentlichen wollen, "
    "senden Sie das Formular noch einmal."
)


def repeat_message(prior: PriorRelease) -> str:
    """What a press officer is told when the form they sent had made a release before."""
    if prior.is_retry:
        return ALREADY_PUBLISHED.format(title=prior.release.title)
    template = RETRACTED if prior.release.retracted_at is not None else OTHER_CONTENT
    return template.format(title=prior.release.title)


def writable_cities(session: Session, token: Token) -> Sequence[City]:
    return catalog.cities(session) if token.role == "admin" else token.cities


def publisher_for(session: Session, token: Token, city: City, now: datetime) -> Publisher:
    if token.publisher is not None:
        return token.publisher
    # As in the API: an admin token publishes in the name of the city's own press office.
    return catalog.office_of_city(session, city, now)


def _references(
    session: Session, token: Token, form: ReleaseForm, city: str, topics: list[str]
) -> References | None:
    refs = resolve_references(session, city, topics)
    if not isinstance(refs, References):
        apply_errors(form, refs)
        return None
    if not may_write_city(token, refs.city):
        form.add_error("city", OUT_OF_SCOPE)
        return None
    return refs


def parse_new(form: ReleaseForm) -> ReleaseIn | None:
    """The form as a new release, or None with the errors put on the form."""
    try:
        return ReleaseIn.model_validate(release_fields(form))
    except ValidationError as error:
        apply_errors(form, field_errors(error))
        return None


def parse_change(form: ReleaseForm, release: Release) -> ReleasePatch | None:
    """The form as a change to `release`, or None with the errors put on the form."""
    try:
        return ReleasePatch.model_validate(release_fields(form, original=release))
    except ValidationError as error:
        apply_errors(form, field_errors(error))
        return None


def create_from_input(
    session: Session, token: Token, form: ReleaseForm, data: ReleaseIn, now: datetime, tag_authority: str
) -> Release | PriorRelease | None:
    """The new release; the earlier one when this form was sent before; or None when
    its city or topics are refused (errors on the form).

    Checked in the same transaction as the insert, but two POSTs can still both find
    nothing (PostgreSQL): the loser's insert then fails on the unique constraint
    of (publisher, external_id) with an IntegrityError, and the view tries again.
    """
    refs = _references(session, token, form, data.city, data.topics)
    if refs is None:
        return None
    publisher = publisher_for(session, token, refs.city, now)
    if (prior := prior_release(session, publisher, data)) is not None:
        return prior
    return create_release(
        session, publisher=publisher, data=data, refs=refs, now=now, tag_authority=tag_authority
    )


def update_from_input(
    session: Session, token: Token, release: Release, form: ReleaseForm, patch: ReleasePatch, now: datetime
) -> Release | None:
    """The changed release, or None when its city or topics are refused (errors on the form)."""
    refs = _references(session, token, form, patch.city or release.city.slug, patch.topics or [])
    if refs is None:
        return None
    return update_release(session, release, patch, refs, now)
