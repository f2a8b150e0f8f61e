"""Drafts and preview links of the desk: saving, deleting and publishing a draft, making and
revoking a preview link (docs/pages.md#drafts, docs/pages.md#preview-links).

Each write is a transaction of its own, begun with `db.begin_writing` (so that on SQLite what
the checks find still holds when the write commits), and leaves one entry in the audit log
(`store.audit`) in that same transaction. No request is read here: the caller passes who
writes (`Writer`, for the audit log and the cities they may write, and the user or token
behind it, whose drafts without a city are their own), `now` and the client's address.

A draft is identified by its form's submission key. Publishing that form publishes through
`Publishing.publish` with the key's external_id (so a double submit publishes once) and
deletes the draft in the same transaction; its preview links then open the release.
`revision` guards a draft against a save or publish from a form that was opened before
somebody else saved the draft again: such a write is refused (`DraftChanged`), unless it
sends exactly what the draft holds already (a form sent twice).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.db import begin_writing
from feedsvc.models import City, Draft, PreviewLink, Release, Token, User
from feedsvc.publishing.input import ReleaseIn, is_slug
from feedsvc.publishing.service import Conflict, Published, Publishing, Refused
from feedsvc.publishing.writers import Writer
from feedsvc.store import audit, catalog, drafts, preview_links

Outcome = TypeVar("Outcome")
# A save that lost the unique submission key to a concurrent one finds that draft when tried again.
SAVE_ATTEMPTS = 2


@dataclass(frozen=True)
class DraftContent:
    """What a draft holds: the slug of its city ("" for none yet), its title as plain text
    (for lists) and the form as JSON, as the desk's form writes it."""

    city: str
    title: str
    form: str


class DraftRefusal(enum.Enum):
    UNKNOWN_CITY = "unknown city"
    CITY_OUT_OF_SCOPE = "city out of scope"
    RETIRED_CITY = "retired city"
    # The submission key belongs to a draft the writer may not see (of a city no longer theirs).
    NOT_VISIBLE = "not visible"


@dataclass(frozen=True)
class DraftRefused:
    """Nothing was written."""

    reason: DraftRefusal


@dataclass(frozen=True)
class DraftChanged:
    """The draft was saved again since the form was opened (`draft` as it is now): nothing
    was written, so that nobody overwrites or publishes away a newer draft unseen."""

    draft: Draft


@dataclass(frozen=True)
class DraftSaved:
    draft: Draft
    # False when the form sent what the draft held already (sent twice): nothing was written.
    changed: bool


