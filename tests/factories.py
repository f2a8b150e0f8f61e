"""Small, explicit test data written through the store, as the API and import do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from feedsvc import db
from feedsvc.models import Release
from feedsvc.publishing.input import ReleaseIn, ReleasePatch
from feedsvc.publishing.values import new_release_fields, update_from_patch
from feedsvc.store import catalog
from feedsvc.store.audit import Acting, command_actor
from feedsvc.store.releases import (
    References,
    create_release,
    resolve_references,
    retract_release,
    update_release,
)
from tests.databases import fill_once

CITIES = {
    "rosenheim": ("Rosenheim", "region-rosenheim", "09163000"),
    "bad-aibling": ("Bad Aibling", "region-rosenheim", "09187117"),
    "muenchen": ("München", "muenchen-region", "09162000"),
}
REGIONS = {"region-rosenheim": "Region Rosenheim", "muenchen-region": "Landeshauptstadt München"}
TOPICS = {"soziales-familie": "Soziales & Familie", "verkehr": "Verkehr", "kultur": "Kultur"}


def make_catalog(app: Flask) -> None:
    """The regions, cities, publishers and topics above; written once per process and copied
    for later tests (`tests.databases.fill_once`): most tests begin with it."""
    fill_once(app, "the test catalog", lambda: _write_catalog(app))


def _write_catalog(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        regions = {
            slug: catalog.upsert_region(session, slug, name, "Bayern") for slug, name in REGIONS.items()
        }
        session.flush()
        for slug, (name, region, ags) in CITIES.items():
            city = catalog.upsert_city(session, slug, name, "Bayern", regions[region], ags)
            session.flush()
            catalog.upsert_publisher(session, f"Pressestelle {name}", [city], app.config["CLOCK"]())
        for slug, name in TOPICS.items():
            catalog.upsert_topic(session, slug, name)
        session.commit()


def add_release(
    app: Flask,
    *,
    city: str = "rosenheim",
    topics: tuple[str, ...] = (),
    title: str = "Neue Radwege in der Innenstadt",
    published_at: datetime | None = None,
    minutes_ago: int | None = None,
    **fields: Any,
) -> int:
    """Adds a release and returns its id. `minutes_ago` sets published_at relative to the clock."""
    with app.app_context():
        session = db.session()
        now: datetime = app.config["CLOCK"]()
        if minutes_ago is not None:
            published_at = now - timedelta(minutes=minutes_ago)
        record: dict[str, Any] = {
            "title": title,
            "body": fields.pop("body", f"<p>{title}: Die Stadt informiert über den Stand der Dinge.</p>"),
            "city": city,
            "topics": list(topics),
            **fields,
        }
        if published_at is not None:
            record["published_at"] = published_at.isoformat()
        data = ReleaseIn.model_validate(record)
        refs = resolve_references(session, data.city, data.topics)
        assert isinstance(refs, References), refs
        city_row = catalog.city_by_slug(session, city)
        assert city_row is not None
        publisher = catalog.publishers_of_city(session, city_row)[0]
        release = create_release(
            session,
            publisher=publisher,
            fields=new_release_fields(data, data.content_hash()),
            refs=refs,
            now=now,
            tag_authority="feeds.example.test",
        )
        session.commit()
        return release.id


def get_release(app: Flask, release_id: int) -> Release:
    with app.app_context():
        release = db.session().get(Release, release_id)
        assert release is not None
        return release


def patch_release(app: Flask, release_id: int, patch: ReleasePatch) -> None:
    """Changes a release as `PATCH` does, at the app's clock."""
    with app.app_context():
        session = db.session()
        release = session.get(Release, release_id)
        assert release is not None
        city = patch.city or release.city.slug
        topics = patch.topics if patch.topics is not None else [topic.slug for topic in release.topics]
        refs = resolve_references(session, city, topics)
        assert isinstance(refs, References), refs
        update_release(session, release, update_from_patch(patch), refs, app.config["CLOCK"]())
        session.commit()


def retract(app: Flask, release_id: int) -> str:
    """Retracts a release as `DELETE` does, at the app's clock; returns its guid."""
    with app.app_context():
        release = db.session().get(Release, release_id)
        assert release is not None
        retract_release(db.session(), release, app.config["CLOCK"]())
        db.session().commit()
        return release.guid


# Who the audit log names for what the tests set up directly in the store.
BY_OPERATOR = Acting(command_actor("test-setup"))
