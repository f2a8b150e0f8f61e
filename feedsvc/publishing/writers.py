"""Who writes a release: which cities they may write, and for which press office.

A token writes the cities of its scope for its own press office; an admin token
writes every city, for the city's own office (docs/api.md#tokens-and-scope). A user
of the desk (an editor of some cities, or an admin) writes for the press office of
the city written about (docs/pages.md#users-and-roles). Which cities a token or a
user may write is one rule (`store.write_access`). `feedsvc import` has no token:
whoever may run it may write every city, for the press office a record (or
`--publisher`) names, else for the city's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from feedsvc.models import City, Publisher, Token, User
from feedsvc.store import catalog, catalog_history
from feedsvc.store.audit import Actor, token_actor, user_actor
from feedsvc.store.write_access import may_write_city


@dataclass(frozen=True)
class NoOffice:
    """No press office to publish for: why (the name given looks like another office's)."""

    message: str


class Writer(Protocol):
    @property
    def actor(self) -> Actor:
        """Who the audit log names for this writer's writes."""
        ...

    def may_write(self, city: City) -> bool: ...

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher | NoOffice:
        """The press office a release of `city` is published for (made if it is new)."""
        ...


@dataclass(frozen=True)
class TokenWriter:
    """The holder of an API token: through the API or signed in to the publish form."""

    token: Token

    @property
    def actor(self) -> Actor:
        return token_actor(self.token)

    def may_write(self, city: City) -> bool:
        return may_write_city(self.token, city)

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher:
        if self.token.publisher is not None:
            return self.token.publisher
        # An admin token has no office of its own: it publishes in the name of the city's.
        return catalog.office_of_city(session, city, now)


@dataclass(frozen=True)
class UserWriter:
    """A user signed in to the desk: for the press office of each city it may write."""

    user: User

    @property
    def actor(self) -> Actor:
        return user_actor(self.user)

    def may_write(self, city: City) -> bool:
        return may_write_city(self.user, city)

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher:
        return catalog.office_of_city(session, city, now)


def writer_for(holder: Token | User) -> Writer:
    """The writer of a token or a user (of whoever is signed in to the desk)."""
    return UserWriter(holder) if isinstance(holder, User) else TokenWriter(holder)


@dataclass(frozen=True)
class ImportWriter:
    """`feedsvc import`, for the office named `office_name` (None: the city's own)."""

    office_name: str | None
    # What ran the import: "feedsvc import", or the feed source the worker pulled.
    source: str = "feedsvc import"

    @property
    def actor(self) -> Actor:
        return Actor("command", None, self.source)

    def may_write(self, city: City) -> bool:
        return True

    def press_office(self, session: Session, city: City, now: datetime) -> Publisher | NoOffice:
        if self.office_name is None:
            return catalog.office_of_city(session, city, now)
        return office_for(session, self.office_name, [city], now)


def office_for(session: Session, name: str, cities: Sequence[City], now: datetime) -> Publisher | NoOffice:
    """The press office of this name (or of this former name), else a new one for `cities`;
    but never a second office under a name that differs from an existing one only in case
    or spaces (a misspelt name): that is refused, naming the office meant."""
    found = catalog_history.resolve(session, "publisher", name)
    if isinstance(found, Publisher):
        return found
    lookalike = _lookalike_problem(session, name)
    if lookalike is not None:
        return NoOffice(lookalike)
    return catalog.upsert_publisher(session, name, cities, now)


def office_name_problem(session: Session, name: str) -> str | None:
    """Why releases cannot be published for the press office `name`, if they cannot: it is
    retired, or the name only looks like another office's (a new name is no problem: the
    office is made on first use)."""
    found = catalog_history.resolve(session, "publisher", name)
    if isinstance(found, Publisher):
        return (
            f"the press office '{found.name}' is retired: it takes no new releases"
            if found.is_retired
            else None
        )
    return _lookalike_problem(session, name)


def retired_office(session: Session, name: str) -> str | None:
    """The name of the press office `name` (or a former name) means, if it is retired."""
    found = catalog_history.resolve(session, "publisher", name)
    return found.name if isinstance(found, Publisher) and found.is_retired else None


def office_meant(session: Session, name: str) -> str | None:
    """The name of the existing press office that `name` only looks like (it differs in
    case or spaces), if there is one: `name` would make a second office by mistake."""
    if isinstance(catalog_history.resolve(session, "publisher", name), Publisher):
        return None
    lookalike = catalog_history.lookalike(session, "publisher", name)
    return None if lookalike is None else catalog_history.name_of(lookalike)


def _lookalike_problem(session: Session, name: str) -> str | None:
    meant = office_meant(session, name)
    if meant is None:
        return None
    return (
        f"there is no press office '{name}'; did you mean '{meant}'? "
        "Names that differ only in case or spaces name one office"
    )