@dataclass(frozen=True)
class Drafting:
    """The writes of drafts and preview links on `session`, at `now`, from `address`."""

    session: Session
    now: datetime
    address: str = ""

    def save(
        self,
        writer: Writer,
        holder: User | Token,
        holder_name: str,
        submission_key: str,
        content: DraftContent,
        seen_revision: int | None,
    ) -> DraftSaved | DraftChanged | DraftRefused:
        """The draft of this submission key, made or saved with `content`.

        `seen_revision` is the revision the form was opened at (None: a new release's form).
        Two first saves of one form at the same moment (a double click) make one draft: the
        one that loses the unique key is tried again and finds the other's."""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                return self._save(writer, holder, holder_name, submission_key, content, seen_revision)
            except IntegrityError:
                self.session.rollback()
                if attempt == SAVE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(
        self,
        writer: Writer,
        holder: User | Token,
        holder_name: str,
        submission_key: str,
        content: DraftContent,
        seen_revision: int | None,
    ) -> DraftSaved | DraftChanged | DraftRefused:
        begin_writing(self.session)
        city = self._city(writer, content.city)
        if isinstance(city, DraftRefused):
            return self._nothing(city)
        draft = drafts.draft_with_key(self.session, submission_key, for_update=True)
        if draft is None:
            draft = drafts.create_draft(
                self.session,
                submission_key=submission_key,
                city=city,
                title=content.title,
                form=content.form,
                author=holder,
                author_name=holder_name,
                now=self.now,
            )
        else:
            if drafts.visible_draft(self.session, holder, draft.id) is None:
                return self._nothing(DraftRefused(DraftRefusal.NOT_VISIBLE))
            unchanged = draft.form == content.form and draft.city_id == (city.id if city else None)
            if unchanged:
                return self._nothing(DraftSaved(draft, changed=False))
            if seen_revision != draft.revision:
                return self._nothing(DraftChanged(draft))
            drafts.update_draft(
                self.session,
                draft,
                city=city,
                title=content.title,
                form=content.form,
                by=holder_name,
                now=self.now,
            )
        detail: audit.Detail = {
            "title": draft.title,
            "city": city.slug if city else None,
            "revision": draft.revision,
        }
        self._audit(writer, "draft.saved", audit.Subject("draft", draft.id), detail)
        self.session.commit()
        return DraftSaved(draft, changed=True)

    def delete(self, writer: Writer, holder: User | Token, draft_id: int) -> Draft | None:
        """Deletes the draft (and its preview links); None when `holder` sees no such draft."""
        begin_writing(self.session)
        draft = drafts.visible_draft(self.session, holder, draft_id)
        if draft is None:
            return self._nothing(None)
        detail: audit.Detail = {"title": draft.title, "revision": draft.revision}
        self._audit(writer, "draft.deleted", audit.Subject("draft", draft.id), detail)
        drafts.delete_draft(self.session, draft)
        self.session.commit()
        return draft

    def publish(
        self,
        publishing: Publishing,
        writer: Writer,
        holder: User | Token,
        data: ReleaseIn,
        submission_key: str,
        seen_revision: int | None,
    ) -> Published | Conflict | Refused | DraftChanged:
        """`data` published as `Publishing.publish` does, and the draft of its form (if there
        is one that `holder` sees) deleted in the same transaction, its preview links moved
        to the release. A form sent again answers as the first did, and deletes nothing more."""
        publishing = replace(publishing, within_callers_transaction=True)
        begin_writing(self.session)
        draft = (
            drafts.draft_with_key(self.session, submission_key, for_update=True) if submission_key else None
        )
        if draft is not None and drafts.visible_draft(self.session, holder, draft.id) is None:
            draft = None  # not theirs to delete; the release is published all the same
        if draft is not None and draft.revision != seen_revision:
            return self._nothing(DraftChanged(draft))
        outcome = publishing.publish(writer, data)
        if not isinstance(outcome, Published):
            return self._nothing(outcome)
        if draft is not None:
            preview_links.move_to_release(self.session, draft, outcome.release)
            published: audit.Detail = {
                "title": draft.title,
                "revision": draft.revision,
                "published_as": outcome.release.id,
            }
            self._audit(writer, "draft.deleted", audit.Subject("draft", draft.id), published)
            drafts.delete_draft(self.session, draft)
        self.session.commit()
        return outcome

    def create_link(
        self, writer: Writer, target: Draft | Release, holder_name: str, lifetime: timedelta
    ) -> tuple[PreviewLink, str] | None:
        """A new preview link to `target` (which the caller checked `writer` may see) and its
        secret, shown this once; None when `target` was deleted meanwhile."""
        kind, target_id = ("draft", target.id) if isinstance(target, Draft) else ("release", target.id)
        begin_writing(self.session)  # expires `target`: it is read again, if it is still there
        current: Draft | Release | None = (
            self.session.get(Draft, target_id) if kind == "draft" else self.session.get(Release, target_id)
        )
        if current is None:
            return self._nothing(None)
        link, secret = preview_links.create_link(
            self.session, current, created_by=holder_name, now=self.now, lifetime=lifetime
        )
        detail: audit.Detail = {"link": link.id, "expires_at": link.expires_at.isoformat()}
        self._audit(writer, "preview.created", audit.Subject(kind, target_id), detail)
        self.session.commit()
        return link, secret

    def revoke_link(self, writer: Writer, link: PreviewLink) -> None:
        """The link opens nothing from now on."""
        kind, target_id = (
            ("draft", link.draft_id) if link.draft_id is not None else ("release", link.release_id)
        )
        link_id = link.id
        begin_writing(self.session)
        found = preview_links.link_by_id(self.session, link_id)
        if found is None:  # revoked meanwhile: that is what was asked
            self.session.rollback()
            return
        assert target_id is not None
        self._audit(writer, "preview.revoked", audit.Subject(kind, target_id), {"link": link_id})
        preview_links.revoke(self.session, found)
        self.session.commit()

    # --- helpers ------------------------------------------------------------------------------------

    def _city(self, writer: Writer, slug: str) -> City | DraftRefused | None:
        if not slug:
            return None
        city = catalog.city_named(self.session, slug) if is_slug(slug) else None
        if city is None:
            return DraftRefused(DraftRefusal.UNKNOWN_CITY)
        if not writer.may_write(city):
            return DraftRefused(DraftRefusal.CITY_OUT_OF_SCOPE)
        if city.is_retired:
            return DraftRefused(DraftRefusal.RETIRED_CITY)
        return city

    def _nothing(self, outcome: Outcome) -> Outcome:
        """Ends the transaction, which wrote nothing (on SQLite: frees the write lock)."""
        self.session.rollback()
        return outcome

    def _audit(self, writer: Writer, action: str, subject: audit.Subject, detail: audit.Detail) -> None:
        audit.record(
            self.session,
            at=self.now,
            actor=writer.actor,
            action=action,
            subject=subject,
            detail=detail,
            address=self.address,
        )
