"""`/api/v1/cities|topics|regions|publishers`: what a press office or aggregator can refer
to, and, with an admin token, changing it (docs/api.md#the-catalog).

Reading needs no token. Adding (`POST` to the collection), changing and renaming
(`PATCH` on an entry), merging (`POST …/merge`) and retiring (`POST …/retire`) are
`feedsvc.publishing.catalog_changes`'s; here their outcomes become HTTP answers,
refusals problem+json (docs/api.md#errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app
from pydantic import BaseModel, ValidationError

from feedsvc import db
from feedsvc.models import City, Publisher, Region, Topic
from feedsvc.publishing.catalog_changes import (
    CHANGE_INPUT,
    ENTRY_INPUT,
    CatalogChanges,
    CatalogLookup,
    CatalogRefused,
    Changed,
    MergeInto,
    Problem,
    PublisherMergeInto,
)
from feedsvc.publishing.input import field_errors
from feedsvc.store import catalog
from feedsvc.store.audit import Acting, token_actor
from feedsvc.store.catalog_history import Entry
from feedsvc.web import urls
from feedsvc.web.api.representation import city_out, publisher_out, region_out, topic_out
from feedsvc.web.api.requests import Refusal, json_object, require_writer
from feedsvc.web.auth import client_address
from feedsvc.web.problems import problem

blueprint = Blueprint("api_catalog", __name__, url_prefix="/api/v1")

# Each collection of the API and the kind of entry it holds.
COLLECTIONS = {"cities": "city", "regions": "region", "topics": "topic", "publishers": "publisher"}
_STATUS_OF_PROBLEM = {Problem.UNKNOWN: 404, Problem.TAKEN: 409, Problem.CONFLICT: 409, Problem.INVALID: 422}


def _list(items: list[BaseModel]) -> Response:
    body = "[" + ",".join(item.model_dump_json() for item in items) + "]"
    return Response(body, content_type="application/json")


@blueprint.get("/cities")
def cities() -> Response:
    return _list([city_out(city) for city in catalog.cities(db.session())])


@blueprint.get("/topics")
def topics() -> Response:
    return _list([topic_out(topic) for topic in catalog.topics(db.session())])


@blueprint.get("/regions")
def regions() -> Response:
    return _list([region_out(region) for region in catalog.regions(db.session())])


@blueprint.get("/publishers")
def publishers() -> Response:
    return _list([publisher_out(publisher) for publisher in catalog.publishers(db.session())])


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    db.session().rollback()
    return refusal.response


def entry_out(entry: Entry) -> BaseModel:
    if isinstance(entry, City):
        return city_out(entry)
    if isinstance(entry, Region):
        return region_out(entry)
    if isinstance(entry, Topic):
        return topic_out(entry)
    return publisher_out(entry)


def entry_api_url(collection: str, entry: Entry) -> str:
    key = entry.id if isinstance(entry, Publisher) else entry.slug
    return urls.absolute(f"/api/v1/{collection}/{key}")


def _changes() -> CatalogChanges:
    by = Acting(token_actor(require_writer()), client_address())
    return CatalogChanges(db.session(), now=current_app.config["CLOCK"](), by=by)


def _require_admin() -> None:
    if require_writer().role != "admin":
        raise Refusal(problem(403, "only an admin token may change the catalog"))


def _validated(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise Refusal(problem(422, "some fields are invalid", errors=field_errors(error))) from None


def _answer(collection: str, outcome: Changed | CatalogRefused | Entry) -> Response:
    if isinstance(outcome, CatalogRefused):
        return problem(_STATUS_OF_PROBLEM[outcome.problem], outcome.message, errors=outcome.errors)
    entry = outcome.entry if isinstance(outcome, Changed) else outcome
    response = Response(entry_out(entry).model_dump_json(), content_type="application/json")
    if isinstance(outcome, Changed) and outcome.created:
        response.status_code = 201
        response.headers["Location"] = entry_api_url(collection, entry)
    return response


def _views(collection: str, kind: str) -> dict[str, Callable[..., Response]]:
    """The view functions of one collection, by the action they answer."""

    def read(key: str | int) -> Response:
        return _answer(collection, CatalogLookup(db.session()).find(kind, key))

    def add() -> Response:
        _require_admin()
        data = _validated(ENTRY_INPUT[kind], json_object())
        return _answer(collection, _changes().add(kind, data))

    def change(key: str | int) -> Response:
        _require_admin()
        data = _validated(CHANGE_INPUT[kind], json_object())
        return _answer(collection, _changes().change(kind, key, data))

    def merge(key: str | int) -> Response:
        _require_admin()
        data = _validated(PublisherMergeInto if kind == "publisher" else MergeInto, json_object())
        return _answer(collection, _changes().merge(kind, key, data.into))

    def retire(key: str | int) -> Response:
        _require_admin()
        return _answer(collection, _changes().retire(kind, key))

    return {"read": read, "add": add, "change": change, "merge": merge, "retire": retire}


for _collection, _kind in COLLECTIONS.items():
    _views_of = _views(_collection, _kind)
    # Press offices have no slug: they are named by id (names have spaces and change).
    _entry = f"/{_collection}/<int:key>" if _kind == "publisher" else f"/{_collection}/<key>"
    blueprint.add_url_rule(f"/{_collection}", f"add_{_kind}", _views_of["add"], methods=["POST"])
    blueprint.add_url_rule(_entry, f"read_{_kind}", _views_of["read"], methods=["GET"])
    blueprint.add_url_rule(_entry, f"change_{_kind}", _views_of["change"], methods=["PATCH"])
    blueprint.add_url_rule(f"{_entry}/merge", f"merge_{_kind}", _views_of["merge"], methods=["POST"])
    blueprint.add_url_rule(f"{_entry}/retire", f"retire_{_kind}", _views_of["retire"], methods=["POST"])
