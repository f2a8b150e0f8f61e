"""The checked settings: every bad value named at once, misspelt names, database URLs,
FEEDSVC_ENV=production, `check-config`, `--version`, and `serve` waiting for its database."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from feedsvc import create_app
from feedsvc.cli.database import wait_for_database
from feedsvc.cli.gunicorn_app import Application
from feedsvc.cli.serve import ServerOptions
from feedsvc.settings import ConfigError, normalise_database_url

UNREACHABLE = "postgresql://feedsvc:hunter2@127.0.0.1:1/feedsvc"


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No FEEDSVC_* variable of the machine running the tests; a database in tmp_path."""
    for name in list(os.environ):
        if name.startswith("FEEDSVC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("FEEDSVC_SECRET_KEY", "s3cret-value")
    return monkeypatch


def feedsvc(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")}
    return subprocess.run(
        [sys.executable, "-m", "feedsvc", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_bad_value_names_the_variable_the_value_and_the_accepted_form(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FEEDSVC_FEED_MAX_AGE", "abc")
    with pytest.raises(ConfigError) as raised:
        create_app()
    assert raised.value.problems == [
        "FEEDSVC_FEED_MAX_AGE='abc': Input should be a valid integer, unable to parse string as an integer; "
        "expected whole seconds, 0 or more"
    ]


def test_every_bad_value_is_reported_at_once(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FEEDSVC_FEED_MAX_AGE", "-1")
    environ.setenv("FEEDSVC_DELIVERY_INTERVAL", "0")
    environ.setenv("FEEDSVC_BASE_URL", "presse.example.org")
    environ.setenv("FEEDSVC_HUB_URLS", "https://hub.example.org/,hub2")
    environ.setenv("FEEDSVC_ENV", "prod")
    with pytest.raises(ConfigError) as raised:
        create_app()
    named = [problem.split("=", 1)[0] for problem in raised.value.problems]
    assert named == [
        "FEEDSVC_ENV",
        "FEEDSVC_BASE_URL",
        "FEEDSVC_HUB_URLS",
        "FEEDSVC_DELIVERY_INTERVAL",
        "FEEDSVC_FEED_MAX_AGE",
    ]
    assert "5 problems" in str(raised.value)
    assert "'hub2' is not an http:// or https:// URL" in str(raised.value)


def test_the_console_script_prints_the_problems_without_a_traceback(tmp_path: Path) -> None:
    result = feedsvc(
        "init-db",
        env={
            "FEEDSVC_FEED_MAX_AGE": "abc",
            "FEEDSVC_DB_POOL_SIZE": "0",
            "FEEDSVC_DATABASE_URL": "mysql://x/y",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "3 problems" in result.stderr
    for name in (
        "FEEDSVC_FEED_MAX_AGE='abc'",
        "FEEDSVC_DB_POOL_SIZE='0'",
        "FEEDSVC_DATABASE_URL='mysql://x/y'",
    ):
        assert name in result.stderr


def test_a_misspelt_variable_is_warned_about_with_the_closest_name(
    environ: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    environ.setenv("FEEDSVC_HUB_URL", "https://hub.example.org/")
    environ.setenv("FEEDSVC_FEED_MAXAGE", "10")
    environ.setenv("FEEDSVC_TEST_DATABASE_URL", "postgresql://ignored/")  # the test suite's own
    with caplog.at_level(logging.WARNING):
        app = create_app()
    warned = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert "FEEDSVC_HUB_URL is not a feedsvc setting and is ignored; did you mean FEEDSVC_HUB_URLS?" in warned
    assert any("FEEDSVC_FEED_MAXAGE" in line and "FEEDSVC_FEED_MAX_AGE?" in line for line in warned)
    assert not any("TEST_DATABASE_URL" in line for line in warned)
    assert app.config["HUB_URLS"] == [] and app.config["FEED_MAX_AGE"] == 300


def test_values_come_from_the_environment_in_their_types(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FEEDSVC_HUB_URLS", " https://a.example/ , https://b.example/hub ")
    environ.setenv("FEEDSVC_FEED_MAX_AGE", "60")
    environ.setenv("FEEDSVC_FEED_STATE_TTL", "0.5")
    environ.setenv("FEEDSVC_BASE_URL", "https://presse.example.org/")
    environ.setenv("FEEDSVC_TRUSTED_HOSTS", '["presse.example.org"]')  # Flask's own, as before
    app = create_app()
    assert app.config["HUB_URLS"] == ["https://a.example/", "https://b.example/hub"]
    assert app.config["FEED_MAX_AGE"] == 60 and app.config["FEED_STATE_TTL"] == 0.5
    assert app.config["BASE_URL"] == "https://presse.example.org"
    assert app.config["TAG_AUTHORITY"] == "presse.example.org"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["TRUSTED_HOSTS"] == ["presse.example.org"]
    assert app.config["ENV"] == "development"


def test_create_app_overrides_win_and_are_checked_too(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FEEDSVC_FEED_MAX_AGE", "60")
    assert create_app({"FEED_MAX_AGE": 5}).config["FEED_MAX_AGE"] == 5
    with pytest.raises(ConfigError, match=r"FEED_MAX_AGE \(given to create_app\)=-5"):
        create_app({"FEED_MAX_AGE": -5})


@pytest.mark.parametrize(
    "given",
    [
        "postgres://feedsvc:pw@db.example.org/feedsvc",
        "postgresql://feedsvc:pw@db.example.org/feedsvc",
        "postgresql+psycopg://feedsvc:pw@db.example.org/feedsvc",
    ],
)
def test_postgres_urls_use_the_installed_driver(given: str, environ: pytest.MonkeyPatch) -> None:
    assert normalise_database_url(given) == "postgresql+psycopg://feedsvc:pw@db.example.org/feedsvc"
    environ.setenv("FEEDSVC_DATABASE_URL", given)
    app = create_app()
    assert app.config["DATABASE_URL"].startswith("postgresql+psycopg://")
    with app.app_context():
        from feedsvc import db

        assert db.engine().dialect.driver == "psycopg"


def test_production_refuses_to_serve_without_a_base_url(tmp_path: Path) -> None:
    env = {"FEEDSVC_ENV": "production", "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    for command in (["serve"], ["worker", "--once"]):
        result = feedsvc(*command, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "FEEDSVC_BASE_URL is not set" in result.stderr
        assert "Traceback" not in result.stderr


def test_production_refuses_to_write_releases_without_an_identity(tmp_path: Path) -> None:
    env = {"FEEDSVC_ENV": "production", "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = feedsvc("load-sample", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "tag:feedsvc.localhost" in result.stderr
    # With an IP address as base the ids would still carry the placeholder.
    result = feedsvc("load-sample", env={**env, "FEEDSVC_BASE_URL": "http://10.0.0.5:8000"}, cwd=tmp_path)
    assert result.returncode == 2


def test_development_warns_before_writing_releases_without_an_identity(tmp_path: Path) -> None:
    env = {"FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = feedsvc("load-sample", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "WARNING" in result.stderr and "tag:feedsvc.localhost" in result.stderr


def test_check_config_shows_values_and_sources_with_secrets_masked(tmp_path: Path) -> None:
    env = {
        "FEEDSVC_DATABASE_URL": "postgres://feedsvc:hunter2@db.example.org/feedsvc",
        "FEEDSVC_SECRET_KEY": "very-secret-key",
        "FEEDSVC_BASE_URL": "https://presse.example.org",
        "FEEDSVC_ENV": "production",
    }
    result = feedsvc("check-config", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "very-secret-key" not in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("FEEDSVC_")}
    assert "postgresql+psycopg://feedsvc:***@db.example.org/feedsvc" in lines["FEEDSVC_DATABASE_URL"]
    assert "***" in lines["FEEDSVC_SECRET_KEY"] and "(environment)" in lines["FEEDSVC_SECRET_KEY"]
    assert lines["FEEDSVC_FEED_MAX_AGE"].split()[1] == "300"
    assert "(default)" in lines["FEEDSVC_FEED_MAX_AGE"]
    assert "(from BASE_URL)" in lines["FEEDSVC_TAG_AUTHORITY"]
    assert "configuration ok" in result.stdout

    bad = feedsvc("check-config", env={**env, "FEEDSVC_PROXY_COUNT": "one"}, cwd=tmp_path)
    assert bad.returncode == 2 and "FEEDSVC_PROXY_COUNT='one'" in bad.stderr


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = feedsvc("--version", env={}, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"feedsvc {version('feedsvc')}"


def test_waiting_for_the_database_says_so_on_one_line_per_try(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ.setenv("FEEDSVC_DATABASE_URL", UNREACHABLE)
    waits: list[float] = []
    app = create_app()
    with app.app_context(), pytest.raises(SystemExit) as exited:
        wait_for_database(attempts=4, first_wait=1, max_wait=3, sleep=waits.append)
    assert exited.value.code == 1
    assert waits == [1, 2, 3]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("database postgresql+psycopg://feedsvc:***@127.0.0.1:1/feedsvc unreachable: ")
               for line in lines)  # fmt: skip
    assert "hunter2" not in "".join(lines)


def test_serve_with_the_database_down_prints_one_line_per_retry(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--port", "0", "--no-worker"],
        env={**env, "FEEDSVC_DATABASE_URL": UNREACHABLE},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 30  # tries at 0 s, 1 s, 3 s… after the start
        while time.monotonic() < deadline and sum("unreachable" in line for line in lines) < 2:
            time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
        process.stderr.close()
    tries = [line for line in lines if "unreachable" in line]
    assert len(tries) >= 2, "".join(lines)
    assert not any("Traceback" in line for line in lines)
    assert all("trying again in" in line and "hunter2" not in line for line in tries)


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, cmd_args: str, **options: Any) -> Any:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", cmd_args)
    return Application(ServerOptions(**options)).cfg


def test_gunicorn_cmd_args_override_serve_defaults_but_not_its_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = gunicorn_settings(monkeypatch, "--workers 3 --timeout 90 --max-requests 1000")
    assert (cfg.workers, cfg.timeout, cfg.max_requests) == (3, 90, 1000)
    cfg = gunicorn_settings(
        monkeypatch, "--workers 3 --bind 0.0.0.0:9000", workers=6, explicit=frozenset({"workers"})
    )
    assert cfg.workers == 6, "an option given to serve wins"
    assert cfg.bind == ["0.0.0.0:9000"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("7", "does not divide an hour, so full hours would not be points of the grid"),
        ("0", "Input should be greater than or equal to 1"),
        ("7200", "Input should be less than or equal to 3600"),
        ("1.5", "Input should be a valid integer, unable to parse string as an integer"),
    ],
)
def test_the_expiry_grid_must_divide_an_hour(environ: pytest.MonkeyPatch, value: str, reason: str) -> None:
    environ.setenv("FEEDSVC_FEED_EXPIRY_GRID", value)
    with pytest.raises(ConfigError) as raised:
        create_app()
    assert raised.value.problems == [
        f"FEEDSVC_FEED_EXPIRY_GRID={value!r}: {reason}; expected whole seconds from 1 to 3600 that divide an "
        "hour (1, 2, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, ...)"
    ]


def test_an_expiry_grid_that_divides_an_hour_is_taken(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("FEEDSVC_FEED_EXPIRY_GRID", "300")
    assert create_app().config["FEED_EXPIRY_GRID"] == 300
