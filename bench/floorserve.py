"""`feedsvc serve` with the benchmark's floor routes: `python -m bench.floorserve [serve options]`.

The benchmark measures what users run, so its app server is the `serve` command itself:
the same checks and migration before forking, prometheus_client's multiprocess mode,
gunicorn with gthread workers whose client sockets time out (`feedsvc/cli/serve.py`,
`feedsvc/cli/gunicorn_worker.py`) and the warm-up of every worker. Only the app each
worker loads differs: `bench.floorapp:create_app()`, feedsvc's app plus `/_floor` and
`/_floor_bare`. Run from the repository's root (bench/servers.py does), so that `bench`
can be imported in the workers.
"""

from __future__ import annotations

import sys

from feedsvc.__main__ import main
from feedsvc.cli import serve

FLOOR_APP_URI = "bench.floorapp:create_app()"


def run(arguments: list[str]) -> None:
    # Read by `serve.served_app()` in each worker after the fork: the workers inherit it.
    serve.APP_URI = FLOOR_APP_URI
    sys.argv = ["feedsvc", "serve", *arguments]
    main()


if __name__ == "__main__":
    run(sys.argv[1:])
