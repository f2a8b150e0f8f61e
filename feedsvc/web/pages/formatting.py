"""Jinja filters of the HTML pages: dates as German readers expect them.

Times are shown in Europe/Berlin, whatever the server's time zone; `<time>`
elements carry the exact instant with its offset for machines.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

BERLIN = ZoneInfo("Europe/Berlin")
MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


def local(value: datetime) -> datetime:
    return value.astimezone(BERLIN)


def german_date(value: datetime) -> str:
    """`25. November 2026`"""
    moment = local(value)
    return f"{moment.day}. {MONTHS[moment.month - 1]} {moment.year}"


def german_datetime(value: datetime) -> str:
    """`25. November 2026, 13:00 Uhr`"""
    return f"{german_date(value)}, {local(value):%H:%M} Uhr"


def iso_datetime(value: datetime) -> str:
    """RFC 3339 with the Berlin offset, for `<time datetime>` and metadata."""
    return local(value).isoformat()


def datetime_local_value(value: datetime) -> str:
    """The value of an `<input type="datetime-local">`: Berlin wall-clock time to the minute."""
    return f"{local(value):%Y-%m-%dT%H:%M}"


def init_app(app: Flask) -> None:
    app.add_template_filter(german_date, "german_date")
    app.add_template_filter(german_datetime, "german_datetime")
    app.add_template_filter(iso_datetime, "iso_datetime")
