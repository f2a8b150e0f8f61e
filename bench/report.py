"""The benchmark's tables: one per dataset size, then one across sizes, as Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.loadgen import WrkResult
from bench.measure import ColdRender

# Targets of the benchmark: ratios to the floor / to nginx static, and absolute limits.
HOT_VS_FLOOR = 0.9
NOT_MODIFIED_VS_FLOOR = 0.9
SPREAD_VS_FLOOR = 0.8
CACHE_VS_STATIC = 0.9  # Varnish and nginx caches against nginx sending the same bytes as files
PUBLISH_P99_S = 1.0  # from the API's answer until the cache shows the release, under load
COLD_MS = 20.0
COLD_GROWTH = 1.5  # largest dataset / smallest
WORKER_MB = 150.0
NOISY = 0.3  # floor runs further apart than this (of their mean): the machine was busy
PAGE_FIRST_MS = 100.0  # every page on its first hit in a fresh worker
FIRST_VS_DJANGO = 1.0  # feedsvc's first request after start / a minimal Django app's
WRITE_GROWTH = 1.5  # first city page render after a write: largest dataset / smallest


@dataclass
class Figure:
    """One load run, compared with its yardstick (the floor, or nginx serving a file)."""

    scenario: str
    result: WrkResult
    baseline: WrkResult | None = None
    target: float | None = None
    note: str = ""
    floor_rates: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.requests_per_s:
            return None
        return self.result.requests_per_s / self.baseline.requests_per_s


@dataclass
class PublishRun:
    """Publishes while a cache is under load: seconds from each API answer until visible."""

    front: str
    latencies_s: list[float]
    failures: int = 0
    load: WrkResult | None = None

    @property
    def p50_s(self) -> float | None:
        ordered = sorted(self.latencies_s)
        return ordered[(len(ordered) - 1) // 2] if ordered else None

    @property
    def p99_s(self) -> float | None:
        """Nearest rank: with fewer than 100 publishes, the slowest."""
        ordered = sorted(self.latencies_s)
        if not ordered:
            return None
        return ordered[min(len(ordered), -(-99 * len(ordered) // 100)) - 1]

    @property
    def passed(self) -> bool | None:
        p99 = self.p99_s
        return None if p99 is None else (p99 <= PUBLISH_P99_S and not self.failures)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class PageFirst:
    """One kind of page: its first request in fresh gunicorn workers (one per sample), and
    the same page requested again right after, by the same worker."""

    kind: str
    paths: list[str]
    first_ms: list[float] = field(default_factory=list)
    again_ms: list[float] = field(default_factory=list)
    bytes: int = 0

    @property
    def passed(self) -> bool | None:
        first = median(self.first_ms)
        return None if first is None else first <= PAGE_FIRST_MS


@dataclass
class StartFirst:
    """The first request after the worker started: feedsvc's page against a minimal Django
    app's template page, each in fresh workers started the same way."""

    path: str
    feedsvc_ms: list[float] = field(default_factory=list)
    django_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        ours, theirs = median(self.feedsvc_ms), median(self.django_ms)
        return None if ours is None or not theirs else ours / theirs


@dataclass
class WriteRender:
    """A city page's first render after each write through the API (and the render after it)."""

    path: str
    first_ms: list[float] = field(default_factory=list)
    again_ms: list[float] = field(default_factory=list)


@dataclass
class SizeResult:
    label: str
    releases: int
    dataset_note: str
    hot_path: str
    hot_bytes: int
    figures: list[Figure] = field(default_factory=list)
    cache_figures: list[Figure] = field(default_factory=list)
    cache_note: str = ""
    publish_runs: list[PublishRun] = field(default_factory=list)
    cold: ColdRender | None = None
    worker_peak_mb: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    load_average: str = ""
    pages: list[PageFirst] = field(default_factory=list)
    start: StartFirst | None = None
    write: WriteRender | None = None
    pages_note: str = ""


def floor_spread(floor: Figure) -> float | None:
    """(max - min) / mean of the floor runs, from the note the runner leaves."""
    rates = floor.floor_rates
    if len(rates) < 2:
        return None
    return (max(rates) - min(rates)) / (sum(rates) / len(rates))


