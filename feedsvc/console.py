"""The `feedsvc` console script: Flask's command group around `create_app`."""

from __future__ import annotations

from flask.cli import FlaskGroup

from feedsvc import create_app


def main() -> None:
    FlaskGroup(create_app=create_app, add_version_option=False, help="feedsvc: press releases as feeds.")()


if __name__ == "__main__":
    main()
