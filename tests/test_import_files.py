"""`feedsvc import`: records without an external_id recognised on a re-import, and every
bad record of a file reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from feedsvc import db
from feedsvc.models import Release, ReleaseImage
from tests.conftest import AppFactory


def record(**fields: Any) -> dict[str, Any]:
    return {
        "city": "rosenheim",
        "topics": ["verkehr-mobilitaet"],
        "title": "Innbrücke ab Montag gesperrt",
        "body": "<p>Wegen Bauarbeiten bleibt die Brücke eine Woche zu.</p>",
        "published_at": "2026-11-23T09:00:00+01:00",
        **fields,
    }


def releases(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Release)) or 0


def write_lines(path: Path, *lines: Any) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_a_record_without_external_id_is_recognised_when_imported_again(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    before = releases(sample_app)
    file = write_lines(tmp_path / "releases.jsonl", record(), record(title="Neue Buslinie 12"))
    first = runner.invoke(args=["import", str(file)])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    again = runner.invoke(args=["import", str(file)])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 2 unchanged" in again.output
    assert releases(sample_app) == before + 2

    changed = write_lines(tmp_path / "changed.jsonl", record(body="<p>Die Sperrung dauert zwei Wochen.</p>"))
    result = runner.invoke(args=["import", str(changed)])
    assert "0 created, 1 updated" in result.output, "same city, title and date: the same release"
    assert releases(sample_app) == before + 2


def test_every_bad_record_of_a_file_is_reported_at_once(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    before = releases(sample_app)
    file = write_lines(
        tmp_path / "bad.jsonl",
        record(),
        '{"city": "rosenheim", "title": ',  # malformed JSON
        record(topics=["verkehr"]),
        "[1, 2]",
        record(city="atlantis"),
        record(title=""),
    )
    result = runner.invoke(args=["import", str(file)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("line 2: malformed JSON")
    assert any(line.startswith("line 3: topics.0") for line in lines)
    assert "line 4: a record must be a JSON object" in lines
    assert any(line.startswith("line 6: title") for line in lines)
    assert lines[-1] == "nothing was imported"
    assert releases(sample_app) == before


def test_sample_images_are_site_paths_shown_on_the_requests_base(make_app: AppFactory) -> None:
    app = make_app(BASE_URL=None)
    result = app.test_cli_runner().invoke(args=["load-sample"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session().scalars(select(ReleaseImage.url)).all()
    assert stored and all(url.startswith("/static/sample/") for url in stored), "no host or port baked in"
    client = app.test_client()
    for base in ("http://localhost:5000", "https://presse.example.test:8443"):
        feed = client.get("/feed.json", base_url=base).get_json()
        urls = [item["image"] for item in feed["items"] if "image" in item]
        urls += [attachment["url"] for item in feed["items"] for attachment in item.get("attachments", [])]
        assert urls and all(url.startswith(f"{base}/static/sample/") for url in urls), urls[:3]
