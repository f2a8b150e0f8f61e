"""What catalog entries were: the slugs they had, their retirement, their merges, and
which feeds each change of an entry touches.

- **Old slugs** (`SlugAlias`): a renamed entry keeps every slug it had, and an entry
  merged into another leaves its slugs to that one; each points at the entry that is
  current now, so an old URL redirects in one hop. Press offices keep their old names
  the same way. A slug stays with its entry for good, so no two feeds ever share an id.
- **Retirement**: `retired_at`; the entry takes no new releases and is listed nowhere.
- **Merges**: every row that refers to the merged entry (releases, the copies in
  `release_topics`, tokens, accounts, the cities of press offices, …) refers to the
  entry it went into; found from the foreign keys of the schema, so a table added later
  moves along. The merged row stays, retired, naming where it went.

Every write here is part of the caller's transaction and tells the feeds it changed
(`changes.bump`, kind `catalog`: caches purged, hubs pinged, through the outbox), with
release counts moved to where the releases went. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Column, Table, delete, exists, literal, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from feedsvc.models import Base, City, FeedVersion, Publisher, Region, Release, SlugAlias, Topic
from feedsvc.store import changes, counts, keys
from feedsvc.store.scope import Scope

Entry = Region | City | Topic | Publisher
KINDS: dict[str, type[Entry]] = {"region": Region, "city": City, "topic": Topic, "publisher": Publisher}
# How many keys one `IN (...)` names: SQLite allows 32,766 parameters, old builds 999.
_KEYS_PER_QUERY = 500


def kind_of(entry: Entry) -> str:
    for kind, model in KINDS.items():
        if isinstance(entry, model):
            return kind
    raise TypeError(f"not a catalog entry: {entry!r}")


def name_of(entry: Entry) -> str:
    """What names the entry in URLs and input: its slug, or a press office's name."""
    return entry.name if isinstance(entry, Publisher) else entry.slug


# The column that names an entry of each kind.
_NAMES: dict[str, InstrumentedAttribute[str]] = {
    "region": Region.slug,
    "city": City.slug,
    "topic": Topic.slug,
    "publisher": Publisher.name,
}


def entry_by_id(session: Session, kind: str, entry_id: int) -> Entry | None:
    return cast(Entry | None, session.get(KINDS[kind], entry_id))


def current(session: Session, kind: str, name: str) -> Entry | None:
    """The entry that `name` (a slug; a press office's name) names now; never a merged one."""
    model = KINDS[kind]
    query = select(model).where(_NAMES[kind] == name, model.merged_into_id.is_(None))
    return cast(Entry | None, session.scalars(query).one_or_none())


def alias_target(session: Session, kind: str, name: str) -> int | None:
    """The id of the entry an old slug (or name) stands for now, if it is one."""
    query = select(SlugAlias.target_id).where(SlugAlias.kind == kind, SlugAlias.slug == name)
    target: int | None = session.scalar(query)
    return target


def resolve(session: Session, kind: str, name: str) -> Entry | None:
    """The entry `name` names: its current slug first, else one it had (one hop)."""
    found = current(session, kind, name)
    if found is not None:
        return found
    target = alias_target(session, kind, name)
    return entry_by_id(session, kind, target) if target is not None else None


def holder(session: Session, kind: str, name: str) -> Entry | None:
    """The entry that has or had `name`, whatever its state: who a new entry or a rename
    would take it from. A merged entry's own row keeps its last slug, so it is found too."""
    model = KINDS[kind]
    found = cast(Entry | None, session.scalars(select(model).where(_NAMES[kind] == name)).first())
    if found is not None:
        return found
    target = alias_target(session, kind, name)
    return entry_by_id(session, kind, target) if target is not None else None


def former_names(session: Session, kind: str, ids: Collection[int]) -> dict[int, list[str]]:
    """The slugs (names) each entry had before, oldest first; entries without any are absent."""
    found: dict[int, list[str]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _KEYS_PER_QUERY):
        chunk = wanted[start : start + _KEYS_PER_QUERY]
        query = (
            select(SlugAlias.target_id, SlugAlias.slug)
            .where(SlugAlias.kind == kind, SlugAlias.target_id.in_(chunk))
            .order_by(SlugAlias.id)
        )
        for target_id, slug in session.execute(query):
            found.setdefault(target_id, []).append(slug)
    return found


def all_names(session: Session, kind: str) -> list[tuple[str, int]]:
    """Every name in use or kept, with the id of the entry it names now (merged rows'
    own names included): what a new name is compared with."""
    model = KINDS[kind]
    rows = [(str(name), int(row_id)) for name, row_id in session.execute(select(_NAMES[kind], model.id))]
    aliases = session.execute(select(SlugAlias.slug, SlugAlias.target_id).where(SlugAlias.kind == kind))
    return rows + [(str(name), int(target)) for name, target in aliases]


