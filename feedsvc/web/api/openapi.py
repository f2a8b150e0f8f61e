"""`/api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the pydantic
models that validate requests and shape responses, so it cannot drift from them."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, json
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from feedsvc.publishing.input import ReleaseIn, ReleasePatch
from feedsvc.web.api.representation import CityOut, Problem, RegionOut, ReleaseList, ReleaseOut, TopicOut
from feedsvc.web.problems import PROBLEM_MEDIA_TYPE

blueprint = Blueprint("api_openapi", __name__, url_prefix="/api/v1")

_INPUT_MODELS: tuple[type[BaseModel], ...] = (ReleaseIn, ReleasePatch)
_OUTPUT_MODELS: tuple[type[BaseModel], ...] = (ReleaseOut, ReleaseList, CityOut, TopicOut, RegionOut, Problem)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json_content(schema: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "problem details",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref(Problem)}},
        }
        for status in statuses
    }


def _ok(
    description: str, schema: dict[str, Any], status: int = 200, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _json_content(schema)}
    if headers:
        answer["headers"] = headers
    return {str(status): answer}


_LOCATION = {
    "Location": {
        "description": "the new release in the API",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    }
}
_RELEASE_ID = {
    "name": "release_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "example": 1,
}
# What a press office sends (docs/api.md#a-release), as the document's request examples.
_RELEASE_EXAMPLE = {
    "external_id": "ro-2026-117",
    "city": "rosenheim",
    "topics": ["verkehr"],
    "title": "Innbrücke ab Montag gesperrt",
    "body": "<p>Wegen Bauarbeiten ist die Innbrücke ab Montag gesperrt.</p>",
    "published_at": "2026-11-23T09:00:00+01:00",
}
_PATCH_EXAMPLE = {"title": "Innbrücke erst ab Dienstag gesperrt", "correction_note": "Termin korrigiert"}
_LIST_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("city", {"type": "string"}, "slug of a city"),
        ("topic", {"type": "string"}, "slug of a topic"),
        ("region", {"type": "string"}, "slug of a region"),
        (
            "since",
            {"type": "string", "format": "date-time"},
            "RFC 3339 timestamp with offset (`+` written as `%2B`): only releases changed at or after it",
        ),
        ("after", {"type": "string"}, "cursor from a previous page's `next`"),
        (
            "q",
            {"type": "string"},
            'full-text search in title, summary and body: words, "phrases", -excluded, `or`',
        ),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"),
    )
]
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]
# Reading needs no token; a token lets its holder read embargoed releases of its scope.
_OPTIONALLY_SECURED: list[dict[str, list[str]]] = [{}, {"bearer": []}]


def _paths() -> dict[str, Any]:
    write_errors = _problems(400, 401, 403, 413, 415, 422)
    return {
        "/api/v1/releases": {
            "get": {
                "summary": "Visible releases, newest first",
                "description": "Unknown city, topic or region slugs answer 404; bad paging 400.",
                "parameters": _LIST_PARAMETERS,
                "responses": {**_ok("a page of releases", _ref(ReleaseList)), **_problems(400, 404)},
            },
            "post": {
                "summary": "Publish a release",
                "description": (
                    "A retry with the same external_id and the same content answers 200 with the"
                    " stored release; other content under a known external_id, or the external_id"
                    " of a retracted release, answers 409 naming the release (`existing_id`)."
                ),
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": _json_content(_ref(ReleaseIn), _RELEASE_EXAMPLE),
                },
                "responses": {
                    **_ok("created", _ref(ReleaseOut), 201, _LOCATION),
                    **_ok(
                        "a retry of an earlier POST with the same external_id and content", _ref(ReleaseOut)
                    ),
                    **write_errors,
                    **_problems(409),
                },
            },
        },
        "/api/v1/releases/{release_id}": {
            "parameters": [_RELEASE_ID],
            "get": {
                "summary": "One release",
                "description": "Embargoed releases are 404 except for tokens that may see them.",
                "security": _OPTIONALLY_SECURED,
                "responses": {**_ok("the release", _ref(ReleaseOut)), **_problems(404, 410)},
            },
            "patch": {
                "summary": "Correct a release: only the fields given change",
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": _json_content(_ref(ReleasePatch), _PATCH_EXAMPLE),
                },
                "responses": {
                    **_ok("the corrected release", _ref(ReleaseOut)),
                    **write_errors,
                    **_problems(404, 410),
                },
            },
            "delete": {
                "summary": "Retract a release",
                "description": "The release leaves every feed and page; reading it answers 410.",
                "security": _SECURED,
                "responses": {
                    "204": {"description": "retracted (no content)"},
                    **_problems(401, 403, 404, 410),
                },
            },
        },
        "/api/v1/cities": {"get": {"summary": "Cities", "responses": _ok("cities", _array(CityOut))}},
        "/api/v1/topics": {"get": {"summary": "Topics", "responses": _ok("topics", _array(TopicOut))}},
        "/api/v1/regions": {"get": {"summary": "Regions", "responses": _ok("regions", _array(RegionOut))}},
    }


def _array(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "array", "items": _ref(model)}


@cache
def document() -> dict[str, Any]:
    models = [(model, "validation") for model in _INPUT_MODELS] + [
        (model, "serialization") for model in _OUTPUT_MODELS
    ]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "feedsvc publishing API",
            "version": "1",
            "description": "Press offices publish, correct and retract releases; anyone may read.",
        },
        "paths": _paths(),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(document()), content_type="application/json")
