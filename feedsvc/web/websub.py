"""WebSub publisher: tells the configured hubs which feed URLs changed.

Writes never talk to hubs. They append to the change log (`feed_changes`) in
their own transaction; this notifier, run as `feedsvc notify`, reads the log
after the commit and POSTs `hub.mode=publish` for every feed URL of every
changed subject, hub by hub. Each hub's position in the log is stored
(`hub_cursors`), so a hub that is down for minutes, or a notifier that
restarts, loses nothing: delivery is at least once, and exactly once while the
hub answers. Embargoes that ran out are lifted here too, so the ping goes out
at the lift, not when the next reader happens to come by.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from feedsvc.db import begin_writing
from feedsvc.models import City, FeedChange, FeedVersion, HubCursor, Region, Topic
from feedsvc.store import feed_versions
from feedsvc.store.feed_versions import from_micros

log = logging.getLogger(__name__)

FORMATS = ("atom", "rss", "json")
BATCH = 500
LEASE_US = 60 * 1_000_000
MAX_BACKOFF_US = 15 * 60 * 1_000_000
Post = Callable[[str, dict[str, str]], None]


@dataclass
class CycleReport:
    lifted: list[str] = field(default_factory=list)
    delivered: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def post_form(url: str, form: dict[str, str], timeout: float = 10.0) -> None:
    """POSTs a form; raises unless the hub answers 2xx."""
    data = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("User-Agent", "feedsvc-websub/1")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, response.reason, response.headers, None)


def subject_path(session: Session, key: str) -> str | None:
    """The page path of a subject key, or None when its city/topic/region is gone."""
    if key == feed_versions.ALL_KEY:
        return ""
    scope = feed_versions.scope_of_key(key)
    parts: list[str] = []
    if scope.region_id is not None:
        region = session.get(Region, scope.region_id)
        return f"/regions/{region.slug}" if region else None
    if scope.city_id is not None:
        city = session.get(City, scope.city_id)
        if city is None:
            return None
        parts.append(f"/cities/{city.slug}")
    if scope.topic_id is not None:
        topic = session.get(Topic, scope.topic_id)
        if topic is None:
            return None
        parts.append(f"/topics/{topic.slug}")
    return "".join(parts)


def feed_urls(session: Session, keys: Sequence[str], base_url: str) -> list[str]:
    urls: list[str] = []
    for key in dict.fromkeys(keys):
        if key == feed_versions.CATALOG_KEY:
            continue
        path = subject_path(session, key)
        if path is not None:
            urls.extend(f"{base_url}{path}/feed.{fmt}" for fmt in FORMATS)
    return urls


def lift_due_embargoes(session: Session, now_us: int) -> list[str]:
    begin_writing(session)
    due = session.execute(
        select(FeedVersion.key, FeedVersion.next_lift_us).where(FeedVersion.next_lift_us <= now_us)
    ).all()
    lifted = [
        key
        for key, seen in due
        if seen is not None and feed_versions.lift_embargo(session, key, seen, from_micros(now_us))
    ]
    session.commit()
    return lifted


def next_lift_us(session: Session) -> int | None:
    value: int | None = session.scalar(select(func.min(FeedVersion.next_lift_us)))
    return value


def _cursor(session: Session, hub: str) -> HubCursor:
    cursor = session.get(HubCursor, hub)
    if cursor is None:
        # A hub added to the configuration hears of changes from now on.
        latest = session.scalar(select(func.max(FeedChange.id))) or 0
        cursor = HubCursor(
            hub_url=hub, last_change_id=latest, failures=0, next_attempt_us=0, leased_until_us=0
        )
        session.add(cursor)
        session.commit()
    return cursor


def _lease(session: Session, hub: str, now_us: int) -> bool:
    result = session.execute(
        update(HubCursor)
        .where(
            HubCursor.hub_url == hub, HubCursor.leased_until_us <= now_us, HubCursor.next_attempt_us <= now_us
        )
        .values(leased_until_us=now_us + LEASE_US)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def notify_hub(
    session: Session, hub: str, base_url: str, now_us: int, post: Post, report: CycleReport
) -> None:
    """Tells one hub of every change it has not heard of, if it is due and free."""
    cursor = _cursor(session, hub)
    if not _lease(session, hub, now_us):
        return
    while True:
        changes = session.execute(
            select(FeedChange.id, FeedChange.key)
            .where(FeedChange.id > cursor.last_change_id)
            .order_by(FeedChange.id)
            .limit(BATCH)
        ).all()
        if not changes:
            break
        urls = feed_urls(session, [key for _, key in changes], base_url)
        try:
            for url in urls:
                post(hub, {"hub.mode": "publish", "hub.url": url, "hub.topic": url})
                report.delivered.setdefault(hub, []).append(url)
        except (OSError, ValueError) as error:
            backoff = min(MAX_BACKOFF_US, 1_000_000 * 2 ** min(cursor.failures, 20))
            cursor.failures += 1
            cursor.next_attempt_us = now_us + backoff
            cursor.last_error = str(error)[:1000]
            cursor.leased_until_us = 0
            session.commit()
            report.failed[hub] = str(error)
            log.warning("hub %s failed (%s); next try in %d s", hub, error, backoff // 1_000_000)
            return
        cursor.last_change_id = changes[-1].id
        cursor.failures, cursor.last_error = 0, ""
        session.commit()
    cursor.leased_until_us = 0
    session.commit()


def run_cycle(session: Session, hubs: Sequence[str], base_url: str, now_us: int, post: Post) -> CycleReport:
    """One pass: lift embargoes that ran out, then tell every due hub what changed."""
    report = CycleReport(lifted=lift_due_embargoes(session, now_us))
    for hub in hubs:
        notify_hub(session, hub, base_url, now_us, post, report)
    return report
