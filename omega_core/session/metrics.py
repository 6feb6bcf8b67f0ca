"""Per-session figures: commands, errors, latency over a sliding window, steps, oracle use.

Kept on the recorded session (so ``:session metrics`` works in-process and on the server alike)
and updated once per input; reading them is a few arithmetic operations, never a scan.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

LATENCY_WINDOW = 60


def describe_age(stamp: float | None, now: float | None = None) -> str:
    """A past moment (epoch seconds) as an age people read at a glance: "just now", "3 s ago",
    "4 min ago", "2 h ago", "5 days ago"; "never" for None. Figures and the TUI show times this way,
    never as epochs (an epoch such as 1796168562.73 means nothing to a reader)."""
    if stamp is None or not isinstance(stamp, (int, float)) or stamp <= 0:
        return "never"
    age = (time.time() if now is None else now) - float(stamp)
    if age < 0:
        return "just now"  # a clock a little ahead (another process's stamp): not a future time
    if age < 1:
        return "just now"
    if age < 60:
        return f"{age:.0f} s ago"
    if age < 3600:
        return f"{age // 60:.0f} min ago"
    if age < 86400:
        return f"{age // 3600:.0f} h ago"
    days = age // 86400
    return f"{days:.0f} day ago" if days == 1 else f"{days:.0f} days ago"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class _LoggedInput:
    """One input read back from the log by ``SessionMetrics.catch_up`` (time stamps in ms)."""

    input_ts: float
    last_ts: float
    steps: int = 0
    failed: int = 0


@dataclass
class SessionMetrics:
    commands: int = 0
    errors: int = 0
    steps: int = 0
    oracle_calls: int = 0
    oracle_tokens: int = 0
    oracle_ms: float = 0.0
    latencies_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW))
    last_access: float = field(default_factory=time.time)
    steps_window: collections.deque[int] = field(default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW))
    """Evaluation steps of each of the last commands (the Metrics pane draws them as a sparkline)."""
    oracle_ms_window: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW))
    """Oracle time spent by each of the last commands (0 for a command that asked no oracle)."""
    _oracle_ms_this_command: float = field(default=0.0, init=False, repr=False)

    def record_input(self, elapsed_ms: float, steps: int, failed_forms: int) -> None:
        self.commands += 1
        self.errors += failed_forms
        self.steps += steps
        self.latencies_ms.append(elapsed_ms)
        self.steps_window.append(steps)
        self.oracle_ms_window.append(round(self._oracle_ms_this_command, 3))
        self._oracle_ms_this_command = 0.0
        self.last_access = time.time()

    def record_oracle(self, tokens: int | None, duration_ms: float) -> None:
        """One oracle call; its time counts towards the command that is running (recorded next)."""
        self.oracle_calls += 1
        self.oracle_tokens += tokens or 0
        self.oracle_ms += duration_ms
        self._oracle_ms_this_command += duration_ms

    def to_json(self) -> dict[str, Any]:
        """What the index keeps, so figures survive eviction and restarts."""
        return {"commands": self.commands, "errors": self.errors, "steps": self.steps,
                "oracleCalls": self.oracle_calls, "oracleTokens": self.oracle_tokens,
                "oracleMs": self.oracle_ms, "latenciesMs": list(self.latencies_ms), "lastAccess": self.last_access,
                "stepsWindow": list(self.steps_window), "oracleMsWindow": list(self.oracle_ms_window)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SessionMetrics":
        metrics = cls()
        try:
            metrics.commands = int(data.get("commands", 0))
            metrics.errors = int(data.get("errors", 0))
            metrics.steps = int(data.get("steps", 0))
            metrics.oracle_calls = int(data.get("oracleCalls", 0))
            metrics.oracle_tokens = int(data.get("oracleTokens", 0))
            metrics.oracle_ms = float(data.get("oracleMs", 0.0))
            metrics.latencies_ms.extend(float(v) for v in data.get("latenciesMs", [])[-LATENCY_WINDOW:])
            metrics.last_access = float(data.get("lastAccess", metrics.last_access))
            metrics.steps_window.extend(int(v) for v in data.get("stepsWindow", [])[-LATENCY_WINDOW:])
            metrics.oracle_ms_window.extend(float(v) for v in data.get("oracleMsWindow", [])[-LATENCY_WINDOW:])
        except (TypeError, ValueError):
            return cls()
        return metrics

    def catch_up(self, events: Iterable[dict[str, Any]]) -> int:
        """Count the inputs among ``events`` (the log past what the saved figures cover: written
        before a crash, while the index that keeps the figures lagged). Each input's latency is
        its last result's time stamp minus its own (milliseconds, as logged), its steps and errors
        those of its result and error events. Without this a session reopened after a kill -9
        showed fewer commands than it ran (6 before the crash, 3 after). Returns the inputs counted."""
        counted = 0
        current: _LoggedInput | None = None

        def close() -> None:
            if current is not None:
                self.record_input(max(0.0, float(current.last_ts - current.input_ts)), current.steps, current.failed)

        for event in events:
            kind = event.get("type")
            stamp = event.get("ts")
            stamp = stamp if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else None
            if kind == "input":
                close()
                counted += 1
                current = _LoggedInput(stamp or 0, stamp or 0)
            elif kind in ("result", "error") and current is not None:
                steps = event.get("steps")
                if isinstance(steps, int) and not isinstance(steps, bool):
                    current.steps += steps
                current.failed += kind == "error"
                if stamp is not None:
                    current.last_ts = stamp
        close()
        return counted

    def latency(self) -> dict[str, Any]:
        import statistics  # here: its imports (fractions, decimal, random) would cost every start

        window = list(self.latencies_ms)
        return {
            "avg": round(statistics.fmean(window), 3) if window else 0.0,
            "p50": round(percentile(window, 0.5), 3),
            "p99": round(percentile(window, 0.99), 3),
            "window": [round(value, 3) for value in window],
        }

    def as_dict(self, memory_current: int, memory_peak: int, disk_bytes: int) -> dict[str, Any]:
        return {
            "commands": self.commands,
            "errors": self.errors,
            "latency_ms": self.latency(),
            "steps": self.steps,
            "steps_window": list(self.steps_window),
            "oracle": {"calls": self.oracle_calls, "tokens": self.oracle_tokens, "ms": round(self.oracle_ms, 3),
                       "window_ms": list(self.oracle_ms_window)},
            "memory": {"current": memory_current, "peak": memory_peak},
            "disk_bytes": disk_bytes,
            "last_access": self.last_access,
        }


def format_session_metrics(name: str, data: dict[str, Any]) -> str:
    latency = data["latency_ms"]
    oracle = data["oracle"]
    return "\n".join([
        f"Session '{name}'",
        f"  commands      {data['commands']} ({data['errors']} errors)",
        f"  latency       avg {latency['avg']} ms, p50 {latency['p50']} ms, p99 {latency['p99']} ms "
        f"(last {len(latency['window'])})",
        f"  steps         {data['steps']:,}",
        f"  oracle        {oracle['calls']} calls, {oracle['tokens']} tokens, {oracle['ms']} ms",
        f"  memory        {data['memory']['current']:,} bytes (peak {data['memory']['peak']:,})",
        f"  disk          {data['disk_bytes']:,} bytes",
        f"  last access   {describe_age(data['last_access'])}"
        f" ({time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data['last_access']))})",
    ])
