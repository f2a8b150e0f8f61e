"""`feedsvc check-config`, and the checks commands make of the settings before they start:
production refuses to serve, or to write releases, without the site's identity, and
warns while a legal page (Impressum, Datenschutzerklärung, Barrierefreiheit) is missing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import legal
from feedsvc.config import loaded_settings
from feedsvc.settings import PREFIX, Settings, mask

_warned: set[str] = set()


@click.command("check-config")
@with_appcontext
def check_config() -> None:
    """Print the effective settings (secrets masked) and where each came from."""
    loaded = loaded_settings(current_app)
    values = loaded.settings.model_dump()
    width = max(len(PREFIX + key) for key in Settings.model_fields)
    for key in Settings.model_fields:
        shown = _shown(key, values[key])
        click.echo(f"{PREFIX + key:<{width}}  {shown:<40}  ({loaded.sources.get(key, 'default')})")
    if loaded.settings.SECRET_KEY is None and current_app.config["SECRET_KEY"]:
        click.echo("(no FEEDSVC_SECRET_KEY: the key kept in the instance folder signs the publish form)")
    click.echo("legal pages:")
    for status in legal.statuses(Path(current_app.config["INSTANCE_PATH"])):
        shown = "unusable (see below)" if status.state == "unusable" else status.state
        click.echo(f"  {status.page.path:<18}  {shown:<20}  {status.file}")
    for problem in identity_problems() + legal_page_problems():
        click.echo(f"warning: {problem}", err=True)
    click.echo("configuration ok")


def _shown(key: str, value: Any) -> str:
    if isinstance(value, list):
        return ",".join(value) or "(none)"
    if value is None:
        return "(unset)"
    return str(mask(key, str(value)))


def identity_problems() -> list[str]:
    """What is wrong with the site's identity: without FEEDSVC_BASE_URL, links come from the
    request's Host header and new entry ids use a placeholder authority."""
    problems = []
    if not current_app.config["BASE_URL"]:
        problems.append("FEEDSVC_BASE_URL is not set: feed and page links follow each request's Host header")
    if loaded_settings(current_app).tag_authority_is_fallback:
        problems.append(
            "neither FEEDSVC_TAG_AUTHORITY nor a FEEDSVC_BASE_URL with a DNS name is set: new entry ids "
            f"would be tag:{current_app.config['TAG_AUTHORITY']},… for ever"
        )
    return problems


def legal_page_problems() -> list[str]:
    """What is wrong with the legal pages (`feedsvc.legal`): each that cannot be shown, and in
    production each that is missing, which a German public body must publish before going live."""
    problems = []
    for status in legal.statuses(Path(current_app.config["INSTANCE_PATH"])):
        if status.state == "unusable":
            problems.append(f"{status.page.path} cannot be shown: {status.problem}")
        elif status.state == "missing" and production():
            problems.append(
                f"{status.page.path} has no page: {status.file} is missing; a German public body must "
                f"publish its {status.page.title} before the site goes live"
            )
    return problems


def warn_about_legal_pages() -> None:
    """A warning for each problem of the legal pages, as a server starts: it serves all the
    same (a missing page answers 404 and is left out of the footer)."""
    for problem in legal_page_problems():
        current_app.logger.warning("%s (docs/operations.md#site-identity-and-legal-pages)", problem)


def production() -> bool:
    return bool(current_app.config["ENV"] == "production")


def require_base_url(
    command: str, consequence: str = "feed and page links would follow each request's Host header"
) -> None:
    """Production: `command` is refused (exit 2) without FEEDSVC_BASE_URL. Development: a
    warning, once per process."""
    if current_app.config["BASE_URL"]:
        return
    message = f"FEEDSVC_BASE_URL is not set: {consequence}"
    if production():
        click.echo(
            f"{message}. Set it (e.g. https://presse.example.org) to {command} in production.", err=True
        )
        sys.exit(2)
    if command not in _warned:
        _warned.add(command)
        current_app.logger.warning("%s (fine for development; FEEDSVC_ENV=production refuses it)", message)


def require_identity(command: str) -> None:
    """Production: writing releases is refused (exit 2) while new entry ids would carry the
    placeholder authority. Development: a warning."""
    if not loaded_settings(current_app).tag_authority_is_fallback:
        return
    authority = current_app.config["TAG_AUTHORITY"]
    message = (
        f"neither FEEDSVC_TAG_AUTHORITY nor FEEDSVC_BASE_URL is set: the releases written now get ids "
        f"tag:{authority},… for ever"
    )
    if production():
        click.echo(f"{message}. Set FEEDSVC_BASE_URL (or FEEDSVC_TAG_AUTHORITY) to {command} in production.",
                   err=True)  # fmt: skip
        sys.exit(2)
    current_app.logger.warning("%s; set FEEDSVC_BASE_URL before going live", message)
