"""Command line: `feedsvc init-db | migrate | load-sample | import | serve | worker | …`.

One module per concern; `init_app` registers every command on the app's CLI.
Each command owns its transaction.
"""

from __future__ import annotations

from flask import Flask

from feedsvc.cli import (
    audit,
    catalog,
    config,
    data,
    database,
    feed_sources,
    mail_subscribers,
    municipalities,
    serve,
    tokens,
    users,
    webhooks,
    worker,
)


def init_app(app: Flask) -> None:
    for command in (
        audit.audit_command,
        catalog.catalog_group,
        config.check_config,
        database.init_db,
        database.migrate,
        data.load_sample,
        data.import_file,
        feed_sources.feed_sources_group,
        mail_subscribers.mail_subscribers_group,
        municipalities.import_municipalities,
        serve.serve,
        tokens.create_token_command,
        tokens.revoke_token_command,
        tokens.list_tokens_command,
        users.create_user_command,
        users.list_users_command,
        users.deactivate_user_command,
        users.set_password_command,
        webhooks.webhooks_group,
        worker.worker_command,
        worker.notify_command,
    ):
        app.cli.add_command(command)
