"""`/api/v1/releases`: list, read, publish, correct and retract releases (docs/api.md#a-release).

Writes are `feedsvc.publishing.service`'s; here its outcomes become HTTP answers,
refusals and conflicts problem+json (docs/api.md#errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import ValidationError

from feedsvc import db
from feedsvc.models import Release, Token
from feedsvc.publishing.input import ReleaseIn, ReleasePatch, RetractionIn, field_errors, parse_datetime
from feedsvc.publishing.media import Input
from feedsvc.publishing.service import (
    Conflict,
    ConflictReason,
    Publishing,
    RefusalKind,
    Refused,
    live_release,
    unknown_names,
)
from feedsvc.publishing.writers import TokenWriter
from feedsvc.store import catalog_history
from feedsvc.store.releases import newest_visible_ids, releases_by_ids, was_public
from feedsvc.store.scope import Cursor, Scope, decode_cursor, encode_cursor
from feedsvc.store.search import Search, SearchError, parse_search
from feedsvc.store.write_access import may_write_city
from feedsvc.text import relative_references
from feedsvc.web import urls
from feedsvc.web.api.representation import ReleaseList, ReleaseOut, WarningOut, release_out
from feedsvc.web.api.requests import Refusal, json_object, require_writer
from feedsvc.web.auth import bearer_token, client_address
from feedsvc.web.media import uploads
from feedsvc.web.problems import problem

# Release ids beyond the database's integer are refused by `live_release` (404), not by the
# routes' converter: werkzeug answers 405 instead of 404 when a converter's `max` fails.
blueprint = Blueprint("api_releases", __name__, url_prefix="/api/v1/releases")

_STATUS_OF_REFUSAL = {
    RefusalKind.UNKNOWN_REFERENCES: 422,
    RefusalKind.CITY_OUT_OF_SCOPE: 403,
    RefusalKind.RELEASE_OUT_OF_SCOPE: 403,
    RefusalKind.NO_SUCH_RELEASE: 404,
    RefusalKind.RETRACTED: 410,
    RefusalKind.RETIRED: 422,
    RefusalKind.NO_PRESS_OFFICE: 422,
    RefusalKind.WOULD_UNPUBLISH: 422,
}


def _now() -> datetime:
    now: datetime = current_app.config["CLOCK"]()
    return now


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = payload.model_dump_json() if hasattr(payload, "model_dump_json") else json.dumps(payload)
    return Response(body, status=status, content_type="application/json", headers=headers)


def _validate(model: type[ReleaseIn] | type[ReleasePatch] | type[RetractionIn], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        errors = field_errors(error)
        # Unknown cities and topics too, at once, not in a second round (docs/api.md#errors).
        refused = {item.field for item in errors}
        if model is not RetractionIn:
            errors += [item for item in unknown_names(db.session(), body) if item.field not in refused]
        order = list(model.model_fields)
        errors.sort(key=lambda item: _field_position(order, item.field))
        raise Refusal(problem(422, "some fields are invalid", errors=errors)) from None


def _field_position(order: list[str], field: str) -> int:
    name = field.partition(".")[0]
    return order.index(name) if name in order else len(order)


def _naming_uploads(data: Input, token: Token) -> Input:
    """`data` with its images and attachments that name uploads filled from them."""
    try:
        resolved = uploads().resolve(data, urls.base_url(), token.publisher)
    except OSError:
        # An image with a caption of its own is made from its upload's file: the media storage
        # could not be read or written (docs/operations.md#uploaded-images-and-pdfs).
        raise Refusal(
            problem(503, "the uploads could not be read; try again later", headers={"Retry-After": "60"})
        ) from None
    if isinstance(resolved, tuple):
        raise Refusal(problem(422, "some fields are invalid", errors=list(resolved)))
    return resolved


def _publishing() -> Publishing:
    return Publishing(
        db.session(),
        now=_now(),
        tag_authority=current_app.config["TAG_AUTHORITY"],
        address=client_address(),
    )


def _refusal(refused: Refused) -> Refusal:
    """Ends the request with the refusal as problem+json."""
    return Refusal(problem(_STATUS_OF_REFUSAL[refused.kind], refused.message, errors=refused.errors))


def _conflict(conflict: Conflict) -> Response:
    existing = conflict.existing
    if conflict.reason is ConflictReason.RETRACTED:
        # The publisher must choose a new external_id (docs/api.md#retries).
        detail = (
            f"external_id '{existing.external_id}' belonged to release {existing.id}, which was retracted"
        )
    else:
        detail = f"external_id '{existing.external_id}' is already release {existing.id} with other content"
    return problem(409, detail, existing_id=existing.id, existing_url=urls.api_release_url(existing))


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


@blueprint.post("")
def publish() -> Response:
    token = require_writer()
    body = json_object()
    data: ReleaseIn = _naming_uploads(_validate(ReleaseIn, body), token)
    outcome = _publishing().publish(TokenWriter(token), data)
    if isinstance(outcome, Refused):
        raise _refusal(outcome)
    if isinstance(outcome, Conflict):
        return _conflict(outcome)
    release = outcome.release
    if not outcome.created:
        return _json(release_out(release))  # a retry, answered with the release it made
    answer = _with_warnings(release_out(release), body.get("body"), release.source_url)
    return _json(answer, 201, {"Location": urls.api_release_url(release)})


@blueprint.get("/<int:release_id>")
def read(release_id: int) -> Response:
    now = _now()

    def hidden(release: Release) -> bool:
        """A release nobody could see yet, to anyone but a journalist or its own press office,
        is an id that never existed: the same 404, retracted or not (docs/api.md#a-release)."""
        if was_public(release, now):
            return False
        token = bearer_token()
        return token is None or not (token.role == "journalist" or may_write_city(token, release.city))

    release = live_release(db.session(), release_id, hidden)
    if isinstance(release, Refused):
        raise _refusal(release)
    return _json(release_out(release))


@blueprint.patch("/<int:release_id>")
def correct(release_id: int) -> Response:
    writer = TokenWriter(require_writer())
    publishing = _publishing()
    # Refused before the body is judged: a caller outside the scope learns nothing of it.
    release = publishing.writable_release(writer, release_id)
    if isinstance(release, Refused):
        raise _refusal(release)
    changes = json_object()
    if "body" in changes and "source_url" not in changes and release.source_url is not None:
        # Relative links of a corrected body resolve against the release's stored source_url,
        # as they did when it was created (the schema sees only the fields sent).
        changes = {**changes, "source_url": release.source_url}
    patch: ReleasePatch = _naming_uploads(_validate(ReleasePatch, changes), writer.token)
    corrected = publishing.correct(writer, release_id, patch)
    if isinstance(corrected, Refused):
        raise _refusal(corrected)
    answer = release_out(corrected.release)
    if "body" in patch.changed_fields:
        answer = _with_warnings(answer, changes.get("body"), corrected.release.source_url)
    return _json(answer)


def _with_warnings(answer: ReleaseOut, body: object, source_url: str | None) -> ReleaseOut:
    """The answer, warning that relative links and images of the body sent were dropped:
    without a source_url there is nothing to resolve them against."""
    if source_url is not None or not isinstance(body, str):
        return answer
    dropped = relative_references(body)
    if not dropped.links and not dropped.images:
        return answer
    message = (
        f"{dropped.links} link(s) and {dropped.images} image(s) with relative URLs were dropped "
        "(links keep their text): send source_url, the release's address on your site, to resolve them"
    )
    return answer.model_copy(update={"warnings": [WarningOut(field="body", message=message)]})


@blueprint.delete("/<int:release_id>")
def retract(release_id: int) -> Response:
    writer = TokenWriter(require_writer())
    publishing = _publishing()
    # Refused before the body is judged: a caller outside the scope learns nothing of it.
    release = publishing.writable_release(writer, release_id)
    if isinstance(release, Refused):
        raise _refusal(release)
    # The body is optional: a DELETE without one (and without a Content-Type) retracts
    # without a reason; one that says it has a body must send a valid one.
    has_body = bool(request.content_length or request.headers.get("Transfer-Encoding") or request.mimetype)
    retraction: RetractionIn = _validate(RetractionIn, json_object()) if has_body else RetractionIn()
    retracted = publishing.retract(writer, release_id, retraction.given_reason)
    if isinstance(retracted, Refused):
        raise _refusal(retracted)
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
    for name in ("city", "topic", "region"):
        if name in args:
            # An old slug of a renamed or merged entry still names it: a client polling keeps working.
            row = catalog_history.resolve(session, name, args[name])
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
