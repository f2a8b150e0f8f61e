"""Who may write which city: the one rule for API tokens and for the desk's users.

An admin (token or user) writes every city. A publisher token and an editor write the
cities of their scope. Nothing inactive writes, and a journalist token writes nothing
(docs/api.md#tokens-and-scope, docs/pages.md#users-and-roles).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from feedsvc.models import City

ADMIN_ROLE = "admin"
# The roles that write the cities of their scope: tokens' and users' names for it.
SCOPED_WRITER_ROLES = ("publisher", "editor")


class WriteScope(Protocol):
    """What the rule reads of a token or a user."""

    @property
    def role(self) -> str: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def cities(self) -> Sequence[City]: ...


def writes_every_city(holder: WriteScope) -> bool:
    return holder.is_active and holder.role == ADMIN_ROLE


def writes_at_all(holder: WriteScope) -> bool:
    return holder.is_active and holder.role in (ADMIN_ROLE, *SCOPED_WRITER_ROLES)


def may_write_city(holder: WriteScope, city: City) -> bool:
    if writes_every_city(holder):
        return True
    return writes_at_all(holder) and any(allowed.id == city.id for allowed in holder.cities)
