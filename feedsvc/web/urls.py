"""Absolute URLs of feedsvc's resources: the base URL plus a path of `feedsvc.paths`."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request

from feedsvc import paths
from feedsvc.models import City, Release, Topic


def base_url() -> str:
    configured: str | None = current_app.config["BASE_URL"]
    return configured if configured else request.host_url.rstrip("/")


def absolute(path: str, params: dict[str, str] | None = None) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{base_url()}{path}{query}"


def asset_url(url: str, base: str | None = None) -> str:
    """An image URL as it goes out: an absolute one as stored, a site path (the sample's
    `/static/sample/…`) on `base`, by default the request's base URL, so it works on any port."""
    return f"{base if base is not None else base_url()}{url}" if url.startswith("/") else url


def release_url(release: Release) -> str:
    return absolute(paths.release_path(release))


def city_url(city: City) -> str:
    return absolute(paths.subject_path(city=city))


def topic_url(topic: Topic) -> str:
    return absolute(paths.subject_path(topic=topic))


def api_release_url(release: Release) -> str:
    return absolute(paths.api_release_path(release.id))


def current_path_with(params: dict[str, str]) -> str:
    return absolute(request.path, params)
