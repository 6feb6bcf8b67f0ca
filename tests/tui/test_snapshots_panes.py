"""SVG snapshots of the Sessions and Metrics panes at 80x24 and 120x40 (canned client, fixed times,
``deterministic=True``), including the Sessions pane filtered and sorted. Update them with
``pytest tests/tui/test_snapshots_panes.py --snapshot-update`` and look at the diff."""

from __future__ import annotations

import time
from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def make_app() -> OmegaApp:
    return OmegaApp(Config(), client_factory=CannedClient, deterministic=True, theme="textual-dark")  # type: ignore[arg-type]


def settle(pane: str, keys: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.ready.is_set() or app.main.query_one("#sessions-table").row_count == 0:
            assert time.monotonic() < deadline, "the canned session never opened"
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.focus_pane(pane)
        await pilot.pause()
        await app.workers.wait_for_complete()  # the metrics fetched on focus
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("pane", ["sessions", "metrics"])
def test_pane(snap_compare, pane: str, size: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=settle(pane))


def test_sessions_filtered_and_sorted_by_size(snap_compare) -> None:  # type: ignore[no-untyped-def]
    keys = ("s", "s", "slash", "e", "n", "t")  # by size; the filter "ent" keeps current and experiments
    assert snap_compare(make_app(), terminal_size=SIZES["120x40"], run_before=settle("sessions", keys))
