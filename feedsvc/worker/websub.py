"""WebSub publisher: how a hub is told which feed URLs changed.

Writes never talk to hubs: they add their change to the outbox in their own
transaction, and the delivery worker (`worker.delivery`) works the outbox off,
hub by hub, after the caches were purged. For every changed subject it POSTs
`hub.mode=publish` for each of its feed URLs (Atom, RSS, JSON). A ping is
idempotent: a hub told twice fetches the feed twice, nothing more.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

from sqlalchemy.orm import Session

from feedsvc import paths
from feedsvc.models import City, Region, Topic
from feedsvc.store import catalog, catalog_history, keys, subscriptions

Post = Callable[[str, dict[str, str]], None]


def post_form(url: str, form: dict[str, str], timeout: float = 10.0) -> None:
    """POSTs a form; raises unless the hub answers 2xx."""
    data = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("User-Agent", "feedsvc-websub/1")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, reason = response.status, response.reason
    except urllib.error.HTTPError as error:
        error.close()  # it holds the connection open otherwise
        status, reason = error.code, error.reason
    if not 200 <= status < 300:
        raise OSError(f"{url} answered HTTP {status} {reason}")


def feed_urls(session: Session, subject_keys: Sequence[str], base_url: str) -> list[str]:
    """Every feed URL of these subjects, under the slugs their city, topic or region has
    now and under every slug it had before a rename or merge: a subscriber of an old URL
    still hears of each change (the hub fetching it is redirected). Subjects whose city,
    topic or region is gone have none."""
    urls: list[str] = []
    for key in dict.fromkeys(subject_keys):
        if key == keys.CATALOG_KEY:
            continue
        subject = catalog.subject_rows(session, key)
        if subject is None:
            continue
        for page in _subject_paths(session, *subject):
            urls.extend(f"{base_url}{path}" for path in paths.feed_paths(page))
    # The subscriptions these subjects cover change with them.
    for subscription in subscriptions.for_changed_keys(session, subject_keys):
        page = paths.subscription_path(subscription.key)
        urls.extend(f"{base_url}{path}" for path in paths.feed_paths(page))
    return list(dict.fromkeys(urls))


@dataclass(frozen=True)
class _Slug:
    slug: str


def _subject_paths(
    session: Session, city: City | None, topic: Topic | None, region: Region | None
) -> list[str]:
    """The subject's page path, then the paths its entries' former slugs make."""

    def spellings(kind: str, entry: City | Topic | Region | None) -> list[_Slug | None]:
        if entry is None:
            return [None]
        former = catalog_history.former_names(session, kind, [entry.id]).get(entry.id, [])
        return [_Slug(slug) for slug in dict.fromkeys([entry.slug, *former])]

    combinations = product(spellings("city", city), spellings("topic", topic), spellings("region", region))
    return list(dict.fromkeys(paths.subject_path(*each) for each in combinations))


def ping(hub: str, urls: Sequence[str], post: Post) -> None:
    """Tells one hub of each feed URL, in order; raises at the first that fails."""
    for url in urls:
        post(hub, {"hub.mode": "publish", "hub.url": url, "hub.topic": url})
