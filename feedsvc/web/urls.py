"""Absolute URLs of feedsvc's resources (CONTRACT §1). The only place that knows them."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from flask import current_app, request

from feedsvc.models import City, Region, Release, Topic
from feedsvc.text import slugify_de


def base_url() -> str:
    configured: str | None = current_app.config["BASE_URL"]
    return configured if configured else request.host_url.rstrip("/")


def absolute(path: str, params: dict[str, str] | None = None) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{base_url()}{path}{query}"


def subject_path(city: City | None = None, topic: Topic | None = None, region: Region | None = None) -> str:
    """Path of the HTML page of a feed's subject; '' for everything."""
    if region is not None:
        return f"/regions/{region.slug}"
    if city is not None and topic is not None:
        return f"/cities/{city.slug}/topics/{topic.slug}"
    if city is not None:
        return f"/cities/{city.slug}"
    if topic is not None:
        return f"/topics/{topic.slug}"
    return ""


def feed_path(subject: str, fmt: str) -> str:
    return f"{subject}/feed.{fmt}"


@lru_cache(maxsize=16384)
def _title_slug(title: str) -> str:
    # Transliterating a title costs ~50 µs; a feed page links 50 of them per render.
    return slugify_de(title, max_length=60)


def release_path(release: Release) -> str:
    slug = _title_slug(release.title)
    return f"/releases/{release.id}-{slug}" if slug else f"/releases/{release.id}"


def release_url(release: Release) -> str:
    return absolute(release_path(release))


def city_url(city: City) -> str:
    return absolute(subject_path(city=city))


def topic_url(topic: Topic) -> str:
    return absolute(subject_path(topic=topic))


def api_release_url(release: Release) -> str:
    return absolute(f"/api/v1/releases/{release.id}")


def current_path_with(params: dict[str, str]) -> str:
    return absolute(request.path, params)
