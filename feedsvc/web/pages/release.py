"""The page of one release: `/releases/<id>-<slug>`, the only URL it is shown at.

`/releases/<id>` and outdated slugs (the title changed) redirect there for good.
A release nobody could see yet (under embargo, or retracted before its instant)
does not exist: its id is answered byte for byte as an id that never existed, so
the answer tells nobody that something is scheduled. A release retracted after it
was public is gone (410).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from feedsvc import db, paths
from feedsvc.models import Release
from feedsvc.store.browse import related_visible
from feedsvc.store.keys import ALL_KEY, release_key, scope_key
from feedsvc.store.releases import release_by_id, was_public
from feedsvc.store.scope import Scope
from feedsvc.web import urls
from feedsvc.web.feeds.cache import SURROGATE_KEY_HEADER, surrogate_keys
from feedsvc.web.pages.errors import error_response
from feedsvc.web.pages.head import Head, feed_links
from feedsvc.web.pages.jsonld import news_article, script_json
from feedsvc.web.pages.responses import PUBLIC_MAX_AGE, now, public_page

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
    release_id = _release_id(ident)
    release = release_by_id(db.session(), release_id) if release_id is not None else None
    if release is None or not was_public(release, now()):
        # A release published later may get this id: publishing (at its embargo instant)
        # purges "all" and the release's key, and the 404 ends on the expiry grid.
        unknown = [ALL_KEY, release_key(release_id)] if release_id is not None else [ALL_KEY]
        return error_response(404, subjects=unknown)
    subjects = page_subjects(release)
    if release.retracted_at is not None:
        city = release.city
        back = (f"Zurück zur Übersicht: {city.name}", paths.subject_path(city=city))
        return error_response(410, back=back, subjects=subjects)
    canonical = paths.release_path(release)
    if request.path != canonical:
        return _moved_to(canonical, subjects)
    return _page(release, subjects)


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
        image=urls.asset_url(first_image.url) if first_image else None,
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
        city_path=city_path,
        json_ld=script_json(news_article(release, page_url, urls.absolute(city_path))),
    )
