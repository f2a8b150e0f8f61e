"""The benchmark's tables: one per dataset size, then one across sizes, as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.loadgen import WrkResult
from bench.measure import ColdRender

# Targets of the benchmark: ratios to the floor / to nginx static, and absolute limits.
HOT_VS_FLOOR = 0.9
NOT_MODIFIED_VS_FLOOR = 0.9
SPREAD_VS_FLOOR = 0.8
NGINX_VS_STATIC = 0.8
COLD_MS = 20.0
COLD_GROWTH = 1.5  # largest dataset / smallest
WORKER_MB = 150.0
NOISY = 0.3  # floor runs further apart than this (of their mean): the machine was busy


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
class SizeResult:
    label: str
    releases: int
    dataset_note: str
    hot_path: str
    hot_bytes: int
    figures: list[Figure] = field(default_factory=list)
    nginx_figures: list[Figure] = field(default_factory=list)
    nginx_note: str = ""
    cold: ColdRender | None = None
    worker_peak_mb: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    load_average: str = ""


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
    rows += [_figure_row(figure, "nginx static") for figure in result.nginx_figures]
    lines.append(table(header, rows, right))
    if result.nginx_note:
        lines += ["", f"nginx: {result.nginx_note}"]
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
    notes = sorted({note for r in results if r.cold for note in r.cold.notes})
    if notes:
        lines += ["", *(f"Note: {note}" for note in notes)]
    return "\n".join(lines)


def render(results: Sequence[SizeResult], *, title: str, command: str, settings: str) -> str:
    parts = [f"## {title}", "", f"`{command}`", ""]
    parts += [size_section(result, settings) + "\n" for result in results]
    parts.append(summary_section(results))
    return "\n".join(parts) + "\n"
