"""The Metrics pane: labelled sparklines with units, no bar at 0 commands, nothing cut at 80 and 120
columns, times as ages (never epochs); also ``:server metrics``'s text."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from omega_core.config import Config
from omega_core.server.ops import format_server_metrics
from omega_core.session.metrics import SessionMetrics, describe_age
from omega_tui.app import OmegaApp
from omega_tui.canned import SERVER_METRICS, SESSION_METRICS, CannedClient
from omega_tui.components.metrics_pane import MetricsPane, MetricsView, flow, render_metrics, sparkline

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]

NOW = 1_796_168_562.73
EPOCH = re.compile(r"\b1[0-9]{9}(\.[0-9]+)?\b")


def test_sparkline_scales_from_zero_and_draws_nothing_for_nothing() -> None:
    assert sparkline([], 20) == ""
    assert sparkline([0.0, 0.0], 20) == "  "  # no full bar when nothing happened
    assert sparkline([1.0, 1.0, 1.0], 10) == "███"
    assert sparkline([0.1, 10.0], 10) == "▁█"
    assert sparkline(list(range(100)), 8) == sparkline(list(range(92, 100)), 8)  # the last ones that fit


def test_flow_never_splits_an_item() -> None:
    assert flow(["pool 2 sessions", "41 hits", "4 misses"], 20) == ["pool 2 sessions", "41 hits  4 misses"]
    assert flow(["x" * 30], 10) == ["xxxxxxxxx…"]


def test_zero_commands_say_so_instead_of_a_bar() -> None:
    fresh = SessionMetrics().as_dict(0, 0, 0)
    text = render_metrics("new", fresh, None, [], 45).plain
    assert "no commands yet" in text and "█" not in text
    assert "latency ms" in text and "steps/command" in text and "oracle ms" in text


@pytest.mark.parametrize("width", [29, 45])
def test_labels_units_and_ages_fit_the_width(width: int) -> None:
    session = {**SESSION_METRICS, "last_access": NOW - 3}
    server = {**SERVER_METRICS, "persistence": {**SERVER_METRICS["persistence"], "last_flush": NOW - 3}}
    text = render_metrics("current", session, server, [], width, now=NOW).plain
    lines = text.split("\n")
    assert all(len(line) <= width for line in lines), lines
    assert not any(line.endswith("…") for line in lines), lines  # no cut label
    for label in ("latency ms", "steps/command", "oracle ms", "pool memory", "4 misses", "0 evicted"):
        assert label in text, label
    assert "flushed 3 s ago" in text
    assert not EPOCH.search(text)


def test_metrics_keep_per_command_windows_across_a_restart() -> None:
    metrics = SessionMetrics()
    metrics.record_oracle(10, 250.0)
    metrics.record_input(260.0, 40, 0)
    metrics.record_input(1.0, 3, 0)
    again = SessionMetrics.from_json(metrics.to_json())
    shown = again.as_dict(0, 0, 0)
    assert shown["steps_window"] == [40, 3]
    assert shown["oracle"]["window_ms"] == [250.0, 0.0]


def test_ages_not_epochs_in_server_metrics_text() -> None:
    data = {"uptime_s": 10, "restarts": 0, "clients": 1,
            "pool": {"sessions": 1, "hits": 0, "misses": 1, "evictions": 0, "memory_estimate_bytes": 1, "max_memory_bytes": 2},
            "persistence": {"queue": 0, "bytes_written": 10, "last_flush": time.time() - 5}}
    text = format_server_metrics(data)
    assert not EPOCH.search(text) and re.search(r"last flush \d+ s ago", text)
    assert "last flush never" in format_server_metrics({**data, "persistence": {**data["persistence"], "last_flush": None}})
    assert describe_age(NOW - 7200, NOW) == "2 h ago" and describe_age(NOW - 90, NOW) == "1 min ago"
    assert describe_age(NOW - 3 * 86400, NOW) == "3 days ago" and describe_age(NOW + 5, NOW) == "just now"


class ZeroClient(CannedClient):
    """A session that has run nothing yet."""

    def _op_metrics(self, session: str | None) -> Any:
        return SessionMetrics().as_dict(0, 0, 0) if session else super()._op_metrics(session)


async def test_a_session_without_commands_shows_no_bar() -> None:
    app = OmegaApp(Config(), client_factory=ZeroClient, deterministic=True)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        view = app.query_one(MetricsView)
        await wait_for(pilot, lambda: view.facts[1] is not None, 5, "the figures")
        text = view.render().plain
        assert "0 commands" in text and "no commands yet" in text and "█" not in text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_pane_draws_without_cuts(size: tuple[int, int]) -> None:
    app = OmegaApp(Config(), client_factory=CannedClient, deterministic=True)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        view = app.query_one(MetricsView)
        await wait_for(pilot, lambda: view.facts[1] is not None, 5, "the figures")
        await pilot.pause()
        width = view.content_region.width
        lines = view.render().plain.split("\n")
        assert all(len(line) <= width for line in lines)
        assert not any(line.endswith("…") for line in lines), lines
        assert isinstance(app.query_one(MetricsPane), MetricsPane)
