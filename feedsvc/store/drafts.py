"""Drafts of the desk: releases being written, never published (docs/pages.md#drafts).

A draft is no release: it is a row of `drafts`, which nothing public reads. Who sees a
draft is one rule (`_visible_to`): a draft for a city is visible to whoever may write
that city (`store.write_access`), a draft without a city only to its author. What a
draft holds (`Draft.form`, JSON) is the form's business; the store keeps it as given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, false, or_, select
from sqlalchemy.orm import Session

from feedsvc.models import City, Draft, Release, Token, User
from feedsvc.store.write_access import writes_at_all, writes_every_city

TITLE_LENGTH = 300
NAME_LENGTH = 300


def _visible_to(holder: User | Token) -> ColumnElement[bool]:
    if not writes_at_all(holder):
        return false()
    if writes_every_city(holder):
        of_a_city: ColumnElement[bool] = Draft.city_id.is_not(None)
    else:
        of_a_city = Draft.city_id.in_([city.id for city in holder.cities])
    return or_(of_a_city, and_(Draft.city_id.is_(None), _authored_by(holder)))


def _authored_by(holder: User | Token) -> ColumnElement[bool]:
    if isinstance(holder, User):
        return Draft.created_by_user_id == holder.id
    return Draft.created_by_token_id == holder.id


def visible_drafts(session: Session, holder: User | Token, limit: int) -> list[Draft]:
    """The drafts `holder` may see, the most recently saved first."""
    query = select(Draft).where(_visible_to(holder))
    return list(session.scalars(query.order_by(Draft.updated_at.desc(), Draft.id.desc()).limit(limit)))


def visible_draft(session: Session, holder: User | Token, draft_id: int) -> Draft | None:
    """The draft with this id, if `holder` may see it (None: unknown, or not theirs to see)."""
    return session.scalars(select(Draft).where(Draft.id == draft_id, _visible_to(holder))).one_or_none()


def draft_with_key(session: Session, submission_key: str, *, for_update: bool = False) -> Draft | None:
    """The draft a form with this submission key saved, whoever may see it; `for_update`
    locks its row until the transaction ends (PostgreSQL; SQLite's writer holds the file)."""
    query = select(Draft).where(Draft.submission_key == submission_key)
    # OF drafts: the city is joined in (outer), which PostgreSQL does not lock.
    return session.scalars(query.with_for_update(of=Draft) if for_update else query).one_or_none()


def create_draft(
    session: Session,
    *,
    submission_key: str,
    city: City | None,
    title: str,
    form: str,
    author: User | Token,
    author_name: str,
    now: datetime,
) -> Draft:
    draft = Draft(
        submission_key=submission_key,
        city_id=city.id if city is not None else None,
        title=title[:TITLE_LENGTH],
        form=form,
        revision=1,
        created_by_user_id=author.id if isinstance(author, User) else None,
        created_by_token_id=author.id if isinstance(author, Token) else None,
        created_by=author_name[:NAME_LENGTH],
        updated_by=author_name[:NAME_LENGTH],
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    return draft


def update_draft(
    session: Session, draft: Draft, *, city: City | None, title: str, form: str, by: str, now: datetime
) -> Draft:
    """The draft with new content, as its next revision."""
    draft.city_id = city.id if city is not None else None
    draft.title = title[:TITLE_LENGTH]
    draft.form = form
    draft.revision += 1
    draft.updated_by = by[:NAME_LENGTH]
    draft.updated_at = now
    session.flush()
    session.refresh(draft, ["city"])
    return draft


def delete_draft(session: Session, draft: Draft) -> None:
    """Deletes the draft, and with it its preview links (ON DELETE CASCADE); a draft deleted
    meanwhile is no error."""
    session.execute(delete(Draft).where(Draft.id == draft.id))
    session.expunge(draft)


def release_with_external_id(session: Session, external_id: str) -> Release | None:
    """The release a publish with this external_id made (form keys are random: one at most)."""
    query = select(Release).where(Release.external_id == external_id).order_by(Release.id)
    return session.scalars(query.limit(1)).first()
