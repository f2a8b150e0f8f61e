"""The feed benchmark: `python bench/run.py [--sizes 10k,100k,1m] [--duration 10] [--quick]`.

Per dataset size: cold render time in-process; then gunicorn (feedsvc plus the `/_floor`
route, 2 sync workers) loaded by wrk: the floor, the hot feed, 200 feeds round robin, 304s,
gzip; peak memory per worker; then, when nginx is installed, the hot feed through the shipped
nginx config's cache against nginx serving the same bytes as a file. Prints a Markdown table
and writes it to bench/results/latest.md. Everything listens on 127.0.0.1 and is stopped at
the end, however the run ends. Exit status: 0, also when targets are missed (see the table);
1 when a server answered wrongly (no 304, no gzip, no cache hit...); 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))
    try:
        import feedsvc  # noqa: F401
    except ImportError:  # started with a Python that lacks the project: use its venv
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable) != venv_python:
            os.execv(venv_python, [str(venv_python), *sys.argv])
        raise

from bench import loadgen, measure, servers  # noqa: E402
from bench.dataset import Dataset, ensure_dataset, parse_size, size_label  # noqa: E402
from bench.floorapp import BARE_FLOOR_PATH  # noqa: E402
from bench.report import (  # noqa: E402
    HOT_VS_FLOOR,
    NGINX_VS_STATIC,
    NOT_MODIFIED_VS_FLOOR,
    SPREAD_VS_FLOOR,
    Figure,
    SizeResult,
    render,
)
from bench.scenarios import Options, Run, app_loads, load, log  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.md"


def bench_size(label: str, dataset: Dataset, options: Options, workdir: Path) -> SizeResult:
    manifest = dataset.manifest
    port = servers.free_port()
    base_url = f"http://127.0.0.1:{port}"
    hot = measure.hot_path(manifest)

    log(f"[{label}] cold renders in-process")
    app = measure.make_app(dataset.url, base_url)
    hot_body = measure.render_once(app, hot)
    cold = measure.cold_render(app, measure.cold_paths(manifest), rounds=options.rounds)
    del app
    floor_file = workdir / "floor.bin"
    floor_file.write_bytes(hot_body)

    made = "reused" if dataset.reused else "generated now"
    result = SizeResult(
        label=label,
        releases=manifest.releases,
        dataset_note=(
            f"{made} (generation took {manifest.seconds:.1f} s); feed_versions: {manifest.feed_versions}"
        ),
        hot_path=hot,
        hot_bytes=len(hot_body),
        cold=cold,
        load_average=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
    )
    with ExitStack() as stack:
        log(f"[{label}] starting gunicorn on {base_url}")
        app_server = servers.start_gunicorn(
            database_url=dataset.url,
            floor_file=floor_file,
            workdir=workdir,
            workers=options.workers,
            port=port,
        )
        stack.callback(app_server.stop)
        problems, etag = measure.check_feed_http(base_url, hot)
        spread = measure.spread_paths(manifest)
        problems += measure.check_spread(base_url, spread)
        result.problems = problems
        script = loadgen.cycle_script(spread, workdir)

        spread_warmup = min(60.0, max(options.warmup, 2 * len(spread) * cold.median_ms / 1000))
        runs = [
            Run("hot feed, full GET", hot, target=HOT_VS_FLOOR),
            Run(
                f"{len(spread)} feeds round robin",
                "/",
                script=script,
                target=SPREAD_VS_FLOOR,
                warmup=spread_warmup,
            ),
            Run("hot feed, If-None-Match → 304", hot, {"If-None-Match": etag}, target=NOT_MODIFIED_VS_FLOOR),
            Run("hot feed, Accept-Encoding: gzip", hot, {"Accept-Encoding": "gzip"}, note="no target"),
            Run(f"bare WSGI: same bytes at {BARE_FLOOR_PATH}, before Flask", BARE_FLOOR_PATH, note="ceiling"),
        ]

        def workers() -> list[int]:
            return servers.child_pids(app_server.process.pid)

        result.figures = app_loads(
            label, base_url, [run for run in runs if etag or "304" not in run.scenario], options, workers
        )
        for figure in result.figures:
            # A 304 has no body: a few hundred bytes of headers per response, not a feed.
            if "304" in figure.scenario and figure.result.bytes_per_request > 2048:
                size = figure.result.bytes_per_request
                result.problems.append(f"the 304 run read {size:,.0f} bytes per response: not 304s")

        if options.nginx:
            nginx_through(label, result, options, workdir, app_server.port, stack)
        result.worker_peak_mb = [servers.peak_rss_mb(pid) for pid in workers()]
    return result


def nginx_through(
    label: str, result: SizeResult, options: Options, workdir: Path, upstream: int, stack: ExitStack
) -> None:
    """The hot feed from the shipped nginx config's cache, against nginx sending a file."""
    if servers.nginx_binary() is None:
        result.nginx_note = f"not installed, skipped ({servers.NGINX_INSTALL_HINT})"
        return
    proxy_port, static_port = servers.free_port(), servers.free_port()
    config = servers.render_nginx_config(
        workdir, upstream_port=upstream, proxy_port=proxy_port, static_port=static_port
    )
    complaint = servers.check_nginx_config(config)
    if complaint:
        result.nginx_note = f"nginx -t refused the config: {complaint.strip()}"
        return
    (workdir / "static" / "hot.atom").write_bytes(
        measure.probe(f"http://127.0.0.1:{upstream}{result.hot_path}").body
    )
    (workdir / "static" / "hot.atom").chmod(0o644)
    log(f"[{label}] nginx")
    nginx = servers.start_nginx(config, proxy_port=proxy_port, static_port=static_port)
    stack.callback(nginx.stop)
    proxied_url = f"http://127.0.0.1:{proxy_port}{result.hot_path}"
    statuses = measure.cache_statuses(f"http://127.0.0.1:{proxy_port}", result.hot_path)
    result.nginx_note = f"X-Cache-Status of 3 GETs in a row: {', '.join(statuses)}"
    if statuses[-1] != "HIT":
        result.problems.append(f"nginx does not cache the hot feed (X-Cache-Status {statuses})")

    def workers() -> list[int]:
        return servers.child_pids(nginx.process.pid)

    static = load(f"http://127.0.0.1:{static_port}/hot.atom", options, server_pids=workers)
    proxied = load(proxied_url, options, server_pids=workers)
    result.nginx_figures = [
        Figure("nginx: same bytes as a static file", static),
        Figure("nginx: hot feed from proxy_cache", proxied, baseline=static, target=NGINX_VS_STATIC),
    ]


