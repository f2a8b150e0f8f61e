"""Creating and upgrading the database schema."""

from __future__ import annotations

from sqlalchemy import Engine

from feedsvc.models import Base


def upgrade(engine: Engine) -> None:
    """Bring an empty or older database to the current schema."""
    Base.metadata.create_all(engine)