def verdict(passed: bool | None) -> str:
    return "" if passed is None else ("PASS" if passed else "MISS")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table whose columns are padded to line up in a terminal too."""
    cells = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(cells[0]), rule + "|", *(line(row) for row in cells[1:])])


def _figure_row(figure: Figure, yardstick: str) -> list[str]:
    result, ratio = figure.result, figure.ratio
    passed = None if figure.target is None or ratio is None else ratio >= figure.target
    errors = result.socket_errors + result.non_2xx_3xx
    note = "; ".join(part for part in (figure.note, f"{errors} errors/non-2xx-3xx" if errors else "") if part)
    return [
        figure.scenario,
        f"{result.requests_per_s:,.0f}",
        f"{result.p50_ms:.2f}",
        f"{result.p99_ms:.2f}",
        f"{result.bytes_per_request:,.0f}",
        f"{result.cpu_us_per_request:,.0f}" if result.cpu_us_per_request is not None else "-",
        "1.00" if figure.baseline is None else (f"{ratio:.2f}" if ratio is not None else "-"),
        f"≥ {figure.target:.2f} × {yardstick}" if figure.target is not None else "",
        verdict(passed),
        note,
    ]


def publish_table(runs: Sequence[PublishRun]) -> str:
    """Publish to visible through each cache, with the load it was under."""
    header = [
        "publish → visible, under load",
        "publishes",
        "p50 s",
        "p99 s",
        "max s",
        "load req/s",
        "target",
        "",
    ]
    rows = []
    for run in runs:
        latencies = run.latencies_s
        p50, p99 = run.p50_s, run.p99_s
        rows.append(
            [
                f"{run.front}: API answer → release in the hot feed"
                + (f" ({run.failures} never shown)" if run.failures else ""),
                str(len(latencies) + run.failures),
                f"{p50:.3f}" if p50 is not None else "-",
                f"{p99:.3f}" if p99 is not None else "-",
                f"{max(latencies):.3f}" if latencies else "-",
                f"{run.load.requests_per_s:,.0f}" if run.load else "-",
                f"p99 ≤ {PUBLISH_P99_S:g} s",
                verdict(run.passed),
            ]
        )
    return table(header, rows, (1, 2, 3, 4, 5))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def pages_table(result: SizeResult) -> str:
    """Pages on first hit in fresh workers; the first request after start against Django;
    the first render of a city page after a write."""
    header = ["page", "first hit ms (median)", "max ms", "again ms", "bytes", "target", "", "example"]
    rows = [
        [
            f"{page.kind}: first hit in a fresh worker ({len(page.first_ms)}×)",
            _ms(median(page.first_ms)),
            _ms(max(page.first_ms, default=None)),
            _ms(median(page.again_ms)),
            f"{page.bytes:,}",
            f"≤ {PAGE_FIRST_MS:.0f} ms",
            verdict(page.passed),
            f"`{page.paths[0]}`" if page.paths else "",
        ]
        for page in result.pages
    ]
    if (start := result.start) is not None:
        ratio = start.ratio
        rows.append(
            [
                f"first request after start ({len(start.feedsvc_ms)}×): feedsvc",
                _ms(median(start.feedsvc_ms)),
                _ms(max(start.feedsvc_ms, default=None)),
                "",
                "",
                f"≤ {FIRST_VS_DJANGO:.2f} × Django",
                verdict(None if ratio is None else ratio <= FIRST_VS_DJANGO),
                f"`{start.path}`" + (f"; {ratio:.2f} × Django" if ratio is not None else ""),
            ]
        )
        rows.append(
            [
                f"first request after start ({len(start.django_ms)}×): minimal Django app",
                _ms(median(start.django_ms)),
                _ms(max(start.django_ms, default=None)),
                "",
                "",
                "yardstick",
                "",
                start.note or "`/`, one template",
            ]
        )
    if (write := result.write) is not None:
        rows.append(
            [
                f"first render after a write through the API ({len(write.first_ms)}×)",
                _ms(median(write.first_ms)),
                _ms(max(write.first_ms, default=None)),
                _ms(median(write.again_ms)),
                "",
                f"≤ {WRITE_GROWTH:g} × smallest size",
                "",
                f"`{write.path}`",
            ]
        )
    lines = [table(header, rows, (1, 2, 3, 4))]
    if result.pages_note:
        lines += ["", f"Pages: {result.pages_note}"]
    return "\n".join(lines)


def size_section(result: SizeResult, settings: str) -> str:
    lines = [
        f"### {result.label} releases ({result.releases:,})",
        "",
        f"Dataset: {result.dataset_note}.",
        f"Hot feed: `{result.hot_path}`, {result.hot_bytes:,} bytes. {settings}",
        "",
    ]
    header = [
        "load",
        "req/s",
        "p50 ms",
        "p99 ms",
        "bytes/resp",
        "server CPU µs/req",
        "ratio",
        "target",
        "",
        "note",
    ]
    right = (1, 2, 3, 4, 5, 6)
    rows = [_figure_row(figure, "floor") for figure in result.figures]
    rows += [_figure_row(figure, "nginx static") for figure in result.cache_figures]
    if rows:
        lines.append(table(header, rows, right))
    if result.cache_note:
        lines += ["", f"Caches: {result.cache_note}"]
    if result.publish_runs:
        lines += ["", publish_table(result.publish_runs)]
    if result.pages or result.start or result.write:
        lines += ["", pages_table(result)]
    if result.figures and (spread := floor_spread(result.figures[0])) is not None and spread > NOISY:
        lines += [
            "",
            f"Warning: the floor's runs differed by {spread:.0%} of their mean (load average "
            f"{result.load_average}): the machine was busy, so req/s ratios are unreliable. "
            "Server CPU µs/req is steadier; rerun on a quiet machine for verdicts.",
        ]
    if result.problems:
        lines += ["", "Problems seen in the HTTP probes:", *(f"- {problem}" for problem in result.problems)]
    return "\n".join(lines)


def summary_section(results: Sequence[SizeResult]) -> str:
    """Cold render and memory per size, and how cold render grows with the table."""
    rows: list[list[str]] = []
    smallest = next((r for r in results if r.cold is not None), None)
    for result in results:
        cold = result.cold
        growth = cold.median_ms / smallest.cold.median_ms if cold and smallest and smallest.cold else None
        peak = max(result.worker_peak_mb, default=0.0)
        rows.append(
            [
                result.label,
                f"{cold.median_ms:.2f} / {cold.p90_ms:.2f}" if cold else "-",
                f"{growth:.2f}" if growth is not None else "-",
                verdict(cold.median_ms < COLD_MS if cold else None),
                " / ".join(f"{mb:.0f}" for mb in result.worker_peak_mb) or "-",
                verdict(peak < WORKER_MB if result.worker_peak_mb else None),
            ]
        )
    header = [
        "size",
        "cold render median / p90 ms",
        f"× {smallest.label if smallest else 'smallest'}",
        f"< {COLD_MS:.0f} ms",
        "peak RSS per worker MiB",
        f"< {WORKER_MB:.0f} MiB",
    ]
    lines = ["### Across sizes", "", table(header, rows, (1, 2, 4))]
    measured = [r for r in results if r.cold is not None]
    if len(measured) > 1 and measured[0].cold and measured[-1].cold:
        first, last = measured[0], measured[-1]
        assert first.cold is not None and last.cold is not None
        growth = last.cold.median_ms / first.cold.median_ms
        lines += [
            "",
            f"Cold render {last.label}/{first.label}: {growth:.2f}× (target ≤ {COLD_GROWTH:.1f}×) "
            f"{verdict(growth <= COLD_GROWTH)}; cost must grow with the page, not with the table.",
        ]
    written = sorted(
        (r for r in results if r.write is not None and r.write.first_ms), key=lambda r: r.releases
    )
    if len(written) > 1 and written[0].write and written[-1].write:
        first_ms, last_ms = median(written[0].write.first_ms), median(written[-1].write.first_ms)
        if first_ms and last_ms is not None:
            growth = last_ms / first_ms
            lines += [
                "",
                f"First city page render after a write {written[-1].label}/{written[0].label}: "
                f"{growth:.2f}× ({last_ms:.1f} / {first_ms:.1f} ms; target ≤ {WRITE_GROWTH:.1f}×) "
                f"{verdict(growth <= WRITE_GROWTH)}.",
            ]
    notes = sorted({note for r in results if r.cold for note in r.cold.notes})
    if notes:
        lines += ["", *(f"Note: {note}" for note in notes)]
    return "\n".join(lines)


def render(results: Sequence[SizeResult], *, title: str, command: str, settings: str) -> str:
    parts = [f"## {title}", "", f"`{command}`", ""]
    parts += [size_section(result, settings) + "\n" for result in results]
    parts.append(summary_section(results))
    return "\n".join(parts) + "\n"
