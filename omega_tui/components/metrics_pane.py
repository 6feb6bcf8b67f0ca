"""The Metrics pane: figures of the open session and of the server, with labelled sparklines.

Three sparklines, each under a label naming the figure and its unit: command latency (ms), steps
per command, and oracle time per command (ms). Bars scale from zero to the window's largest value
(so equal small values do not look like a full bar, and an empty window draws no bar at all: "no
commands yet"). Figures flow into as many lines as the pane's width needs, a label never separated
from its value and never cut (``pool m…`` at 80 columns before). Times are ages ("3 s ago").
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget

from omega_tui.components.sessions_pane import human_bytes, human_time
from omega_tui.keys import bindings_for

BARS = "▁▂▃▄▅▆▇█"
GAP = "  "


def _ms(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _count(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:.1f}"


def _plural(count: Any, word: str) -> str:
    return f"{_count(count)} {word}" + ("" if count == 1 else "s")


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def sparkline(values: list[float], width: int) -> str:
    """The last ``width`` values as bars scaled from 0 to their maximum: 0 is a blank, any value
    above 0 at least the lowest bar. Empty input gives an empty string (the caller says why)."""
    shown = [max(0.0, float(v)) for v in values[-width:]] if width > 0 else []
    top = max(shown, default=0.0)
    if top <= 0:
        return " " * len(shown)
    cells = []
    for value in shown:
        if value <= 0:
            cells.append(" ")
        else:
            cells.append(BARS[min(len(BARS) - 1, max(0, int(value / top * len(BARS) + 0.999) - 1))])
    return "".join(cells)


def flow(items: list[str], width: int) -> list[str]:
    """``items`` packed into lines of at most ``width`` cells, two spaces apart; an item is never
    split (one longer than a whole line is cut with an ellipsis, the only cut)."""
    lines: list[str] = []
    line = ""
    for item in items:
        if len(item) > width:
            item = item[: max(0, width - 1)] + "…"
        if not line:
            line = item
        elif len(line) + len(GAP) + len(item) <= width:
            line += GAP + item
        else:
            lines.append(line)
            line = item
    if line:
        lines.append(line)
    return lines


def _numbers(values: Any) -> list[float]:
    return [float(v) for v in values or [] if isinstance(v, (int, float)) and not isinstance(v, bool)]


class _Lines:
    """A Text built line by line, every line no wider than ``width``."""

    def __init__(self, width: int) -> None:
        self.width = max(8, width)
        self.text = Text(no_wrap=True, overflow="ellipsis")
        self.count = 0

    def add(self, line: str, style: str = "") -> None:
        if self.count:
            self.text.append("\n")
        self.text.append(line[: self.width], style)
        self.count += 1

    def items(self, items: list[str], style: str = "", title: str | None = None, title_style: str = "bold") -> None:
        """``items`` flowed into lines; ``title`` (styled) leads the first line."""
        for index, line in enumerate(flow([title, *items] if title else items, self.width)):
            if index == 0 and title:
                if self.count:
                    self.text.append("\n")
                self.text.append(line[: len(title)], title_style)
                self.text.append(line[len(title):], style)
                self.count += 1
            else:
                self.add(line, style)

    def chart(self, label: str, stats: list[str], values: list[float], empty: str) -> None:
        """A labelled sparkline: the label with its unit and figures, then the bars."""
        self.items(stats, title=label)
        if values:
            self.add(sparkline(values, self.width), "green")
        else:
            self.add(empty, "italic dim")


def render_metrics(session: str | None, session_metrics: dict[str, Any] | None, server_metrics: dict[str, Any] | None,
                   notes: list[str], width: int, deterministic: bool = False, now: float | None = None) -> Text:
    """The pane's whole content for ``width`` cells (a pure function: tested without a screen)."""
    out = _Lines(width)
    title = f"session '{session}'" if session else "no session"
    metrics = session_metrics or {}
    commands = metrics.get("commands")
    if not session_metrics:
        out.items(["no session figures yet"], title=title, title_style="bold underline")
    else:
        out.items([_plural(commands, "command"), _plural(metrics.get("errors"), "error")],
                  title=title, title_style="bold underline")
        latency = metrics.get("latency_ms") or {}
        window = _numbers(latency.get("window"))
        out.chart("latency ms", [f"last {_ms(window[-1])}" if window else "last -", f"p50 {_ms(latency.get('p50'))}",
                                 f"p99 {_ms(latency.get('p99'))}"], window if commands else [], "no commands yet")
        steps_window = _numbers(metrics.get("steps_window"))
        if "steps_window" in metrics:
            average = sum(steps_window) / len(steps_window) if steps_window else None
            out.chart("steps/command", [f"last {_count(int(steps_window[-1]))}" if steps_window else "last -",
                                        f"avg {_count(average)}"],
                      steps_window, "no commands yet")
        else:
            out.items([f"steps {_count(metrics.get('steps'))} in all"])
        oracle = metrics.get("oracle")
        if isinstance(oracle, dict):
            oracle_window = _numbers(oracle.get("window_ms"))
            stats = [_plural(oracle.get("calls"), "call"), f"{_count(oracle.get('tokens'))} tok",
                     f"total {_ms(oracle.get('ms'))}"]
            if "window_ms" in oracle:
                out.chart("oracle ms", stats, oracle_window if any(oracle_window) else [], "no oracle calls yet")
            else:
                out.items(["oracle", *stats[:2], f"{_ms(oracle.get('ms'))} ms"])
        memory = metrics.get("memory")
        items = []
        if isinstance(memory, dict):
            items += [f"memory {human_bytes(memory.get('current'))}", f"peak {human_bytes(memory.get('peak'))}"]
        items.append(f"disk {human_bytes(metrics.get('disk_bytes'))}")
        out.items(items)
    if not server_metrics:
        out.items(["no server figures yet"], title="server", title_style="bold underline")
    else:
        pool = server_metrics.get("pool") or {}
        persistence = server_metrics.get("persistence") or {}
        out.items([f"up {_duration(server_metrics.get('uptime_s'))}", _plural(server_metrics.get("clients"), "client"),
                   _plural(server_metrics.get("restarts"), "restart")], title="server", title_style="bold underline")
        out.items([f"pool {_plural(pool.get('sessions'), 'session')}", _plural(pool.get("hits"), "hit"),
                   f"{_count(pool.get('misses'))} misses", f"{_count(pool.get('evictions'))} evicted"])
        written = persistence.get("bytes_written")
        out.items([f"pool memory {human_bytes(pool.get('memory_estimate_bytes'))}",
                   f"max {human_bytes(pool.get('max_memory_bytes'))}",
                   f"flushed {human_time(persistence.get('last_flush'), deterministic, now)}"
                   if persistence.get("last_flush") else "flushed never",
                   f"queue {_count(persistence.get('queue'))}"]
                  + ([f"wrote {human_bytes(written)}"] if written is not None else []))
    for note in notes:
        for line in flow(note.split(" "), out.width):
            out.add(line, "italic dim")
    return out.text


