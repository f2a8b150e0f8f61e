"""The warm-up a server's worker does before its first request (feedsvc/web/warmup.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from feedsvc import create_app, db
from feedsvc.web import warmup


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


@pytest.mark.usefixtures("unfrozen")
def test_warm_up_renders_each_kind_of_page(sample_app: Flask) -> None:
    shown = warmup.sample_paths(sample_app)
    assert shown[0] == "/" and shown[-1] == warmup.SEARCH_PATH
    assert any(path.startswith("/cities/") for path in shown)
    assert any(path.startswith("/regions/") for path in shown)
    assert any(path.startswith("/topics/") for path in shown)
    assert any(path.startswith("/releases/") for path in shown)
    client = sample_app.test_client()
    assert all(client.get(path).status_code == 200 for path in shown)
    warmup.warm_up(sample_app)
    compiled = {template.name for template in sample_app.jinja_env.cache.values()}  # type: ignore[union-attr]
    assert set(warmup.page_templates(sample_app)) <= compiled
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
def test_warm_up_without_a_database_leaves_the_pages_to_the_first_requests(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3", "SECRET_KEY": "t"}
    )
    try:
        warmup.warm_up(app)  # no tables: no exception, a warning
    finally:
        with app.app_context():
            db.engine().dispose()
    assert "warm-up rendered no pages" in caplog.text
