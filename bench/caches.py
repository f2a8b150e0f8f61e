"""The caches in front: Varnish with deploy/varnish/feedsvc.vcl and nginx with
deploy/nginx/feedsvc.conf, each against nginx sending the same bytes as static files,
measured in the same run; then publish-to-visible through each cache under load.

Both caches and the static server sit in front of the benchmark's gunicorn. The static
server holds the hot feed and the spread feeds at their own paths, so one wrk script
loads all three alike.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen, measure, servers
from bench.loadgen import WrkResult
from bench.report import CACHE_VS_STATIC, Figure, PublishRun, SizeResult
from bench.scenarios import Options, load, log
from feedsvc import db
from feedsvc.store.audit import Acting, command_actor
from feedsvc.store.keys import release_key, release_keys
from feedsvc.store.releases import release_by_id
from feedsvc.store.tokens import create_token
from feedsvc.worker.delivery import feed_paths
from feedsvc.worker.purge import purge


@dataclass
class Front:
    """A cache in front of the app (or the static yardstick)."""

    name: str
    server: servers.Server
    base_url: str
    purge_urls: list[str] = field(default_factory=list)

    def pids(self) -> list[int]:
        return servers.child_pids(self.server.process.pid)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    headers: dict[str, str]
    script: Path | None = None
    warmup: float | None = None


def start_fronts(
    workdir: Path, upstream: int, options: Options, result: SizeResult, stack: ExitStack
) -> tuple[Front | None, list[Front]]:
    """nginx (its static yardstick beside it) and Varnish, whichever are installed and asked for."""
    notes: list[str] = []
    static: Front | None = None
    fronts: list[Front] = []
    if options.nginx and servers.nginx_binary() is not None and servers.cache_purge_module() is None:
        notes.append(
            f"nginx's cache purge module is not installed, nginx skipped ({servers.NGINX_INSTALL_HINT})"
        )
    elif options.nginx and servers.nginx_binary() is not None:
        # Started as root, nginx's workers run as nobody: they must get into the run's directory.
        workdir.chmod(0o755)
        nginx_dir = workdir / "nginx"
        proxy_port, static_port = servers.free_port(), servers.free_port()
        config = servers.render_nginx_config(
            nginx_dir, upstream_port=upstream, proxy_port=proxy_port, static_port=static_port
        )
        complaint = servers.check_nginx_config(config)
        if complaint:
            result.problems.append(f"nginx -t refused the config: {complaint.strip()}")
        else:
            nginx = servers.start_nginx(config, proxy_port=proxy_port, static_port=static_port)
            stack.callback(nginx.stop)
            static = Front("nginx static", nginx, f"http://127.0.0.1:{static_port}")
            base = f"http://127.0.0.1:{proxy_port}"
            fronts.append(Front("nginx", nginx, base, [base + "/.feedsvc/purge"]))
    elif options.nginx:
        notes.append(f"nginx not installed, skipped ({servers.NGINX_INSTALL_HINT})")
    if options.varnish and servers.varnishd_binary() is not None:
        port = servers.free_port()
        vcl = servers.render_vcl(workdir / "varnish", backend_ports=[upstream])
        varnish = servers.start_varnish(vcl, port=port, memory="512m", quiet=True)
        stack.callback(varnish.stop)
        base = f"http://127.0.0.1:{port}"
        fronts.append(Front("Varnish", varnish, base, [base + "/"]))
    elif options.varnish:
        notes.append(f"Varnish not installed, skipped ({servers.VARNISH_INSTALL_HINT})")
    if static is None and fronts:
        notes.append("no nginx to serve the static yardstick: cache rows have no ratio")
    result.cache_note = "; ".join(notes)
    return static, fronts


def write_static(static_root: Path, origin: str, paths: list[str]) -> None:
    """The app's bytes of each path as a file at that path."""
    for path in paths:
        target = static_root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(measure.probe(origin + path).body)
    for entry in (static_root, *static_root.rglob("*")):
        entry.chmod(0o755 if entry.is_dir() else 0o644)


def check_hits(front: Front, path: str, result: SizeResult) -> str:
    """The cache status of three GETs in a row; a problem when the last was no hit."""
    statuses = []
    for _ in range(3):
        answer = measure.probe(front.base_url + path)
        statuses.append(answer.header("X-Cache") or answer.header("X-Cache-Status") or "-")
    if not statuses[-1].startswith("HIT"):
        result.problems.append(f"{front.name} does not cache {path} ({', '.join(statuses)})")
    return f"{front.name}: {', '.join(statuses)}"


def cache_loads(
    label: str,
    static: Front | None,
    fronts: list[Front],
    scenarios: list[Scenario],
    options: Options,
    etag_of: Callable[[Front], str],
) -> list[Figure]:
    """Per scenario: the static yardstick, then each cache, one right after the other."""
    figures: list[Figure] = []
    for scenario in scenarios:
        baseline: WrkResult | None = None
        for front in ([static] if static else []) + fronts:
            headers = dict(scenario.headers)
            if "If-None-Match" in headers:
                headers["If-None-Match"] = etag_of(front)
            log(f"[{label}] {front.name}: {scenario.name}")
            measured = load(
                front.base_url + scenario.path,
                options,
                headers,
                scenario.script,
                scenario.warmup,
                front.pids,
            )
            if front is static:
                baseline = measured
                figures.append(Figure(f"nginx static: {scenario.name}", measured, note="yardstick"))
            else:
                name = f"{front.name}: {scenario.name}"
                figures.append(Figure(name, measured, baseline=baseline, target=CACHE_VS_STATIC))
    return figures


