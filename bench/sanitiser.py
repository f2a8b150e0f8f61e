"""The sanitiser's cost per KB of body, for nested, wide and long bodies of 10 KB to 1 MB.

`.venv/bin/python bench/sanitiser.py` prints a table; the time per KB should be flat across
sizes (linear cost). A nested body deeper than `text.MAX_HTML_DEPTH` is refused by a linear
pre-pass before nh3 sees it, so its row measures that refusal; `deep` is blocks nested
as deeply as allowed, one after the other.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from feedsvc.text import MAX_HTML_DEPTH, HtmlTooDeep, sanitize_html

SIZES = (10_000, 100_000, 1_000_000)


def nested(size: int) -> str:
    count = size // len("<div>x</div>")
    return "<div>x" * count + "</div>" * count


def deep(size: int) -> str:
    """Blocks nested as deeply as allowed, one after the other."""
    block = "<div>x" * MAX_HTML_DEPTH + "</div>" * MAX_HTML_DEPTH
    return block * max(1, size // len(block))


def wide(size: int) -> str:
    return "<p>Die Innbrücke ist ab Montag gesperrt.</p>" * (size // 45)


def long(size: int) -> str:
    return "<p>" + "Wegen Bauarbeiten gesperrt. " * (size // 28) + "</p>"


SHAPES: dict[str, Callable[[int], str]] = {"nested": nested, "deep": deep, "wide": wide, "long": long}


def time_per_kb(body: str) -> float:
    """Milliseconds per KB of sanitising `body` (or refusing it)."""
    started = time.perf_counter()
    with contextlib.suppress(HtmlTooDeep):
        sanitize_html(body)
    return (time.perf_counter() - started) * 1000 / (len(body.encode()) / 1000)


def rows() -> list[tuple[str, list[float]]]:
    return [(name, [time_per_kb(make(size)) for size in SIZES]) for name, make in SHAPES.items()]


def table() -> str:
    """The table bench/run.py appends to its report."""
    lines = ["sanitiser, ms per KB", f"{'body':<8}" + "".join(f"{size // 1000:>10} KB" for size in SIZES)]
    for name, values in rows():
        lines.append(f"{name:<8}" + "".join(f"{value:>13.3f}" for value in values))
    return "\n".join(lines) + "\n"


def main() -> None:
    print(table(), end="")


if __name__ == "__main__":
    main()
