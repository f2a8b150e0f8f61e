"""Benchmark datasets: N releases over 2,000 cities in 60 regions, 20 topics, three years.

    .venv/bin/python bench/dataset.py --size 100k            # cached in bench/.data/
    .venv/bin/python bench/dataset.py --size 10k --url postgresql+psycopg://postgres@127.0.0.1/feedsvc_bench

The schema comes from `feedsvc.migrations.runner.upgrade`; rows are bulk-inserted with SQLAlchemy Core
(executemany in batches, a transaction per chunk). A cached SQLite file is keyed by size, seed
and a fingerprint of the schema, so a schema change makes a new dataset; it is built under a
temporary name and renamed when complete, so an interrupted run never leaves a half dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Engine, Table, event, func, insert, select, text

from bench.rows import CATALOG_AT, Batch, Catalog, ReleaseFactory, Tally, build_catalog
from feedsvc.db import make_engine
from feedsvc.migrations import runner
from feedsvc.models import Base

# Bump when the generator's output changes in a way the sources of rows.py and textgen.py
# (hashed into the cache key too) do not show, e.g. a new store rule in feedsvc.text.
GENERATOR_VERSION = "2"
DATA_DIR = Path(__file__).resolve().parent / ".data"
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
BATCH = 5_000
CHUNK = 100_000  # releases per transaction
Progress = Callable[[str], None]


@dataclass
class Manifest:
    """What the load runner needs to know of a dataset, stored beside it as JSON."""

    releases: int
    seed: int
    fingerprint: str
    seconds: float
    feed_versions: str
    cities: list[tuple[str, int]]  # slug, visible releases; most first
    topics: list[tuple[str, int]]
    regions: list[tuple[str, int]]
    city_topics: list[tuple[str, str, int]]  # the 200 biggest city×topic feeds

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for name in ("cities", "topics", "regions", "city_topics"):
            data[name] = [tuple(item) for item in data[name]]
        return cls(**data)


@dataclass(frozen=True)
class Dataset:
    url: str
    manifest: Manifest
    reused: bool


def parse_size(label: str) -> int:
    label = label.strip().lower()
    if label in SIZES:
        return SIZES[label]
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if label.endswith(suffix) and label[:-1].isdigit():
            return int(label[:-1]) * factor
    if label.isdigit() and int(label) > 0:
        return int(label)
    raise ValueError(f"not a dataset size: {label!r} (use e.g. 10k, 100k, 1m or a number)")


def size_label(releases: int) -> str:
    for label, value in SIZES.items():
        if value == releases:
            return label
    return str(releases)


def schema_fingerprint() -> str:
    """Hash of the SQL that `runner.upgrade` produces on an empty SQLite database and of
    the generator's own sources: either changing makes a new dataset."""
    engine = make_engine("sqlite://")
    try:
        runner.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"))
            ddl = "\n".join(f"{row[0]} {row[1]} {row[2]}" for row in rows)
    finally:
        engine.dispose()
    here = Path(__file__).resolve().parent
    sources = "".join((here / name).read_text(encoding="utf-8") for name in ("rows.py", "textgen.py"))
    return hashlib.sha256(f"{GENERATOR_VERSION}\n{ddl}\n{sources}".encode()).hexdigest()[:12]