def parse_args(argv: list[str] | None) -> tuple[list[int], Options, Path]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k, 100k, 1m, or numbers")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk before each measured run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--no-nginx", action="store_true", help="skip the nginx comparison")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k only, 2 s runs, 1 s warm-up")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the Markdown table goes too")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.warmup = "10k", min(args.duration, 2.0), min(args.warmup, 1.0)
    sizes = [parse_size(size) for size in args.sizes.split(",") if size.strip()]
    rounds = 1 if args.quick else 3
    options = Options(
        args.duration, args.warmup, args.workers, args.connections, args.threads, rounds, not args.no_nginx
    )
    return sizes, options, args.output


def main(argv: list[str] | None = None) -> int:
    sizes, options, output = parse_args(argv)
    ignored = sorted(name for name in os.environ if name.startswith("FEEDSVC_"))
    for name in ignored:  # the in-process app would read them; the servers never see them
        del os.environ[name]
    if ignored:
        log(f"ignoring {', '.join(ignored)}: the benchmark runs feedsvc with its defaults")
    if loadgen.wrk_binary() is None:
        log(f"wrk is not installed. Install it with:\n    {loadgen.INSTALL_HINT}")
        return 2
    results: list[SizeResult] = []
    for releases in sizes:
        label = size_label(releases)
        log(f"[{label}] dataset")
        dataset = ensure_dataset(releases, progress=log)
        with tempfile.TemporaryDirectory(prefix=f"feedsvc-bench-{label}-") as workdir:
            results.append(bench_size(label, dataset, options, Path(workdir)))
    command = shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    text = render(results, title="feedsvc feed benchmark", command=command, settings=options.settings())
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    log(f"written to {output}")
    # Slow is a MISS in the table; a server that answers wrongly fails the run (for CI).
    return 1 if any(result.problems for result in results) else 0


def _stop_on_signal(signum: int, _frame: object) -> None:
    # SystemExit unwinds the ExitStacks, which stop gunicorn and nginx.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop_on_signal)
    sys.exit(main())
