"""One release as an IPTC ninjs document: `/releases/<id>-<slug>.ninjs.json`, beside its page.

For newsroom systems that take releases one by one; every ninjs feed item names it as its
"ninjs" rendition. It answers as the release page does (`release.py`):

- an id nobody could see yet (under embargo, or retracted before its instant) answers
  byte for byte as an id that never existed: the 404 page;
- a release retracted after it was public answers 410 with its canceled ninjs item;
- `/releases/<id>.ninjs.json` and other slugs redirect (301) to the canonical URL;
- the document is cached and validated like the page: an ETag of its bytes, a public
  max-age on the expiry grid, the page's subject keys, and a Last-Modified that moves with
  every public change of it (the last change of its city or of the catalog).

A journalist token (as for feeds, docs/feeds.md#journalists-embargoed-releases) shows a
release under embargo early, with `embargoedUntil`; such answers are private, never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, request
from sqlalchemy import Connection

from feedsvc import db, paths
from feedsvc.formats import NINJS
from feedsvc.formats.model import Entry
from feedsvc.formats.ninjs import MEDIA_TYPE, render_canceled, render_release
from feedsvc.models import Release
from feedsvc.publishing.entries import tombstone_of
from feedsvc.store import changes
from feedsvc.store.changes import from_micros
from feedsvc.store.keys import ALL_KEY, CATALOG_KEY, release_key, scope_key
from feedsvc.store.releases import release_by_id, was_public
from feedsvc.store.scope import Scope
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, surrogate_keys
from feedsvc.web.feeds.content import entry_of
from feedsvc.web.feeds.views import journalist_refusal
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.redirects import moved_to
from feedsvc.web.pages.release import MAX_RELEASE_ID, page_subjects
from feedsvc.web.pages.responses import now, page_max_age, public_document

blueprint = Blueprint("release_ninjs", __name__)

# Ids past what the database can hold are no match here: the release page answers them (404).
_RELEASE_ID = f"<int(max={MAX_RELEASE_ID}):release_id>"
PRIVATE = "private, no-store"


@blueprint.get(f"/releases/{_RELEASE_ID}.{NINJS}")
@blueprint.get(f"/releases/{_RELEASE_ID}-<slug>.{NINJS}")
def release_document(release_id: int, slug: str | None = None) -> Response:
    if "Authorization" in request.headers:
        return _for_journalist(release_id)
    session = db.session()
    # The release and the counters its Last-Modified comes from, read in one snapshot.
    snapshot = db.snapshot(session)
    release = release_by_id(session, release_id)
    if release is None or not was_public(release, now()):
        # As the release page: publishing at the embargo instant purges "all" and the
        # release's key, and the 404 ends on the expiry grid.
        return error_response(404, subjects=[ALL_KEY, release_key(release_id)])
    subjects = page_subjects(release)
    if release.retracted_at is not None:
        return _retracted(release, subjects)
    canonical = paths.release_ninjs_path(release)
    if request.path != canonical:
        return moved_to(canonical)
    entry = entry_of(release)
    last_modified = _last_change(snapshot, release, entry)
    return public_document(
        lambda: render_release(entry), mimetype=MEDIA_TYPE, subjects=subjects, last_modified=last_modified
    )


def _last_change(snapshot: Connection, release: Release, entry: Entry) -> datetime:
    """When the document last changed for the public: every write to a release bumps its
    city's counter, a change of a name the catalog's; neither moves before an embargo lifts."""
    keys = [scope_key(Scope(city_id=release.city_id)), CATALOG_KEY]
    changed = max(state.changed_us for state in changes.states(snapshot, keys).values())
    content = entry.updated.astimezone(UTC)
    return max(from_micros(changed), content) if changed else content


def _retracted(release: Release, subjects: list[str] | None) -> Response:
    """410 with the release's canceled ninjs item: cached like the 410 page for `subjects`,
    private without them."""
    tombstone = tombstone_of(release)
    assert tombstone is not None
    response = Response(render_canceled(tombstone), status=410, mimetype=MEDIA_TYPE)
    if subjects is None:
        response.headers["Cache-Control"] = PRIVATE
    else:
        response.headers["Cache-Control"] = f"public, max-age={page_max_age()}"
        response.headers[SURROGATE_KEY_HEADER] = surrogate_keys([*subjects, CATALOG_KEY])
    return response


def _for_journalist(release_id: int) -> Response:
    """A release under embargo too, marked; what the public cannot see stays unknown."""
    refusal = journalist_refusal()
    if refusal is not None:
        return refusal
    moment = now()
    release = release_by_id(db.session(), release_id)
    if release is None or (release.retracted_at is not None and not was_public(release, moment)):
        return error_response(404, private=True)
    if release.retracted_at is not None:
        return _retracted(release, None)
    canonical = paths.release_ninjs_path(release)
    if request.path != canonical:
        return Response(status=301, headers={"Location": canonical, "Cache-Control": PRIVATE})
    response = Response(render_release(entry_of(release, embargo_now=moment)), mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = PRIVATE
    response.headers["Vary"] = "Authorization"
    response.add_etag()
    response.make_conditional(request)
    return response
