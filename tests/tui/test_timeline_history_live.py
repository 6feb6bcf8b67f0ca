"""The Timeline pane as history, against a real server: browsing records nothing, Enter goes, and
going back then running an input draws a branch (issue 12, item 4)."""

from __future__ import annotations

import pytest

from omega_tui.app import OmegaApp
from omega_tui.components.timeline_pane import TimelineView
from omega_tui.components.timeline_preview import TimelinePreview

from .conftest import LiveServer, in_thread, screen_text, wait_for
from .test_panes_live import run, started

pytestmark = pytest.mark.anyio


async def log_length(live: LiveServer, session: str = "current") -> int:
    """Events in the session's log, asked by another client (the app's own view cannot lie here)."""
    def ask() -> int:
        last = live.client("check").call("trace", session, count=1) or []
        return int(last[-1]["seq"]) + 1 if last else 0
    return await in_thread(ask)


async def test_browsing_records_nothing_and_enter_goes(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        for line in ['(define (square n) (* n n))', "(square 3)", "(car '())", "(square 5)"]:
            await run(app, pilot, line)
        view = app.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total == 4 and view.row(3) is not None, 5, "four input rows")
        assert [view.row(i)["first_line"] for i in range(4)] == ["(define (square n) (* n n))", "(square 3)", "(car '())",
                                                                  "(square 5)"]
        assert view.row(1)["preview"] == "9" and view.row(2)["outcome"] == "error"
        before = await log_length(live)
        view.focus()
        await pilot.press("up", "k", "j", "g", "G", "left_square_bracket", "left_square_bracket", "right_square_bracket",
                          "pageup", "pagedown", "space", "right", "left")
        await pilot.click(TimelineView, offset=(6, 1))
        assert view.line_to_row(view.cursor)[0] == view.scroll_offset.y + 1
        await pilot.press("slash", *"square 3", "enter")
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 1, 5, "the search to find (square 3)")
        preview = app.query_one(TimelinePreview)
        await wait_for(pilot, lambda: preview.detail is not None and preview.detail.get("seq") == view.row(1)["seq"], 5,
                       "the preview of (square 3)")
        await app.workers.wait_for_complete()
        assert await log_length(live) == before  # nothing was recorded by browsing
        # Enter goes to the selected input: one jump is recorded, the row is the current point
        view.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.position == view.row(1)["goto"] and view.position_row == 1, 10, "the goto")
        assert await log_length(live) == before + 1


async def test_going_back_and_running_an_input_draws_a_branch(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        for line in ["(define a 1)", "(define b 2)", "(define c 3)"]:
            await run(app, pilot, line)
        view = app.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total == 3 and view.row(2) is not None, 5, "three rows")
        assert view.lanes == 1
        view.focus()
        await pilot.press("g", "enter")
        await wait_for(pilot, lambda: view.position_row == 0, 10, "the goto to the first input")
        await run(app, pilot, "(define d 4)")
        await wait_for(pilot, lambda: view.total == 4 and view.lanes == 2 and view.row(3) is not None, 5, "the branch")
        rows = [view.row(i) for i in range(4)]
        assert [row["lane"] for row in rows] == [0, 0, 0, 1]
        assert rows[0]["forks"] == [1] and rows[1]["through"] == [1]
        assert [row["current"] for row in rows] == [True, False, False, True]
        text = screen_text(app)
        assert "╮" in text and "(define d 4)" in text
