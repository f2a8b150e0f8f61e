"""Release counts kept per subject: every write keeps them equal to what the
releases say, and overview counts read from them equal a count of the releases."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedsvc import db
from feedsvc.models import City, FeedVersion, Release, Topic
from feedsvc.publishing.input import ReleasePatch
from feedsvc.store import catalog, counts
from feedsvc.store.scope import Scope
from tests.conftest import FakeClock
from tests.factories import add_release, make_catalog, patch_release, retract


def visible_by_brute_force(session: Session, app: Flask) -> dict[str, Counter[int]]:
    """Visible releases per subject, read one by one: what the kept counts must say."""
    now = app.config["CLOCK"]()
    tally: dict[str, Counter[int]] = {}

    def count(name: str, key: int) -> None:
        tally.setdefault(name, Counter())[key] += 1

    for release in session.scalars(select(Release)):
        if release.retracted_at is not None or release.published_at > now:
            continue
        count("all", 0)
        count("city", release.city_id)
        count("region", release.region_id)
        for topic in release.topics:
            count("topic", topic.id)
            count(f"topics-of-city:{release.city_id}", topic.id)
            count(f"topics-of-region:{release.region_id}", topic.id)
            count(f"cities-of-topic:{topic.id}", release.city_id)
    return tally


def assert_counts_agree(app: Flask) -> None:
    now = app.config["CLOCK"]()
    with app.app_context():
        session = db.session()
        kept = {
            row.key: row.release_count for row in session.scalars(select(FeedVersion)) if row.release_count
        }
        assert kept == {key: n for key, n in counts.counted_releases(session).items() if n}

        expected = visible_by_brute_force(session, app)

        def wanted(name: str) -> dict[int, int]:
            return dict(expected.get(name, Counter()))

        def topics(**where: int) -> dict[int, int]:
            return {topic.id: n for topic, n in counts.topic_counts(session, now, **where)}

        assert counts.visible_total(session, Scope(), now) == wanted("all").get(0, 0)
        assert counts.city_counts(session, now) == wanted("city")
        assert topics() == wanted("topic")
        for city in session.scalars(select(City)):
            assert counts.visible_total(session, Scope(city_id=city.id), now) == wanted("city").get(
                city.id, 0
            )
            region_total = counts.visible_total(session, Scope(region_id=city.region_id), now)
            assert region_total == wanted("region").get(city.region_id, 0)
            assert topics(city_id=city.id) == wanted(f"topics-of-city:{city.id}")
            assert topics(region_id=city.region_id) == wanted(f"topics-of-region:{city.region_id}")
        for topic in session.scalars(select(Topic)):
            assert counts.visible_total(session, Scope(topic_id=topic.id), now) == wanted("topic").get(
                topic.id, 0
            )
            assert counts.city_counts(session, now, topic_id=topic.id) == wanted(
                f"cities-of-topic:{topic.id}"
            )


def test_every_write_keeps_the_counts_that_overviews_read(app: Flask, clock: FakeClock) -> None:
    make_catalog(app)
    assert_counts_agree(app)
    first = add_release(app, topics=("kultur", "verkehr"), minutes_ago=30)
    add_release(app, city="bad-aibling", topics=("kultur",), minutes_ago=20)
    add_release(app, city="muenchen", minutes_ago=10)
    embargoed = add_release(app, topics=("verkehr",), published_at=clock.now + timedelta(hours=1))
    assert_counts_agree(app)
    # Moving a release to another city and other topics moves its counts.
    patch_release(app, first, ReleasePatch(city="muenchen", topics=["soziales-familie", "kultur"]))
    assert_counts_agree(app)
    patch_release(app, first, ReleasePatch(title="Nur der Titel ändert sich"))
    assert_counts_agree(app)
    retract(app, first)
    assert_counts_agree(app)
    clock.advance(hours=1)  # the embargo runs out: counted without any write
    assert_counts_agree(app)
    patch_release(app, embargoed, ReleasePatch(published_at=clock.now + timedelta(days=1)))
    assert_counts_agree(app)
    with app.app_context():  # a municipal reform: Bad Aibling moves to the München region
        session = db.session()
        region = session.scalars(select(City).where(City.slug == "muenchen")).one().region
        catalog.upsert_city(session, "bad-aibling", "Bad Aibling", "Bayern", region, "09187117")
        session.commit()
    assert_counts_agree(app)


def test_a_recount_after_a_bulk_load_sets_counts_and_keeps_versions(app: Flask) -> None:
    make_catalog(app)
    add_release(app, topics=("kultur",), minutes_ago=5)
    with app.app_context():
        session = db.session()
        before = {row.key: (row.version, row.changed_us) for row in session.scalars(select(FeedVersion))}
        session.execute(update(FeedVersion).values(release_count=7))
        counts.recount_releases(session)
        session.commit()
        after = session.scalars(select(FeedVersion)).all()
        assert {row.key: (row.version, row.changed_us) for row in after} == before
        assert {row.key: row.release_count for row in after if row.release_count} == (
            counts.counted_releases(session)
        )


def test_overview_pages_show_the_kept_counts(app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    make_catalog(app)
    for minutes in (30, 20, 10):
        add_release(app, topics=("kultur",), minutes_ago=minutes)
    add_release(app, topics=("kultur",), published_at=clock.now + timedelta(hours=1))
    page = client.get("/topics/kultur").get_data(as_text=True)
    assert '<p class="page-head__count">3 Pressemitteilungen</p>' in page  # the embargoed one not yet
    clock.advance(hours=1)
    page = client.get("/topics/kultur").get_data(as_text=True)
    assert '<p class="page-head__count">4 Pressemitteilungen</p>' in page
