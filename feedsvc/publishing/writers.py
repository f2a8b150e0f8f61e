"""Who writes a release: which cities they may write, and for which press office.

A token writes the cities of its scope for its own press office; an admin token
writes every city, for the city's own office (docs/api.md#tokens-and-scope).
`feedsvc import` has no token: whoever may run it may write every city, for the
press office a record (or `--publisher`) names, else for the city's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher, Token
from feedsvc.store import catalog
from feedsvc.store.tokens import may_write_city


class Writer(Protocol):
    def may_write(self, city: City) -> bool: ...

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher:
        """The press office a release of `city` is published for (made if it is new)."""
        ...


@dataclass(frozen=True)
class TokenWriter:
    """The holder of an API token: through the API or signed in to the publish form."""

    token: Token

    def may_write(self, city: City) -> bool:
        return may_write_city(self.token, city)

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher:
        if self.token.publisher is not None:
            return self.token.publisher
        # An admin token has no office of its own: it publishes in the name of the city's.
        return catalog.office_of_city(session, city, now)


@dataclass(frozen=True)
class ImportWriter:
    """`feedsvc import`, for the office named `office_name` (None: the city's own)."""

    office_name: str | None

    def may_write(self, city: City) -> bool:
        return True

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher:
        if self.office_name is None:
            return catalog.office_of_city(session, city, now)
        found = catalog.publisher_by_name(session, self.office_name)
        return found or catalog.upsert_publisher(session, self.office_name, [city], now)
