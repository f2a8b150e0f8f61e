"""Command line: `feedsvc init-db | migrate | load-sample | import | serve | worker | …`.

One module per concern; `init_app` registers every command on the app's CLI.
Each command owns its transaction.
"""

from __future__ import annotations

from flask import Flask

from feedsvc.cli import config, data, database, serve, tokens, worker


def init_app(app: Flask) -> None:
    for command in (
        config.check_config,
        database.init_db,
        database.migrate,
        data.load_sample,
        data.import_file,
        serve.serve,
        tokens.create_token_command,
        tokens.revoke_token_command,
        tokens.list_tokens_command,
        worker.worker_command,
        worker.notify_command,
    ):
        app.cli.add_command(command)
