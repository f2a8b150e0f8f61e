"""`/api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the pydantic
models that validate requests and shape responses, so it cannot drift from them."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, json
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from feedsvc.media.sniffing import ACCEPTED_TYPES
from feedsvc.publishing.catalog_changes import (
    CHANGE_INPUT,
    ENTRY_INPUT,
    MergeInto,
    PublisherMergeInto,
)
from feedsvc.publishing.input import MediaIn, ReleaseIn, ReleasePatch, RetractionIn
from feedsvc.publishing.subscriptions import SubscriptionIn
from feedsvc.publishing.webhooks import WebhookIn
from feedsvc.web.api.catalog import COLLECTIONS
from feedsvc.web.api.representation import (
    CityOut,
    MediaOut,
    Problem,
    PublisherOut,
    RegionOut,
    ReleaseList,
    ReleaseOut,
    TopicOut,
)
from feedsvc.web.api.subscriptions import SubscriptionOut
from feedsvc.web.api.webhooks import DeliveryList, DeliveryOut, WebhookCreated, WebhookOut
from feedsvc.web.problems import PROBLEM_MEDIA_TYPE

blueprint = Blueprint("api_openapi", __name__, url_prefix="/api/v1")

_INPUT_MODELS: tuple[type[BaseModel], ...] = (
    ReleaseIn,
    ReleasePatch,
    RetractionIn,
    SubscriptionIn,
    WebhookIn,
    *ENTRY_INPUT.values(),
    *CHANGE_INPUT.values(),
    MergeInto,
    PublisherMergeInto,
)
_OUTPUT_MODELS: tuple[type[BaseModel], ...] = (
    ReleaseOut,
    SubscriptionOut,
    WebhookOut,
    WebhookCreated,
    DeliveryOut,
    DeliveryList,
    MediaOut,
    ReleaseList,
    CityOut,
    TopicOut,
    RegionOut,
    PublisherOut,
    Problem,
)
# What `publishing.input.Slug` accepts.
_SLUG_SCHEMA = {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$", "minLength": 1, "maxLength": 100}
_KEY_EXAMPLES: dict[str, str | int] = {
    "city": "rosenheim",
    "region": "region-rosenheim",
    "topic": "verkehr",
    "publisher": 1,
}
# What each collection of the catalog answers with, and an example of a new entry.
_CATALOG_OUT: dict[str, type[BaseModel]] = {
    "city": CityOut,
    "region": RegionOut,
    "topic": TopicOut,
    "publisher": PublisherOut,
}
_CATALOG_EXAMPLES: dict[str, dict[str, Any]] = {
    "city": {
        "slug": "stephanskirchen",
        "name": "Stephanskirchen",
        "region": "region-rosenheim",
        "ags": "09187177",
    },
    "region": {"slug": "landkreis-ebersberg", "name": "Landkreis Ebersberg", "state": "Bayern"},
    "topic": {"slug": "feuerwehr", "name": "Feuerwehr"},
    "publisher": {"name": "Pressestelle der Gemeinde Stephanskirchen", "cities": ["rosenheim"]},
}


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
                "description": (
                    "The release leaves every feed and page; reading it answers 410. The body is"
                    " optional: a reason is shown on the 410 page and in the Atom tombstone."
                ),
                "security": _SECURED,
                "requestBody": {
                    "required": False,
                    "content": _json_content(_ref(RetractionIn), {"reason": "Der Termin wurde abgesagt."}),
                },
                "responses": {
                    "204": {"description": "retracted (no content)"},
                    **_problems(400, 401, 403, 404, 410, 413, 415, 422),
                },
            },
        },
        "/api/v1/media": {"post": _upload_operation()},
        "/api/v1/subscriptions": {
            "post": {
                "summary": "The subscription of a filter (made if it is new); no token needed",
                "requestBody": {
                    "required": True,
                    "content": _json_content(
                        _ref(SubscriptionIn), {"cities": ["rosenheim", "bad-aibling"], "topics": ["verkehr"]}
                    ),
                },
                "responses": {
                    **_ok("made", _ref(SubscriptionOut), 201),
                    **_ok("the subscription of this filter existed", _ref(SubscriptionOut)),
                    **_problems(400, 413, 415, 422),
                },
            }
        },
        "/api/v1/subscriptions/{key}": {
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[a-z2-7]{16}$"},
                    "description": "the subscription's key, 16 characters of base32",
                }
            ],
            "get": {
                "summary": "One subscription",
                "responses": {**_ok("the subscription", _ref(SubscriptionOut)), **_problems(404)},
            },
        },
        **_catalog_paths(),
        **_webhook_paths(),
    }


def _upload_operation() -> dict[str, Any]:
    """`POST /api/v1/media`: a multipart body with the file and, for an image, its caption
    and credit (the fields of `MediaIn`)."""
    text_fields = MediaIn.model_json_schema()["properties"]
    accepted = ", ".join(ACCEPTED_TYPES)
    schema = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {
                "type": "string",
                "format": "binary",
                "description": f"the file: {accepted}; its type is read from its bytes, never its name",
            },
            **text_fields,
        },
        "additionalProperties": False,
    }
    location = {**_LOCATION["Location"], "description": "the upload's URL (as `url`)"}
    return {
        "summary": "Upload an image (JPEG, PNG, WebP) or a PDF document",
        "description": (
            "A release's `images` or `attachments` then name the upload's `url`. The same upload"
            " again (the same bytes, for an image with the same caption and credit) answers 200"
            " with the upload made before."
        ),
        "security": _SECURED,
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": schema, "encoding": {"file": {"contentType": accepted}}}
            },
        },
        "responses": {
            **_ok("uploaded", _ref(MediaOut), 201, {"Location": location}),
            **_ok("uploaded before", _ref(MediaOut)),
            **_problems(401, 403, 413, 415, 422, 503),
        },
    }


def _catalog_paths() -> dict[str, Any]:
    """Each collection of the catalog: anyone reads it; an admin token adds, changes,
    renames, merges and retires (docs/api.md#the-catalog)."""
    found: dict[str, Any] = {}
    admin_errors = _problems(400, 401, 403, 404, 409, 413, 415, 422)
    for collection, kind in COLLECTIONS.items():
        out = _CATALOG_OUT[kind]
        by_id = kind == "publisher"
        key = {
            "name": "key",
            "in": "path",
            "required": True,
            "description": "the press office's id" if by_id else f"the {kind}'s slug",
            "schema": {"type": "integer", "minimum": 1} if by_id else _SLUG_SCHEMA,
            "example": _KEY_EXAMPLES[kind],
        }
        location = {**_LOCATION["Location"], "description": f"the new {kind} in the API"}
        found[f"/api/v1/{collection}"] = {
            "get": {
                "summary": f"Every {kind} that is not retired",
                "responses": _ok(collection, _array(out)),
            },
            "post": {
                "summary": f"Add a {kind} (admin token)",
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": _json_content(_ref(ENTRY_INPUT[kind]), _CATALOG_EXAMPLES[kind]),
                },
                "responses": {**_ok("added", _ref(out), 201, {"Location": location}), **admin_errors},
            },
        }
        found[f"/api/v1/{collection}/{{key}}"] = {
            "parameters": [key],
            "get": {
                "summary": f"One {kind}, retired ones too",
                "description": "A slug it had before a rename or merge answers 404 naming its slug now.",
                "responses": {**_ok(kind, _ref(out)), **_problems(404)},
            },
            "patch": {
                "summary": f"Change or rename a {kind} (admin token): only the fields given change",
                "description": "Its old slug (name) keeps naming it, and its feeds keep their ids.",
                "security": _SECURED,
                "requestBody": {"required": True, "content": _json_content(_ref(CHANGE_INPUT[kind]))},
                "responses": {**_ok(f"the {kind} as it is now", _ref(out)), **admin_errors},
            },
        }
        found[f"/api/v1/{collection}/{{key}}/merge"] = {
            "parameters": [key],
            "post": {
                "summary": f"Merge the {kind} into another one (admin token)",
                "description": "Its releases keep their entry ids; its URLs redirect to the other's.",
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": _json_content(_ref(PublisherMergeInto if by_id else MergeInto)),
                },
                "responses": {**_ok(f"the {kind} it went into", _ref(out)), **admin_errors},
            },
        }
        found[f"/api/v1/{collection}/{{key}}/retire"] = {
            "parameters": [key],
            "post": {
                "summary": f"Retire the {kind} (admin token): no new releases, listed nowhere",
                "description": "Its feeds and page stay, with its releases.",
                "security": _SECURED,
                "responses": {**_ok(f"the retired {kind}", _ref(out)), **_problems(401, 403, 404, 409)},
            },
        }
    return found


