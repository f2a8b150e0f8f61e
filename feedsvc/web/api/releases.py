"""`/api/v1/releases`: list, read, publish, correct and retract releases (CONTRACT §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from feedsvc import db
from feedsvc.models import Publisher, Release, Token
from feedsvc.schemas import ReleaseIn, ReleasePatch, field_errors, parse_datetime
from feedsvc.store import catalog
from feedsvc.store.releases import (
    References,
    create_release,
    is_visible,
    newest_visible_ids,
    prior_release,
    release_by_id,
    releases_by_ids,
    resolve_references,
    retract_release,
    update_release,
)
from feedsvc.store.scope import Cursor, Scope
from feedsvc.store.search import Search, SearchError, parse_search
from feedsvc.store.tokens import may_write_city
from feedsvc.web import urls
from feedsvc.web.api.representation import ReleaseList, release_out
from feedsvc.web.api.requests import Refusal, bearer_token, json_object, require_writer
from feedsvc.web.feed_content import decode_cursor, encode_cursor
from feedsvc.web.problems import problem

blueprint = Blueprint("api_releases", __name__, url_prefix="/api/v1/releases")

# releases.id is an INTEGER column, 32 bits on PostgreSQL: a larger id cannot exist, and the
# databases refuse to even compare with it. (Checked in the view, not by the route's converter:
# werkzeug answers 405 instead of 404 when a converter's `max` fails.)
MAX_ID = 2**31 - 1
# A retry after losing a unique constraint to a concurrent request finds the winner's row.
_CREATE_ATTEMPTS = 3


def _now() -> datetime:
    now: datetime = current_app.config["CLOCK"]()
    return now


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = payload.model_dump_json() if hasattr(payload, "model_dump_json") else json.dumps(payload)
    return Response(body, status=status, content_type="application/json", headers=headers)


def _validate(model: type[ReleaseIn] | type[ReleasePatch], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise Refusal(problem(422, "some fields are invalid", errors=field_errors(error))) from None


def _references(city: str, topics: list[str]) -> References:
    refs = resolve_references(db.session(), city, topics)
    if not isinstance(refs, References):
        raise Refusal(problem(422, "some fields name unknown cities or topics", errors=refs))
    return refs


def _check_scope(token: Token, refs: References) -> None:
    if not may_write_city(token, refs.city):
        raise Refusal(problem(403, f"this token may not publish for the city '{refs.city.slug}'"))


def _publisher(token: Token, refs: References) -> Publisher:
    if token.publisher is not None:
        return token.publisher
    # An admin token publishes in the name of the city's own press office.
    return catalog.office_of_city(db.session(), refs.city, _now())


def _visible_release(release_id: int) -> Release:
    release = release_by_id(db.session(), release_id) if release_id <= MAX_ID else None
    if release is None:
        raise Refusal(problem(404, f"no release with id {release_id}"))
    if release.retracted_at is not None:
        raise Refusal(problem(410, f"release {release_id} was retracted"))
    return release


def _writable_release(release_id: int, token: Token) -> Release:
    release = _visible_release(release_id)
    if not may_write_city(token, release.city):
        raise Refusal(problem(403, f"this token may not change releases of '{release.city.slug}'"))
    return release


def _idempotent_answer(publisher: Publisher, data: ReleaseIn) -> Response | None:
    """The answer to a retried POST, or None when the external_id is new."""
    prior = prior_release(db.session(), publisher, data)
    if prior is None:
        return None
    if prior.is_retry:
        return _json(release_out(prior.release))
    existing = prior.release
    if existing.retracted_at is not None:
        # A 200 would tell the client its release is published; a new row would break the
        # one-release-per-external_id promise. The publisher must choose a new external_id.
        detail = f"external_id '{data.external_id}' belonged to release {existing.id}, which was retracted"
    else:
        detail = f"external_id '{data.external_id}' is already release {existing.id} with other content"
    return problem(409, detail, existing_id=existing.id, existing_url=urls.api_release_url(existing))


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


@blueprint.post("")
def publish() -> Response:
    token = require_writer()
    data: ReleaseIn = _validate(ReleaseIn, json_object())
    session = db.session()
    authority = current_app.config["TAG_AUTHORITY"]
    for attempt in range(1, _CREATE_ATTEMPTS + 1):
        db.begin_writing(session)
        refs = _references(data.city, data.topics)
        _check_scope(token, refs)
        publisher = _publisher(token, refs)
        if (answer := _idempotent_answer(publisher, data)) is not None:
            return answer
        try:
            release = create_release(
                session, publisher=publisher, data=data, refs=refs, now=_now(), tag_authority=authority
            )
            session.commit()
        except IntegrityError:
            # A concurrent request won a unique constraint between our check and our insert:
            # the same external_id (the next pass answers it as a retry), the admin's new
            # press office, or the provisional guid. Everything of this pass is rolled back
            # (by the next pass's begin_writing).
            if attempt == _CREATE_ATTEMPTS:
                raise
            continue
        return _json(release_out(release), 201, {"Location": urls.api_release_url(release)})
    raise AssertionError("unreachable")  # pragma: no cover


@blueprint.get("/<int:release_id>")
def read(release_id: int) -> Response:
    release = _visible_release(release_id)
    if not is_visible(release, _now()):
        token = bearer_token()
        if token is None or not (token.role == "journalist" or may_write_city(token, release.city)):
            raise Refusal(problem(404, f"no release with id {release_id}"))
    return _json(release_out(release))


@blueprint.patch("/<int:release_id>")
def correct(release_id: int) -> Response:
    token = require_writer()
    # Refused before the body is judged: a caller outside the scope learns nothing of it.
    release = _writable_release(release_id, token)
    changes = json_object()
    if "body" in changes and "source_url" not in changes and release.source_url is not None:
        # Relative links of a corrected body resolve against the release's stored source_url,
        # as they did when it was created (the schema sees only the fields sent).
        changes = {**changes, "source_url": release.source_url}
    patch: ReleasePatch = _validate(ReleasePatch, changes)
    if not patch.model_fields_set:
        # Nothing to change is no change: no new revision, no new `updated` in the feeds.
        return _json(release_out(release))
    db.begin_writing(db.session())
    release = _writable_release(release_id, token)  # again: it may have changed meanwhile
    topics = patch.topics if patch.topics is not None else [topic.slug for topic in release.topics]
    refs = _references(patch.city or release.city.slug, topics)
    _check_scope(token, refs)
    update_release(db.session(), release, patch, refs, _now())
    db.session().commit()
    return _json(release_out(release))


@blueprint.delete("/<int:release_id>")
def retract(release_id: int) -> Response:
    token = require_writer()
    db.begin_writing(db.session())
    release = _writable_release(release_id, token)
    retract_release(db.session(), release, _now())
    db.session().commit()
    response = Response(status=204)
    # No content, so no content type (Flask would announce text/html).
    del response.headers["Content-Type"]
    return response


@blueprint.get("")
def list_releases() -> Response:
    query = _list_filter()
    ids = newest_visible_ids(
        db.session(), query.scope, _now(), query.limit + 1, query.after, query.since, search=query.search
    )
    page = releases_by_ids(db.session(), ids[: query.limit])
    next_url = None
    if len(ids) > query.limit:
        last = page[-1]
        params = {key: value for key, value in request.args.items() if key != "after"}
        params["after"] = encode_cursor(Cursor(last.published_at, last.id))
        next_url = urls.absolute(request.path, params)
    return _json(ReleaseList(items=[release_out(release) for release in page], next=next_url))


@dataclass(frozen=True)
class ListQuery:
    scope: Scope
    since: datetime | None
    after: Cursor | None
    limit: int
    search: Search | None = None


def _list_filter() -> ListQuery:
    args = request.args
    limit_text = args.get("limit", "50")
    if not (limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= 200):
        raise Refusal(problem(400, "limit must be a whole number from 1 to 200"))
    since = None
    if "since" in args and (since := _instant(args["since"])) is None:
        raise Refusal(problem(400, "since must be an RFC 3339 timestamp with an offset"))
    after = None
    if "after" in args and (after := _cursor(args["after"])) is None:
        raise Refusal(problem(400, "after must be a cursor taken from a list's next link"))
    try:
        search = parse_search(args.get("q", ""))
    except SearchError as error:
        raise Refusal(problem(400, str(error))) from None
    session = db.session()
    found: dict[str, int | None] = {}
    for name, lookup in (
        ("city", catalog.city_by_slug),
        ("topic", catalog.topic_by_slug),
        ("region", catalog.region_by_slug),
    ):
        if name in args:
            row = lookup(session, args[name])
            if row is None:
                raise Refusal(problem(404, f"unknown {name} '{args[name]}'"))
            found[name] = row.id
    scope = Scope(city_id=found.get("city"), topic_id=found.get("topic"), region_id=found.get("region"))
    return ListQuery(scope=scope, since=since, after=after, limit=int(limit_text), search=search)


def _instant(text: str) -> datetime | None:
    """An RFC 3339 timestamp as UTC, or None (also for instants outside the years 1-9999 in UTC)."""
    parsed = parse_datetime(text)
    try:
        return parsed.astimezone(UTC) if parsed is not None else None
    except OverflowError:
        return None


def _cursor(text: str) -> Cursor | None:
    try:
        return decode_cursor(text)
    except (ValueError, OverflowError, OSError):  # digits that are no instant ("999999999999999999-1")
        return None
