"""The page of one release: `/releases/<id>-<slug>`, the only URL it is shown at.

`/releases/<id>` and outdated slugs (the title changed) redirect there for good.
A release nobody could see yet (under embargo, or retracted before its instant)
does not exist: its id is answered byte for byte as an id that never existed, so
the answer tells nobody that something is scheduled. A release retracted after it
was public is gone (410).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, request

from feedsvc import db, paths
from feedsvc.media.renditions import FEED
from feedsvc.models import Release
from feedsvc.publishing.entries import shown
from feedsvc.store.browse import related_visible
from feedsvc.store.keys import ALL_KEY, release_key, scope_key
from feedsvc.store.releases import release_by_id, was_public
from feedsvc.store.revisions import versions
from feedsvc.store.scope import Scope
from feedsvc.store.write_access import may_write_city
from feedsvc.web import urls
from feedsvc.web.auth import feed_reader_token
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, surrogate_keys
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head, feed_links
from feedsvc.web.pages.jsonld import news_article, script_json
from feedsvc.web.pages.responses import PUBLIC_MAX_AGE, now, private_page, public_page
from feedsvc.web.pages.versions import changes_between, corrections, public_history

blueprint = Blueprint("release_pages", __name__)

RELATED_COUNT = 4
# releases.id is 32 bits on PostgreSQL, which refuses even to compare it with a larger number.
MAX_RELEASE_ID = 2**31 - 1


def _release_id(ident: str) -> int | None:
    number = ident.partition("-")[0]
    if not (number.isascii() and number.isdigit() and len(number) <= 10):
        return None
    return int(number) if int(number) <= MAX_RELEASE_ID else None


@blueprint.get("/releases/<ident>")
def release_page(ident: str) -> Response:
    early = _early_release(ident)
    if early is not None:
        return embargoed_page(early)
    release = _public_release(ident)
    if isinstance(release, Response):
        return release
    subjects = page_subjects(release)
    canonical = paths.release_path(release)
    if request.path != canonical:
        return _moved_to(canonical, subjects)
    return _page(release, subjects)


@blueprint.get("/releases/<ident>/versions/<int:number>")
def version_page(ident: str, number: int) -> Response:
    """An earlier version of a release readers saw, with what the correction after it changed."""
    release = _public_release(ident)
    if isinstance(release, Response):
        return release
    subjects = page_subjects(release)
    canonical = f"{paths.release_path(release)}/versions/{number}"
    history = versions(db.session(), release)
    shown = {version.revision: version for version in public_history(history)}
    if number not in shown:
        return error_response(404, subjects=subjects)
    if request.path != canonical:
        return _moved_to(canonical, subjects)
    version = shown[number]
    following = next(later for later in history if later.revision == number + 1)
    release_url = urls.release_url(release)
    head = Head(
        title=f"{version.title} (Fassung {number})",
        description=version.summary,
        canonical=release_url,
        noindex=True,
    )
    return public_page(
        "pages/version.html",
        subjects=subjects,
        head=head,
        release=release,
        version=version,
        following=following,
        changes=changes_between(version, following),
        current_path=paths.release_path(release),
    )


def _public_release(ident: str) -> Release | Response:
    """The release `ident` names if it was public; else its 404 or 410 page."""
    release_id = _release_id(ident)
    release = release_by_id(db.session(), release_id) if release_id is not None else None
    if release is None or not was_public(release, now()):
        # A release published later may get this id: publishing (at its embargo instant)
        # purges "all" and the release's key, and the 404 ends on the expiry grid.
        unknown = [ALL_KEY, release_key(release_id)] if release_id is not None else [ALL_KEY]
        return error_response(404, subjects=unknown)
    if release.retracted_at is not None:
        city = release.city
        back = (f"Zurück zur Übersicht: {city.name}", paths.subject_path(city=city))
        return error_response(
            410, back=back, subjects=page_subjects(release), reason=release.retraction_reason
        )
    return release


def _early_release(ident: str) -> Release | None:
    """The release `ident` names if it is still under embargo and the request's token may
    see it early: a journalist's, an admin's, or its own press office's. (Caches in front
    pass every request with credentials to the app.) For anyone else, None."""
    release_id = _release_id(ident)
    authorization = request.headers.get("Authorization", "")
    if release_id is None or not authorization:
        return None
    release = release_by_id(db.session(), release_id)
    if release is None or was_public(release, now()) or release.retracted_at is not None:
        return None
    token = feed_reader_token(authorization)
    if token is None or not (token.role in ("journalist", "admin") or may_write_city(token, release.city)):
        return None
    return release


def page_subjects(release: Release) -> list[str]:
    """The keys of what a release's page shows: the release, and its city and topics,
    whose releases are the related ones. A release elsewhere leaves the page alone."""
    topics = sorted(scope_key(Scope(topic_id=link.topic_id)) for link in release.topic_links)
    return [scope_key(Scope(city_id=release.city_id)), *topics, release_key(release.id)]


def _moved_to(path: str, subjects: list[str]) -> Response:
    # Short-lived like the pages: a later title change moves the canonical URL again.
    query = request.query_string.decode("latin-1")
    headers = {
        "Location": f"{path}?{query}" if query else path,
        "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}",
        SURROGATE_KEY_HEADER: surrogate_keys(subjects),
    }
    return Response(status=301, headers=headers)


def _page(release: Release, subjects: list[str]) -> Response:
    page_url = urls.release_url(release)
    city_path = paths.subject_path(city=release.city)
    first_image = release.images[0] if release.images else None
    head = Head(
        title=release.title,
        description=release.summary,
        canonical=page_url,
        alternates=feed_links(city_path, release.city.name),
        og_type="article",
        # An upload in its size for feeds: what social networks show (1200 pixels wide).
        image=urls.asset_url(shown(first_image, FEED).url) if first_image else None,
        image_alt=first_image.caption if first_image else "",
        published=release.published_at,
        modified=max(release.updated_at, release.published_at) if release.revision > 1 else None,
        section=release.city.name,
        tags=tuple(topic.name for topic in release.topics),
    )
    return public_page(
        "pages/release.html",
        subjects=subjects,
        head=head,
        release=release,
        related=related_visible(db.session(), release, now(), RELATED_COUNT),
        corrections=corrections(versions(db.session(), release)) if release.revision > 1 else [],
        city_path=city_path,
        json_ld=script_json(news_article(release, page_url, urls.absolute(city_path))),
        embargoed=False,
    )


def embargoed_page(release: Release) -> Response:
    """The page of a release under embargo, for those entitled to it before its instant
    (its press office, journalists): marked SPERRFRIST, never stored by anyone, never
    indexed, and its address passed on to no linked site."""
    city_path = paths.subject_path(city=release.city)
    head = Head(
        title=f"SPERRFRIST: {release.title}",
        description=release.summary,
        canonical=urls.release_url(release),
        noindex=True,
    )
    response = private_page(
        "pages/release.html",
        head=head,
        release=release,
        related=[],
        corrections=[],
        city_path=city_path,
        json_ld="",
        embargoed=True,
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get(f"{paths.EARLY_ACCESS}/<int:release_id>/<signature>")
def early_access(release_id: int, signature: str) -> Response:
    """The link of a release under embargo in journalist feeds: its page marked SPERRFRIST
    until the instant, then (303) its public page. A wrong signature is an unknown page."""
    release = release_by_id(db.session(), release_id) if release_id <= MAX_RELEASE_ID else None
    if release is None or not hmac.compare_digest(signature, urls.early_access_signature(release_id)):
        return error_response(404, private=True)
    if was_public(release, now()):
        response = Response(status=303, headers={"Location": paths.release_path(release)})
        response.headers["Cache-Control"] = "private, no-store"
        return response
    if release.retracted_at is not None:  # retracted before anybody but journalists saw it
        return error_response(404, private=True)
    return embargoed_page(release)
