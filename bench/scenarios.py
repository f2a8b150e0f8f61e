"""The load runs against gunicorn: a warm-up, then a measured wrk run with the server's
CPU time per request, each scenario framed by two runs of the floor."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from bench import loadgen, servers
from bench.floorapp import FLOOR_PATH
from bench.loadgen import WrkResult
from bench.report import Figure
from feedsvc.cli.serve import ServerOptions


@dataclasses.dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    workers: int
    connections: int
    threads: int
    rounds: int
    nginx: bool
    varnish: bool = True
    # Releases published through the API per cache, while it is under load (0: none).
    publishes: int = 10
    # Page rows: fresh workers per kind of page (0: no page rows), writes before a page render.
    page_samples: int = 3
    page_writes: int = 5

    def settings(self) -> str:
        return (
            f"wrk: {self.duration:g} s per run after {self.warmup:g} s warm-up, "
            f"{self.connections} connections, {self.threads} thread(s); "
            f"app: `feedsvc serve`, {self.workers} gthread workers × {ServerOptions.threads} threads."
        )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(
    url: str,
    options: Options,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    warmup: float | None = None,
    server_pids: Callable[[], list[int]] | None = None,
) -> WrkResult:
    """A warm-up run, then the measured one (with the servers' CPU time per request)."""

    def wrk(seconds: float) -> WrkResult:
        return loadgen.run_wrk(
            url,
            duration=seconds,
            connections=options.connections,
            threads=options.threads,
            headers=headers,
            script=script,
        )

    warmup = options.warmup if warmup is None else warmup
    if warmup > 0:
        wrk(warmup)
    pids = server_pids() if server_pids else []
    cpu_before = servers.cpu_seconds(pids)
    result = wrk(options.duration)
    if not pids or not result.requests:
        return result
    cpu = servers.cpu_seconds(pids) - cpu_before
    return dataclasses.replace(result, cpu_us_per_request=cpu / result.requests * 1e6)


def mean_of(results: list[WrkResult]) -> WrkResult:
    """The first result with the mean rate and latencies of all."""
    count = len(results)
    cpus = [r.cpu_us_per_request for r in results if r.cpu_us_per_request is not None]
    return dataclasses.replace(
        results[0],
        requests_per_s=sum(r.requests_per_s for r in results) / count,
        p50_ms=sum(r.p50_ms for r in results) / count,
        p99_ms=sum(r.p99_ms for r in results) / count,
        cpu_us_per_request=sum(cpus) / len(cpus) if cpus else None,
    )


@dataclasses.dataclass(frozen=True)
class Run:
    scenario: str
    path: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    script: Path | None = None
    target: float | None = None
    note: str = ""
    warmup: float | None = None


def app_loads(
    label: str, base_url: str, runs: list[Run], options: Options, pids: Callable[[], list[int]]
) -> list[Figure]:
    """Each run between two runs of the floor, and compared with their mean: the machine's
    speed drifts (other tenants, CPU boost), a neighbouring yardstick drifts with it."""
    log(f"[{label}] floor")
    floor_url = base_url + FLOOR_PATH
    floors = [load(floor_url, options, warmup=min(options.warmup, 1.0), server_pids=pids)]
    figures: list[Figure] = []
    for run in runs:
        log(f"[{label}] {run.scenario}")
        measured = load(base_url + run.path, options, run.headers, run.script, run.warmup, pids)
        floors.append(load(floor_url, options, warmup=0, server_pids=pids))
        baseline = mean_of(floors[-2:])
        note = "; ".join(part for part in (run.note, f"floor {baseline.requests_per_s:,.0f}") if part)
        figures.append(Figure(run.scenario, measured, baseline=baseline, target=run.target, note=note))
    rates = [floor.requests_per_s for floor in floors]
    note = f"mean of {len(rates)} runs, {min(rates):,.0f} to {max(rates):,.0f}"
    floor = Figure(
        f"floor: {FLOOR_PATH}, same bytes from memory", mean_of(floors), note=note, floor_rates=rates
    )
    return [floor, *figures]
