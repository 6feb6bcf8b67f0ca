"""The Metrics pane: figures of the open session and of the server, with a latency sparkline."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Sparkline, Static

from omega_tui.components.sessions_pane import human_bytes, human_time
from omega_tui.keys import bindings_for


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


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _grid(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, min_width=7)
    table.add_column(no_wrap=True, overflow="ellipsis")
    for key, value in rows:
        table.add_row(key, value)
    return table


def session_rows(metrics: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not metrics:
        return [("", "no session figures yet")]
    latency = metrics.get("latency_ms") or {}
    rows = [
        ("cmds", f"{_count(metrics.get('commands'))}  errors {_count(metrics.get('errors'))}  steps {_count(metrics.get('steps'))}"),
        ("latency", f"avg {_ms(latency.get('avg'))}  p50 {_ms(latency.get('p50'))}  p99 {_ms(latency.get('p99'))} ms"),
    ]
    oracle = metrics.get("oracle")
    if isinstance(oracle, dict):
        rows.append(("oracle", f"{_count(oracle.get('calls'))} calls  {_count(oracle.get('tokens'))} tok  {_ms(oracle.get('ms'))} ms"))
    memory = metrics.get("memory")
    if isinstance(memory, dict):
        rows.append(("memory", f"{human_bytes(memory.get('current'))}  peak {human_bytes(memory.get('peak'))}"))
    rows.append(("disk", human_bytes(metrics.get("disk_bytes"))))
    return rows


def server_rows(metrics: dict[str, Any] | None, deterministic: bool = False) -> list[tuple[str, str]]:
    if not metrics:
        return [("", "no server figures yet")]
    pool = metrics.get("pool") or {}
    persistence = metrics.get("persistence") or {}
    rows = [
        ("server", f"up {_duration(metrics.get('uptime_s'))}  clients {_count(metrics.get('clients'))}  restarts {_count(metrics.get('restarts'))}"),
        ("pool", f"{_count(pool.get('sessions'))} sessions  hits {_count(pool.get('hits'))}  misses {_count(pool.get('misses'))}  evicted {_count(pool.get('evictions'))}"),
        ("pool mem", f"{human_bytes(pool.get('memory_estimate_bytes'))} / {human_bytes(pool.get('max_memory_bytes'))}"),
    ]
    written = persistence.get("bytes_written")
    queue = persistence.get("queue")
    rows.append(("persist", f"queue {_count(queue)}  flushed {human_time(persistence.get('last_flush'), deterministic)}"
                 + (f"  wrote {human_bytes(written)}" if written is not None else "")))
    return rows


class MetricsPane(VerticalScroll, can_focus=True):
    BINDINGS = bindings_for("metrics")

    class RefreshRequested(Message):
        pass

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Metrics"
        self.deterministic = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="metrics-session")
        yield Sparkline([], id="metrics-latency", summary_function=max)
        yield Static("", id="metrics-server")

    def show(self, session: str | None, session_metrics: dict[str, Any] | None, server_metrics: dict[str, Any] | None,
             notes: list[str] | None = None) -> None:
        head = Text(f"session '{session}'" if session else "no session", style="bold underline")
        body = _grid(session_rows(session_metrics))
        from rich.console import Group

        self.query_one("#metrics-session", Static).update(Group(head, body))
        window = ((session_metrics or {}).get("latency_ms") or {}).get("window") or []
        sparkline = self.query_one("#metrics-latency", Sparkline)
        sparkline.data = [float(v) for v in window if isinstance(v, (int, float))] or [0.0]
        server_parts: list[Any] = [Text("server", style="bold underline"), _grid(server_rows(server_metrics, self.deterministic))]
        for note in notes or []:
            server_parts.append(Text(note, style="italic dim"))
        self.query_one("#metrics-server", Static).update(Group(*server_parts))

    def action_refresh(self) -> None:
        self.post_message(self.RefreshRequested())