def lookalike(session: Session, kind: str, name: str) -> Entry | None:
    """The entry whose name `name` differs from only in case and spaces ("Pressestelle der
    stadt  Rosenheim"): a misspelling, not a new entry. A name the entry had counts too; a
    merged entry stands for the one it went into. The same name is no lookalike."""
    wanted = _name_key(name)
    for existing, entry_id in all_names(session, kind):
        if existing != name and _name_key(existing) == wanted:
            entry = entry_by_id(session, kind, entry_id)
            if entry is not None and entry.merged_into_id is not None:
                entry = entry_by_id(session, kind, entry.merged_into_id)
            return entry
    return None


def _name_key(name: str) -> str:
    return "".join(name.casefold().split())


def has_entries_below(session: Session, entry: Entry) -> bool:
    """Whether rows of the entry's own table refer to it (regions below a region)."""
    table = _table(type(entry))
    for column in _referring_columns(table):
        if column.table is table:
            query = select(literal(1)).select_from(table).where(column == entry.id).limit(1)
            if session.scalar(query) is not None:
                return True
    return False


def conflicting_external_ids(session: Session, source: Publisher, target: Publisher) -> list[str]:
    """External ids both press offices hold: one office cannot hold a release id twice."""
    theirs = select(Release.external_id).where(Release.publisher_id == target.id)
    query = select(Release.external_id).where(
        Release.publisher_id == source.id, Release.external_id.is_not(None), Release.external_id.in_(theirs)
    )
    return sorted(str(value) for value in session.scalars(query.order_by(Release.external_id).limit(20)))


# --- writes ----------------------------------------------------------------------------------------


def rename(session: Session, entry: Entry, new_name: str, now: datetime) -> None:
    """Gives the entry a new slug (a press office: a new name), keeping the old one as an
    alias. A slug it had before becomes its own again. Tells the feeds that show it."""
    kind, old_name = kind_of(entry), name_of(entry)
    if new_name == old_name:
        return
    touched = touched_keys(session, entry)
    session.execute(
        delete(SlugAlias).where(
            SlugAlias.kind == kind, SlugAlias.slug == new_name, SlugAlias.target_id == entry.id
        )
    )
    session.add(SlugAlias(kind=kind, slug=old_name, target_id=entry.id, created_at=now))
    if isinstance(entry, Publisher):
        entry.name = new_name
    else:
        # Its feeds keep the ids they were given with their first slug.
        entry.first_slug = entry.first_slug or old_name
        entry.slug = new_name
    session.flush()
    tell_feeds(session, touched, now)


def changed(session: Session, entry: Entry, values: dict[str, object], now: datetime) -> None:
    """Sets fields of the entry (name, state, ags, cities …); a real change tells the feeds
    that show it. A city moving to another region takes its releases and their counts along."""
    if all(getattr(entry, name) == value for name, value in values.items()):
        return
    touched = touched_keys(session, entry)
    region = values.get("region")
    if isinstance(entry, City) and isinstance(region, Region) and region.id != entry.region_id:
        hold_release_writes(session)
        session.execute(update(Release).where(Release.city_id == entry.id).values(region_id=region.id))
    for name, value in values.items():
        setattr(entry, name, value)
    session.flush()
    tell_feeds(
        session, touched | touched_keys(session, entry), now, recount=True, embargo_scope=_scope_of(entry)
    )


def retire(session: Session, entry: Entry, now: datetime) -> None:
    """The entry takes no new releases and leaves every listing; its feeds stay and say so."""
    entry.retired_at = now
    session.flush()
    tell_feeds(session, touched_keys(session, entry), now)


def merge(session: Session, source: Entry, target: Entry, now: datetime) -> None:
    """Everything of `source` goes to `target` (of the same kind): its releases, with their
    entry ids, its links, its slugs. `source` stays as a retired row naming `target`."""
    kind = kind_of(source)
    touched = touched_keys(session, source) | touched_keys(session, target)
    hold_release_writes(session)
    if isinstance(source, City) and isinstance(target, City):
        # Releases carry a copy of their city's region (for region feeds).
        session.execute(
            update(Release)
            .where(Release.city_id == source.id)
            .values(city_id=target.id, region_id=target.region_id)
        )
    _move_references(session, _table(type(source)), source.id, target.id, done={("releases", "city_id")})
    session.execute(
        update(SlugAlias)
        .where(SlugAlias.kind == kind, SlugAlias.target_id == source.id)
        .values(target_id=target.id)
    )
    session.add(SlugAlias(kind=kind, slug=name_of(source), target_id=target.id, created_at=now))
    model = KINDS[kind]
    session.execute(update(model).where(model.merged_into_id == source.id).values(merged_into_id=target.id))
    source.merged_into_id = target.id
    source.retired_at = source.retired_at or now
    session.flush()
    # The releases moved under the ORM's feet: whatever it holds of them is read again.
    session.expire_all()
    touched |= touched_keys(session, target)
    tell_feeds(session, touched, now, recount=True, embargo_scope=_scope_of(target))


