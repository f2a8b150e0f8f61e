"""A suite-wide check: a test fails when feedsvc, Flask or werkzeug logged an error with a
traceback while it ran (an unhandled exception: a 500 somewhere, even if the test did not look).

A test that provokes one on purpose says so with `@pytest.mark.logs_traceback`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

WATCHED = ("feedsvc", "flask", "werkzeug")
MARKER = "logs_traceback"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and _watched(record.name):
            self.records.append(record)


def _watched(name: str) -> bool:
    # Flask's app logger is named after the app's import name ("feedsvc").
    return any(name == prefix or name.startswith(prefix + ".") for prefix in WATCHED)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test expects an error with a traceback to be logged")


@pytest.fixture(autouse=True)
def no_logged_tracebacks(request: pytest.FixtureRequest) -> Iterator[None]:
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    if collector.records and request.node.get_closest_marker(MARKER) is None:
        first = collector.records[0]
        pytest.fail(
            f"{len(collector.records)} error(s) with a traceback logged, first by {first.name}: "
            f"{first.getMessage()} (mark the test logs_traceback if that is expected)",
            pytrace=False,
        )
