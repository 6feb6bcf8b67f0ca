"""SVG snapshots of the Timeline pane as history (canned data: a branch, an error, marks), focused,
at 80x24 and 120x40; and with an input's checkpoints unfolded. Update with
``pytest tests/tui/test_timeline_snapshots.py --snapshot-update`` and look at the diff."""

from __future__ import annotations

import pytest

from tests.tui.test_snapshots import SIZES, make_app, settle


def focused_timeline(*keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("timeline")(pilot)
        for key in keys:
            await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", list(SIZES))
def test_timeline_history(snap_compare, size: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app("textual-dark"), terminal_size=SIZES[size], run_before=focused_timeline("up"))


@pytest.mark.parametrize("size", list(SIZES))
def test_timeline_unfolded_checkpoints(snap_compare, size: str) -> None:  # type: ignore[no-untyped-def]
    keys = ("g", "down", "right", "down")  # (fib 20): its two periodic checkpoints, the first selected
    assert snap_compare(make_app("textual-light"), terminal_size=SIZES[size], run_before=focused_timeline(*keys))
