"""The feed benchmark: `python bench/run.py [--sizes 10k,100k,1m] [--duration 10] [--quick]`.

Per dataset size: cold render time in-process; the page rows (bench/pages.py: each kind of
page on its first hit in a fresh gunicorn worker, the first request after start against a
minimal Django app, a city page's first render after a write; `--pages-only` stops there);
then `feedsvc serve` (gthread workers; feedsvc plus the `/_floor` route, bench/floorserve.py)
loaded by wrk: the floor, the hot feed, 200 feeds round robin, 304s, gzip; peak memory per
worker; then, through each cache that is installed (Varnish with deploy/varnish/feedsvc.vcl,
nginx with deploy/nginx/feedsvc.conf), the hot feed, the 200 feeds and 304s, each against
nginx serving the same bytes as static files in the same run, and publish-to-visible through
each cache while wrk loads it (into a copy of the dataset); `--caches-only` skips the page
rows and the app's own load rows. Prints a Markdown table and writes it to
bench/results/latest.md. Everything listens on 127.0.0.1 and is stopped at the end, however
the run ends. Exit status: 0, also when targets are missed (see the table); 1 when a server
answered wrongly (no 304, no gzip, no cache hit...); 2 when wrk is missing.
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

from bench import caches, loadgen, measure, pages, sanitiser, servers  # noqa: E402
from bench.dataset import Dataset, ensure_dataset, parse_size, size_label  # noqa: E402
from bench.floorapp import BARE_FLOOR_PATH  # noqa: E402
from bench.report import (  # noqa: E402
    HOT_VS_FLOOR,
    NOT_MODIFIED_VS_FLOOR,
    SPREAD_VS_FLOOR,
    SizeResult,
    render,
)
from bench.scenarios import Options, Run, app_loads, log  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.md"


def bench_size(
    label: str,
    dataset: Dataset,
    options: Options,
    workdir: Path,
    pages_only: bool = False,
    caches_only: bool = False,
) -> SizeResult:
    manifest = dataset.manifest
    port = servers.free_port()
    base_url = f"http://127.0.0.1:{port}"
    hot = measure.hot_path(manifest)

    # Publishing writes: into a copy, so the cached dataset stays as generated.
    publishing = options.publishes > 0 and (options.nginx or options.varnish) and not pages_only
    writing = publishing or (options.page_samples > 0 and options.page_writes > 0)
    database_url = caches.working_copy(dataset.url, workdir) if writing else dataset.url

    log(f"[{label}] cold renders in-process")
    app = measure.make_app(database_url, base_url)
    hot_body = measure.render_once(app, hot)
    cold = measure.cold_render(app, measure.cold_paths(manifest), rounds=options.rounds)
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
    if options.page_samples > 0 and not caches_only:
        # Before the load runs, so no busy gunicorn shares the machine with the first hits.
        pages.measure_pages(label, result, app, manifest, database_url, workdir, options.page_samples)
        if options.page_writes > 0:
            pages.measure_write(label, result, manifest, database_url, workdir, options.page_writes)
    del app
    if pages_only:
        return result
    with ExitStack() as stack:
        log(f"[{label}] starting gunicorn on {base_url}")
        app_server = servers.start_gunicorn(
            database_url=database_url,
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

        if not caches_only:
            wanted = [run for run in runs if etag or "304" not in run.scenario]
            result.figures = app_loads(label, base_url, wanted, options, workers)
        for figure in result.figures:
            # A 304 has no body: a few hundred bytes of headers per response, not a feed.
            if "304" in figure.scenario and figure.result.bytes_per_request > 2048:
                size = figure.result.bytes_per_request
                result.problems.append(f"the 304 run read {size:,.0f} bytes per response: not 304s")

        if options.nginx or options.varnish:
            caches.run_caches(
                label, result, options, workdir, app_server, database_url, spread, script, etag, stack
            )
        result.worker_peak_mb = [servers.peak_rss_mb(pid) for pid in workers()]
    return result


def parse_args(argv: list[str] | None) -> tuple[list[int], Options, Path, bool, bool]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k, 100k, 1m, or numbers")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk before each measured run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of `feedsvc serve`")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--no-nginx", action="store_true", help="skip nginx (cache and static yardstick)")
    parser.add_argument("--no-varnish", action="store_true", help="skip Varnish")
    parser.add_argument(
        "--publishes", type=int, default=None, help="publishes per cache under load (default 20, --quick 4)"
    )
    parser.add_argument(
        "--page-samples",
        type=int,
        default=None,
        help="fresh gunicorn workers per kind of page for the page rows (default 3, --quick 1; 0: none)",
    )
    parser.add_argument(
        "--page-writes",
        type=int,
        default=None,
        help="writes before a city page render (default 5, --quick 2)",
    )
    parser.add_argument("--pages-only", action="store_true", help="only the page rows (and cold render)")
    parser.add_argument(
        "--caches-only",
        action="store_true",
        help="only the cache rows (Varnish, nginx, nginx static) and publish to visible",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k only, 2 s runs, 1 s warm-up")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the Markdown table goes too")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.warmup = "10k", min(args.duration, 2.0), min(args.warmup, 1.0)
    sizes = [parse_size(size) for size in args.sizes.split(",") if size.strip()]
    rounds = 1 if args.quick else 3
    publishes = args.publishes if args.publishes is not None else (4 if args.quick else 20)
    options = Options(
        args.duration,
        args.warmup,
        args.workers,
        args.connections,
        args.threads,
        rounds,
        not args.no_nginx,
        not args.no_varnish,
        publishes,
        args.page_samples if args.page_samples is not None else (1 if args.quick else 3),
        args.page_writes if args.page_writes is not None else (2 if args.quick else 5),
    )
    if args.pages_only and args.caches_only:
        parser.error("--pages-only and --caches-only exclude each other")
    return sizes, options, args.output, args.pages_only, args.caches_only


def main(argv: list[str] | None = None) -> int:
    sizes, options, output, pages_only, caches_only = parse_args(argv)
    ignored = sorted(name for name in os.environ if name.startswith("FEEDSVC_"))
    for name in ignored:  # the in-process app would read them; the servers never see them
        del os.environ[name]
    if ignored:
        log(f"ignoring {', '.join(ignored)}: the benchmark runs feedsvc with its defaults")
    if loadgen.wrk_binary() is None and not pages_only:
        log(f"wrk is not installed. Install it with:\n    {loadgen.INSTALL_HINT}")
        return 2
    results: list[SizeResult] = []
    for releases in sizes:
        label = size_label(releases)
        log(f"[{label}] dataset")
        dataset = ensure_dataset(releases, progress=log)
        with tempfile.TemporaryDirectory(prefix=f"feedsvc-bench-{label}-") as workdir:
            results.append(bench_size(label, dataset, options, Path(workdir), pages_only, caches_only))
    command = shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    text = render(results, title="feedsvc feed benchmark", command=command, settings=options.settings())
    # The sanitiser's cost per KB (bench/sanitiser.py): flat across sizes when it is linear.
    text += "\n\n```\n" + sanitiser.table() + "```\n"
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