def ensure_dataset(
    releases: int,
    *,
    seed: int = 1,
    directory: Path = DATA_DIR,
    force: bool = False,
    progress: Progress = print,
) -> Dataset:
    """The cached SQLite dataset of this size, generated first when missing."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"feedsvc-{size_label(releases)}-s{seed}-{schema_fingerprint()}"
    path, manifest_path = directory / f"{stem}.sqlite3", directory / f"{stem}.json"
    if path.exists() and manifest_path.exists() and not force:
        return Dataset(f"sqlite:///{path}", Manifest.load(manifest_path), reused=True)
    partial = directory / f"{stem}.partial.sqlite3"
    for half_built in directory.glob(f"{stem}.partial.sqlite3*"):
        half_built.unlink()
    manifest = generate(f"sqlite:///{partial}", releases, seed=seed, progress=progress)
    partial.replace(path)
    manifest.save(manifest_path)
    # Older schemas' datasets of this size only take disk space; they go once the new one is
    # complete (not before: an interrupted run, or a source edited meanwhile, would lose both).
    for leftover in directory.glob(f"feedsvc-{size_label(releases)}-s{seed}-*"):
        if not leftover.name.startswith(f"{stem}.") or ".partial." in leftover.name:
            leftover.unlink()
    return Dataset(f"sqlite:///{path}", manifest, reused=False)


def generate(url: str, releases: int, *, seed: int = 1, progress: Progress = print) -> Manifest:
    """Creates the schema at `url` (which must hold no releases yet) and fills it."""
    started = time.perf_counter()
    rng = random.Random(seed)
    catalog = build_catalog(rng, cities=2000, regions=60)
    factory = ReleaseFactory(catalog, rng, releases)
    engine = make_engine(url)
    _tune_for_load(engine)
    try:
        runner.upgrade(engine)
        with engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(_table("releases"))):
                raise SystemExit(f"{url} already holds releases: give an empty database")
            _insert_catalog(connection, catalog)
            connection.commit()
            for first in range(1, releases + 1, CHUNK):
                for start in range(first, min(first + CHUNK, releases + 1), BATCH):
                    batch = Batch()
                    for release_id in range(start, min(start + BATCH, releases + 1)):
                        factory.add(batch, release_id)
                    _insert_batch(connection, batch)
                connection.commit()
                done = min(first + CHUNK - 1, releases)
                progress(f"  {done:>9,} / {releases:,} releases, {time.perf_counter() - started:6.1f} s")
            versions = _record_feed_versions(engine, factory.tally)
            _finish(connection)
    finally:
        engine.dispose()
    return _manifest(catalog, factory.tally, releases, seed, time.perf_counter() - started, versions)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _tune_for_load(engine: Engine) -> None:
    """On SQLite (already WAL, from `make_engine`): no fsyncs, a big page cache."""
    if engine.dialect.name != "sqlite":
        return

    def tune(dbapi_connection: Any, _record: Any) -> None:
        # Durability is worthless for a dataset we can rebuild; speed is not.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-524288")  # 512 MiB
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    event.listen(engine, "connect", tune)


def _insert_catalog(connection: Connection, catalog: Catalog) -> None:
    for name, rows in (
        ("regions", catalog.regions),
        ("cities", catalog.cities),
        ("topics", catalog.topics),
        ("publishers", catalog.publishers),
        ("publisher_cities", catalog.publisher_cities),
    ):
        connection.execute(insert(_table(name)), rows)


def _insert_batch(connection: Connection, batch: Batch) -> None:
    connection.execute(insert(_table("releases")), batch.releases)
    if batch.topics:
        connection.execute(insert(_table("release_topics")), batch.topics)
    if batch.images:
        connection.execute(insert(_table("release_images")), batch.images)


def _record_feed_versions(engine: Engine, tally: Tally) -> str:
    """Gives every feed subject its change counter, through the store's own `bump`."""
    try:
        from feedsvc.store import changes, counts, keys
        from feedsvc.store.scope import Scope
    except ImportError:
        return "absent (no feedsvc.store.changes)"
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        changes.bump(session, [keys.CATALOG_KEY], CATALOG_AT)
        # In time order, as the writes happened: bump also logs and prunes recent changes.
        for key_fields, changed in sorted(tally.changed.items(), key=lambda item: item[1]):
            city_id, topic_id, region_id = key_fields
            key = keys.scope_key(Scope(city_id=city_id, topic_id=topic_id, region_id=region_id))
            changes.bump(session, [key], changed)
        # The rows went in around the store: count what each subject holds, as writes keep it.
        counts.recount_releases(session)
        session.commit()
    return f"{len(tally.changed) + 1:,} subjects via changes.bump, counted by recount_releases"


def _finish(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Ids were given explicitly: move each sequence past them so the API can insert.
        for name in ("regions", "cities", "topics", "publishers", "releases", "release_images"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE(MAX(id), 1)) FROM {name}"
            )
        connection.commit()
        connection.exec_driver_sql("ANALYZE")
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.commit()


def _manifest(
    catalog: Catalog, tally: Tally, releases: int, seed: int, seconds: float, versions: str
) -> Manifest:
    city_slug = {int(row["id"]): str(row["slug"]) for row in catalog.cities}
    topic_slug = {int(row["id"]): str(row["slug"]) for row in catalog.topics}
    region_slug = {int(row["id"]): str(row["slug"]) for row in catalog.regions}
    return Manifest(
        releases=releases,
        seed=seed,
        fingerprint=schema_fingerprint(),
        seconds=round(seconds, 1),
        feed_versions=versions,
        cities=[(city_slug[i], n) for i, n in tally.city.most_common()],
        topics=[(topic_slug[i], n) for i, n in tally.topic.most_common()],
        regions=[(region_slug[i], n) for i, n in tally.region.most_common()],
        city_topics=[(city_slug[c], topic_slug[t], n) for (c, t), n in tally.city_topic.most_common(200)],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="10k", help="10k, 100k, 1m or a number of releases")
    parser.add_argument("--url", help="SQLAlchemy URL of an empty database (default: cached SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="rebuild the cached file even if present")
    args = parser.parse_args(argv)
    releases = parse_size(args.size)
    if args.url:
        manifest = generate(args.url, releases, seed=args.seed)
        print(f"{releases:,} releases written to {args.url} in {manifest.seconds:.1f} s")
        return
    dataset = ensure_dataset(releases, seed=args.seed, force=args.force)
    state = "reused" if dataset.reused else f"generated in {dataset.manifest.seconds:.1f} s"
    print(f"{dataset.url} ({state}; feed_versions: {dataset.manifest.feed_versions})")


if __name__ == "__main__":
    main()