class Publisher:
    """Publishes through the API of the app, as a press office would, and purges as the
    delivery worker does: the release's subjects and its own key, after the commit."""

    def __init__(self, database_url: str, origin: str, city: str) -> None:
        self.origin = origin
        self.city = city
        self.app = measure.make_app(database_url, origin)
        with self.app.app_context():
            session = db.session()
            _, self.secret = create_token(
                session, role="admin", now=datetime.now(UTC), label="bench", by=Acting(command_actor("bench"))
            )
            session.commit()

    def publish(self, title: str) -> tuple[int, float]:
        record: dict[str, Any] = {
            "title": title,
            "body": f"<p>{title}: Die Stadt informiert über den Stand der Dinge.</p>",
            "city": self.city,
        }
        request = urllib.request.Request(
            f"{self.origin}/api/v1/releases",
            data=json.dumps(record).encode(),
            headers={"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            created: dict[str, Any] = json.loads(response.read())
        return int(created["id"]), time.time()

    def purge(self, front: Front, release_id: int) -> None:
        """The delivery worker's purge for this release's change: its subjects' keys and its
        own, and (for a cache that purges by path) every feed of those subjects."""
        with self.app.app_context():
            session = db.session()
            release = release_by_id(session, release_id)
            assert release is not None
            subjects = sorted(release_keys(release))
            paths = feed_paths(session, subjects)
            session.rollback()
        purge(front.purge_urls, [*subjects, release_key(release_id)], paths)

    def close(self) -> None:
        with self.app.app_context():
            db.engine().dispose()


def publish_to_visible(
    front: Front, publisher: Publisher, path: str, script: Path, options: Options, count: int
) -> PublishRun:
    """`count` publishes while wrk loads the cache with the spread feeds; for each, the time
    from the API's answer until the cache shows the release at `path`."""
    spacing = 0.4
    duration = max(options.duration, count * spacing + 2.0)
    loaded: list[WrkResult] = []

    def background() -> None:
        loaded.append(
            loadgen.run_wrk(
                front.base_url + "/",
                duration=duration,
                connections=options.connections,
                threads=options.threads,
                script=script,
            )
        )

    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    time.sleep(1.0)  # the load is on
    latencies: list[float] = []
    failures = 0
    for number in range(count):
        title = f"Messung {number + 1}: Bekanntmachung {uuid.uuid4().hex[:8]}"
        release_id, acknowledged = publisher.publish(title)
        publisher.purge(front, release_id)
        deadline = acknowledged + 10.0
        while True:
            if title.encode() in measure.probe(front.base_url + path).body:
                latencies.append(time.time() - acknowledged)
                break
            if time.time() > deadline:
                failures += 1
                break
            time.sleep(0.01)
        time.sleep(spacing)
    thread.join(timeout=duration + 90)
    return PublishRun(front.name, latencies, failures, loaded[0] if loaded else None)


def working_copy(database_url: str, workdir: Path) -> str:
    """A copy of the SQLite dataset to publish into, so the cached dataset stays as generated."""
    if not database_url.startswith("sqlite:///"):
        return database_url
    source_path = Path(database_url.removeprefix("sqlite:///"))
    target_path = workdir / "dataset.sqlite3"
    wal = source_path.with_name(source_path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        # Checkpointed and closed, as generated: the file alone is the whole database, and a plain
        # copy of it takes seconds where the backup API takes minutes at 1M releases.
        shutil.copyfile(source_path, target_path)
        return f"sqlite:///{target_path}"
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{target_path}"


def run_caches(
    label: str,
    result: SizeResult,
    options: Options,
    workdir: Path,
    origin: servers.Server,
    database_url: str,
    spread: list[str],
    script: Path,
    etag: str,
    stack: ExitStack,
) -> None:
    """Cache rows and publish-to-visible rows of one dataset size."""
    hot = result.hot_path
    static, fronts = start_fronts(workdir, origin.port, options, result, stack)
    if not fronts:
        return
    if static is not None:
        write_static(workdir / "nginx" / "static", origin.base_url, [hot, *spread])
    statuses = [check_hits(front, hot, result) for front in fronts]
    result.cache_note = "; ".join(part for part in [result.cache_note, *statuses] if part)
    static_etag = measure.probe(static.base_url + hot).header("ETag") if static else ""

    def etag_of(front: Front) -> str:
        return static_etag if front is static else etag

    spread_warmup = max(options.warmup, 2.0)
    scenarios = [
        Scenario("hot feed, full GET", hot, {}),
        Scenario(f"{len(spread)} feeds round robin", "/", {}, script, spread_warmup),
        Scenario("hot feed, If-None-Match → 304", hot, {"If-None-Match": ""}),
    ]
    result.cache_figures = cache_loads(label, static, fronts, scenarios, options, etag_of)
    for figure in result.cache_figures:
        if "304" in figure.scenario and figure.result.bytes_per_request > 2048:
            result.problems.append(
                f"{figure.scenario}: {figure.result.bytes_per_request:,.0f} bytes/response"
            )
    if options.publishes <= 0:
        return
    city = hot.removeprefix("/cities/").split("/")[0]
    publisher = Publisher(database_url, origin.base_url, city)
    try:
        for front in fronts:
            log(f"[{label}] {front.name}: publish to visible under load")
            run = publish_to_visible(front, publisher, hot, script, options, options.publishes)
            result.publish_runs.append(run)
            if run.failures:
                result.problems.append(
                    f"{front.name}: {run.failures} published releases never became visible"
                )
    finally:
        publisher.close()