def _webhook_paths() -> dict[str, Any]:
    """Newsrooms' webhook endpoints and their delivery log, for admin tokens
    (docs/api.md#webhooks)."""
    webhook_id = {
        "name": "webhook_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "example": 1,
    }
    delivery_id = {**webhook_id, "name": "delivery_id"}
    location = {**_LOCATION["Location"], "description": "the new webhook in the API"}
    example = {
        "url": "https://redaktion.example.org/hooks/feedsvc",
        "description": "Redaktionssystem OVB",
        "cities": ["rosenheim"],
        "topics": ["verkehr"],
    }
    read_errors = _problems(401, 403, 404)
    return {
        "/api/v1/webhooks": {
            "get": {
                "summary": "Every webhook endpoint (admin token)",
                "security": _SECURED,
                "responses": {**_ok("the endpoints", _array(WebhookOut)), **_problems(401, 403)},
            },
            "post": {
                "summary": "Register an endpoint for a subscription (admin token); its secret shown once",
                "description": (
                    "Name the subscription by `subscription` (its key) or by the filter fields of"
                    " `POST /api/v1/subscriptions`. The URL must be https (http only to loopback,"
                    " outside production)."
                ),
                "security": _SECURED,
                "requestBody": {"required": True, "content": _json_content(_ref(WebhookIn), example)},
                "responses": {
                    **_ok("registered", _ref(WebhookCreated), 201, {"Location": location}),
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            },
        },
        "/api/v1/webhooks/{webhook_id}": {
            "parameters": [webhook_id],
            "get": {
                "summary": "One webhook endpoint (admin token)",
                "security": _SECURED,
                "responses": {**_ok("the endpoint", _ref(WebhookOut)), **read_errors},
            },
            "delete": {
                "summary": "Remove an endpoint with its delivery log (admin token)",
                "security": _SECURED,
                "responses": {"204": {"description": "removed (no content)"}, **read_errors},
            },
        },
        "/api/v1/webhooks/{webhook_id}/enable": {
            "parameters": [webhook_id],
            "post": {
                "summary": "Enable a disabled endpoint (admin token): what waited for it goes out",
                "security": _SECURED,
                "responses": {**_ok("the endpoint, enabled", _ref(WebhookOut)), **read_errors},
            },
        },
        "/api/v1/webhooks/{webhook_id}/deliveries": {
            "parameters": [webhook_id],
            "get": {
                "summary": "The endpoint's delivery log, newest first (admin token)",
                "security": _SECURED,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "description": "only deliveries older than this one (the `next` link sets it)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    **_ok("a page of deliveries", _ref(DeliveryList)),
                    **_problems(400, 401, 403, 404),
                },
            },
        },
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
            "parameters": [webhook_id, delivery_id],
            "post": {
                "summary": "Send a delivery again, with the same webhook-id (admin token)",
                "security": _SECURED,
                "responses": {
                    **_ok("queued: the worker sends it next", _ref(DeliveryOut), 202),
                    **_problems(401, 403, 404, 409),
                },
            },
        },
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
