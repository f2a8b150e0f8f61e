"""Fixtures of the tests that race writers against each other's unique constraints.

A test module using `insert_rendezvous` says how many writers race in `RACERS`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, UOWTransaction

from feedsvc.models import Release


@contextmanager
def recorded_integrity_errors() -> Iterator[list[BaseException]]:
    """Every IntegrityError any engine raises meanwhile, as the driver reported it."""
    seen: list[BaseException] = []

    def record(context: Any) -> None:
        if isinstance(context.sqlalchemy_exception, IntegrityError):
            seen.append(context.original_exception)

    event.listen(Engine, "handle_error", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "handle_error", record)


@contextmanager
def inserts_held_until_all_arrive(parties: int) -> Iterator[None]:
    """Holds each thread's first insert of a release until `parties` threads reached theirs.

    So every request has checked for its key and found nothing before any of them
    writes: exactly the race that only the unique constraint can settle.
    """
    barrier = threading.Barrier(parties, timeout=30)
    # The racers are threads the test starts; its own thread is never held, so fixtures that
    # add releases may be set up after this one (a `usefixtures` mark comes first).
    arrived: set[int] = {threading.get_ident()}

    def hold(session: Session, _context: UOWTransaction, _instances: object) -> None:
        if threading.get_ident() not in arrived and any(isinstance(obj, Release) for obj in session.new):
            arrived.add(threading.get_ident())
            barrier.wait()

    event.listen(Session, "before_flush", hold)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", hold)


@pytest.fixture
def integrity_errors() -> Iterator[list[BaseException]]:
    with recorded_integrity_errors() as seen:
        yield seen


@pytest.fixture
def insert_rendezvous(request: pytest.FixtureRequest) -> Iterator[None]:
    with inserts_held_until_all_arrive(request.module.RACERS):
        yield
