"""feedsvc: press releases of city press offices as Atom, RSS and JSON feeds.

`create_app` wires the parts together; each part hooks itself in with `init_app`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from feedsvc import cli, config, db, web


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    config.configure(app, test_config)
    db.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
