"""The `feedsvc` console script: Flask's command group around `create_app`.

A configuration that cannot be used ends the command with the list of its problems
(`feedsvc.settings.ConfigError`) and exit status 2, without a traceback."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import click
from flask import Flask
from flask.cli import FlaskGroup

from feedsvc import create_app
from feedsvc.settings import ConfigError


def package_version() -> str:
    try:
        return version("feedsvc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as error:
        click.echo(str(error), err=True)
        sys.exit(2)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"feedsvc {package_version()}")
        ctx.exit()


VERSION_OPTION = click.Option(
    ["--version"],
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show feedsvc's version and exit.",
)


def main() -> None:
    FlaskGroup(
        create_app=_create_app,
        add_version_option=False,
        params=[VERSION_OPTION],
        help="feedsvc: press releases as feeds.",
    )()


if __name__ == "__main__":
    main()
