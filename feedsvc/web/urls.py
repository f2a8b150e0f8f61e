"""Absolute URLs of feedsvc's resources: the base URL plus a path of `feedsvc.paths`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from flask import current_app, request

from feedsvc import paths
from feedsvc.models import City, Release, Topic
from feedsvc.publishing import entries

# Host names that only this machine can send: without a configured base URL (development),
# renderings made for them may be kept and shared, since no other client's links change.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def base_url() -> str:
    configured: str | None = current_app.config["BASE_URL"]
    return configured if configured else request.host_url.rstrip("/")


def is_shareable(configured_base_url: str | None, trusted_hosts: list[str] | None, host: str) -> bool:
    """Whether a rendering made for a request to `host` may be kept and served to other requests.

    With FEEDSVC_BASE_URL set, links never depend on the request: always. Without it
    (development), links carry the request's own host, so a rendering is kept only for a
    host that is not foreign: one of FEEDSVC_TRUSTED_HOSTS (Flask refuses every other
    host when that is set) or a loopback name. A foreign `Host` gets links of its own,
    which no other client ever sees from a cache."""
    if configured_base_url or trusted_hosts:
        return True
    name = host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host
    return name.lower() in LOOPBACK_HOSTS


def rendering_is_shareable() -> bool:
    """`is_shareable` for the current request."""
    return is_shareable(current_app.config["BASE_URL"], current_app.config.get("TRUSTED_HOSTS"), request.host)


def absolute(path: str, params: dict[str, str] | None = None) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{base_url()}{path}{query}"


def asset_url(url: str, base: str | None = None) -> str:
    """An image URL as it goes out: an absolute one as stored, a site path (the sample's
    `/static/sample/…`) on `base`, by default the request's base URL, so it works on any port."""
    return entries.asset_url(url, base if base is not None else base_url())


def release_url(release: Release) -> str:
    return absolute(paths.release_path(release))


def early_access_signature(release_id: int) -> str:
    """What proves an early-access link was handed out by feedsvc, in a journalist feed:
    an HMAC of the release id under the instance's secret key (docs/pages.md#sperrfrist)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"early-access:{release_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def early_access_url(release: Release) -> str:
    """The link of a release still under embargo in journalist feeds: its page, marked
    SPERRFRIST, for whoever follows the link, and its public page once the embargo ends."""
    return absolute(f"{paths.EARLY_ACCESS}/{release.id}/{early_access_signature(release.id)}")


def city_url(city: City) -> str:
    return absolute(paths.subject_path(city=city))


def topic_url(topic: Topic) -> str:
    return absolute(paths.subject_path(topic=topic))


def api_release_url(release: Release) -> str:
    return absolute(paths.api_release_path(release.id))


def current_path_with(params: dict[str, str]) -> str:
    return absolute(request.path, params)