def tell_feeds(
    session: Session,
    subject_keys: Iterable[str],
    now: datetime,
    *,
    recount: bool = False,
    embargo_scope: Scope | None = None,
) -> None:
    """Bumps the subjects (and the catalog, which every feed and page shows) in one outbox
    entry of kind `catalog`. With `recount`, the release counts of every subject are set
    from the releases where they differ (releases moved between subjects); an embargoed
    release that moved is announced to the subjects it is in now (`embargo_scope`)."""
    wanted = set(subject_keys) | {keys.CATALOG_KEY}
    counted: dict[str, int] = {}
    if recount:
        held = counts.counted_releases(session)
        kept = {
            key: count for key, count in session.execute(select(FeedVersion.key, FeedVersion.release_count))
        }
        counted = {
            key: held.get(key, 0) - int(kept.get(key, 0))
            for key in set(held) | set(kept)
            if key != keys.CATALOG_KEY and held.get(key, 0) != int(kept.get(key, 0))
        }
        wanted |= set(counted)
    lift = changes.next_embargo(session, embargo_scope, now) if embargo_scope is not None else None
    changes.bump(session, wanted, now, embargo_until=lift, counted=counted, event="catalog")


def touched_keys(session: Session, entry: Entry) -> set[str]:
    """The subjects whose feeds show the entry: its own feeds, and for a city or topic
    those of the releases in it (their categories name it). Press offices appear in no
    feed (an entry's author is fixed when it is published): only the catalog."""
    found = {keys.CATALOG_KEY}
    if isinstance(entry, City):
        found |= {keys.ALL_KEY, keys.scope_key(Scope(city_id=entry.id))}
        found |= keys.region_keys(session, entry.region_id)
        for topic_id in _pair_ids(session, keys.topics_of_city_pattern(entry.id), "topic"):
            found.add(keys.scope_key(Scope(topic_id=topic_id)))
            found.add(keys.scope_key(Scope(city_id=entry.id, topic_id=topic_id)))
    elif isinstance(entry, Topic):
        found |= {keys.ALL_KEY, keys.scope_key(Scope(topic_id=entry.id))}
        city_ids = _pair_ids(session, keys.cities_of_topic_pattern(entry.id), "city")
        regions = (
            set(session.scalars(select(City.region_id).where(City.id.in_(city_ids)))) if city_ids else set()
        )
        for city_id in city_ids:
            found.add(keys.scope_key(Scope(city_id=city_id)))
            found.add(keys.scope_key(Scope(city_id=city_id, topic_id=entry.id)))
        for region_id in regions:
            found |= keys.region_keys(session, region_id)
    elif isinstance(entry, Region):
        found |= keys.region_keys(session, entry.id)
    return found


def _pair_ids(session: Session, pattern: str, part: str) -> list[int]:
    """The city (or topic) ids of the city×topic subjects matching `pattern`, from the
    counters every write keeps: no release is read."""
    ids: list[int] = []
    for key in session.scalars(select(FeedVersion.key).where(FeedVersion.key.like(pattern))):
        scope = keys.scope_of_key(key)
        found = scope.city_id if part == "city" else scope.topic_id
        if found is not None and scope.city_id is not None and scope.topic_id is not None:
            ids.append(found)
    return sorted(set(ids))


def _scope_of(entry: Entry) -> Scope | None:
    if isinstance(entry, City):
        return Scope(city_id=entry.id)
    if isinstance(entry, Topic):
        return Scope(topic_id=entry.id)
    if isinstance(entry, Region):
        return Scope(region_id=entry.id)
    return None


def hold_release_writes(session: Session) -> None:
    """On PostgreSQL, makes every other write of a release wait for this transaction, so
    that a recount of what moved cannot miss a release published meanwhile (readers go
    on). SQLite's write lock, taken by `db.begin_writing`, does this already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE releases IN EXCLUSIVE MODE"))


def _table(model: type[Entry]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _referring_columns(table: Table) -> list[Column[int]]:
    """Every column of the schema that is a foreign key to `table`'s id."""
    found: list[Column[int]] = []
    for each in Base.metadata.sorted_tables:
        for foreign_key in each.foreign_keys:
            if foreign_key.column.table is table and foreign_key.column.name == "id":
                found.append(foreign_key.parent)
    return found


def _move_references(
    session: Session, table: Table, source_id: int, target_id: int, *, done: Collection[tuple[str, str]]
) -> None:
    """Rows referring to `source_id` refer to `target_id` instead. Where the reference is
    part of a primary key (a link: a token's cities, a release's topics), a row whose twin
    already refers to the target goes instead of making the same link twice. References
    from the table itself (a region's parent) are left: merges of entries with entries
    below them are refused before."""
    for column in _referring_columns(table):
        owner = column.table
        assert isinstance(owner, Table)
        if owner is table or (owner.name, column.name) in done:
            continue
        if column.primary_key:
            twin = owner.alias("twin")
            others = [other for other in owner.primary_key.columns if other is not column]
            doubled = exists().where(
                twin.c[column.name] == target_id, *(twin.c[other.name] == other for other in others)
            )
            session.execute(
                update(owner).where(column == source_id, ~doubled).values({column.name: target_id})
            )
            session.execute(delete(owner).where(column == source_id))
        else:
            session.execute(update(owner).where(column == source_id).values({column.name: target_id}))
