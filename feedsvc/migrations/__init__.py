"""Alembic migrations of the feedsvc schema, run from code by `runner` (no alembic.ini).

The models (`feedsvc.models`) and these migrations must agree; a test compares them.
The full-text search objects are backend-specific (a generated tsvector column and
its GIN index on PostgreSQL, an FTS5 table and its triggers on SQLite), so they exist
only in migration 0004 and are left out of that comparison by `include_object`.
"""

from __future__ import annotations

from typing import Any

# Created by migration 0004 and not described by the models.
SEARCH_COLUMNS = frozenset({("releases", "search_vector")})
SEARCH_INDEXES = frozenset({"ix_releases_search"})
SEARCH_TABLE_PREFIX = "releases_fts"  # the FTS5 table and its shadow tables


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any | None) -> bool:
    """Alembic's filter for autogenerate: everything except the search objects."""
    if type_ == "table" and name is not None and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and (obj.table.name, name) in SEARCH_COLUMNS:
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)
