"""`/api/v1/cities|topics|regions`: what a press office or aggregator can refer to."""

from __future__ import annotations

from flask import Blueprint, Response
from pydantic import BaseModel

from feedsvc import db
from feedsvc.store import catalog
from feedsvc.web.api.representation import city_out, region_out, topic_out

blueprint = Blueprint("api_catalog", __name__, url_prefix="/api/v1")


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
