"""Shared helpers of the bench scripts: timing, medians and the result table.

The table is plain text (aligned columns, no colour), so it reads the same on a terminal, piped
into a file or pasted into an issue::

    name                  median     p99      target    ratio
    (fib 20)              53.1 ms    —        500 ms    0.11x ok

``ratio`` is median / target (for a single-value row: value / target); above 1 it says SLOW.
A row that shows a p99 above its target says so in a note after the ratio. A row may give its p99
its own target (``p99_target``, e.g. "p50 <= 1 ms, p99 <= 5 ms"); the note then compares with that.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TextIO

__all__ = ["Row", "measure", "median", "p99", "fmt_seconds", "fmt_bytes", "fmt_ratio", "print_table", "HEADER"]

HEADER = ("name", "median", "p99", "target", "ratio")
DASH = "—"


def measure(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` (time.perf_counter), in call order."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def median(samples: Iterable[float]) -> float:
    return statistics.median(list(samples))


def p99(samples: Iterable[float]) -> float:
    """The 99th percentile (nearest rank): with fewer than 100 samples, the largest is it."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("p99 of no samples")
    rank = max(1, math.ceil(0.99 * len(ordered)))
    return ordered[rank - 1]


def fmt_seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        ms = value * 1e3
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    return f"{value * 1e6:.0f} µs"


def fmt_bytes(value: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def fmt_ratio(ratio: float) -> str:
    """``0.75x``; small ratios keep two significant digits (``0.0042x``) instead of ``0.00x``."""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


@dataclass
class Row:
    """One line of the table.

    Either ``samples`` (seconds of repeated runs: median, and p99 when ``show_p99``) or ``value``
    (one measurement, e.g. a total time or a size). ``target`` None prints ``—`` (report only).
    ``unit`` is ``"s"`` (seconds) or ``"B"`` (bytes).
    """

    name: str
    samples: list[float] | None = None
    value: float | None = None
    target: float | None = None
    unit: str = "s"
    show_p99: bool = False
    note: str = ""
    p99_target: float | None = None
    """The p99's own target (seconds); None: the p99 is held to ``target``. Implies ``show_p99``."""

    @property
    def central(self) -> float:
        if self.samples:
            return median(self.samples)
        if self.value is None:
            raise ValueError(f"row {self.name!r} has neither samples nor value")
        return self.value

    @property
    def ratio(self) -> float | None:
        return None if not self.target else self.central / self.target

    @property
    def slow(self) -> bool:
        ratio = self.ratio
        if self.p99_target and self.samples and p99(self.samples) > self.p99_target:
            return True
        return ratio is not None and ratio > 1

    def cells(self) -> list[str]:
        fmt = fmt_bytes if self.unit == "B" else fmt_seconds
        tail = f" (n={len(self.samples)})" if self.samples and len(self.samples) > 1 else ""
        central = fmt(self.central)
        show_p99 = self.show_p99 or self.p99_target is not None
        spread = fmt(p99(self.samples)) if show_p99 and self.samples else DASH
        target = fmt(self.target) if self.target else DASH
        ratio = self.ratio
        verdict = DASH if ratio is None else f"{fmt_ratio(ratio)} {'SLOW' if ratio > 1 else 'ok'}"
        notes = [self.note] if self.note else []
        if self.p99_target and self.samples:
            p99_ratio = p99(self.samples) / self.p99_target
            notes.append(f"(p99 target {fmt(self.p99_target)}: {fmt_ratio(p99_ratio)} {'SLOW' if p99_ratio > 1 else 'ok'})")
        elif show_p99 and self.samples and self.target and p99(self.samples) > self.target:
            notes.append(f"(p99 is {fmt_ratio(p99(self.samples) / self.target)} the target)")
        name = self.name + tail
        return [name, central, spread, target, "  ".join([verdict, *notes])]


def report_stopped(rows: list[Row], script_title: str, why: str, message: str) -> None:
    """A run that stopped early: the rows measured so far, then why it stopped (on stderr)."""
    if rows:
        print_table(rows, title=f"{script_title} — partial, {why}")
    print(f"\n{message}", file=sys.stderr)


def print_table(rows: Iterable[Row | dict[str, Any]], title: str | None = None, file: TextIO | None = None) -> None:
    """Print ``rows`` as aligned columns: name | median | p99 | target | ratio."""
    out = file or sys.stdout
    lines = [list(HEADER)] + [(row if isinstance(row, Row) else Row(**row)).cells() for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER) - 1)]

    def render(cells: list[str]) -> str:
        left = cells[0].ljust(widths[0])
        middle = [cells[i].rjust(widths[i]) for i in range(1, len(HEADER) - 1)]
        return "  ".join([left, *middle, cells[-1]]).rstrip()

    rendered = [render(cells) for cells in lines]
    if title:
        print(title, file=out)
    print(rendered[0], file=out)
    print("-" * max(len(line) for line in rendered), file=out)
    for line in rendered[1:]:
        print(line, file=out)
    out.flush()