class MetricsView(Widget):
    """The figures, drawn for the width the pane has (so nothing is cut)."""

    DEFAULT_CSS = "MetricsView { height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.facts: tuple[str | None, dict[str, Any] | None, dict[str, Any] | None, list[str]] = (None, None, None, [])
        self.deterministic = False

    def render(self) -> Text:
        session, session_metrics, server_metrics, notes = self.facts
        width = self.content_region.width or self.size.width or 40
        return render_metrics(session, session_metrics, server_metrics, notes, width, self.deterministic)


class MetricsPane(VerticalScroll, can_focus=True):
    BINDINGS = bindings_for("metrics")

    AGE_REPAINT_S = 30.0
    """Idle repaint of the ages ("flushed 12 s ago"): one small repaint, no request to the server."""

    class RefreshRequested(Message):
        pass

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Metrics"
        self._deterministic = False

    @property
    def deterministic(self) -> bool:
        return self._deterministic

    @deterministic.setter
    def deterministic(self, value: bool) -> None:
        self._deterministic = value
        for view in self.query(MetricsView):
            view.deterministic = value

    def compose(self):  # type: ignore[no-untyped-def]
        yield MetricsView(id="metrics-view")

    def on_mount(self) -> None:
        self.set_interval(self.AGE_REPAINT_S, self._repaint_ages)

    def _repaint_ages(self) -> None:
        if not self._deterministic:
            self.query_one(MetricsView).refresh()

    def show(self, session: str | None, session_metrics: dict[str, Any] | None, server_metrics: dict[str, Any] | None,
             notes: list[str] | None = None) -> None:
        view = self.query_one(MetricsView)
        view.facts = (session, session_metrics, server_metrics, list(notes or []))
        view.refresh(layout=True)

    def on_focus(self) -> None:
        """Fresh figures when the user looks (instead of a poll every few seconds while idle)."""
        self.post_message(self.RefreshRequested())

    def action_refresh(self) -> None:
        self.post_message(self.RefreshRequested())


__all__ = ["MetricsPane", "MetricsView", "render_metrics", "sparkline", "flow"]
