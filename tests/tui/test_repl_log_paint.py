"""The REPL log paints only what is new (issue 12, item 2: Enter to a painted result <= 10 ms).

Appending a line renders that line only, not every visible one; what it paints is exactly what a
plain ``RichLog`` paints; it is at its end as soon as ``write`` returns (not one frame later); and
its scrollbar is not rendered again while its thumb stays in place.
"""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.widgets import RichLog

from omega_tui.components.repl_log import ReplLog, SteadyScrollBar

pytestmark = [pytest.mark.anyio]


class LogApp(App[None]):
    CSS = "ReplLog { padding: 0 1; scrollbar-size-vertical: 1; background: $surface; }"

    def compose(self) -> ComposeResult:
        yield ReplLog(id="log", wrap=True, auto_scroll=True, min_width=20)


def painted(log: ReplLog) -> list[list[tuple[str, Any]]]:
    """The log's rows as (text, style) segments, through its own ``render_lines``."""
    width, height = log.region.size
    return [[(segment.text, segment.style) for segment in strip] for strip in log.render_lines(Region(0, 0, width, height))]


def painted_by_richlog(log: ReplLog) -> list[list[tuple[str, Any]]]:
    """The same rows as a plain ``RichLog`` renders them (every row through the styles cache)."""
    width, height = log.region.size
    log._styles_cache.clear()
    strips = RichLog.render_lines(log, Region(0, 0, width, height))
    return [[(segment.text, segment.style) for segment in strip] for strip in strips]


async def rows_rendered_while(pilot: Any, log: ReplLog, action: Any) -> list[int]:
    """The rows ``log`` renders again for the frames after ``action`` runs."""
    rendered: list[int] = []
    original = log.render_line

    def spy(y: int) -> Any:
        rendered.append(y)
        return original(y)

    log.render_line = spy  # type: ignore[method-assign]
    try:
        action()
        await pilot.pause()
        await pilot.pause()
    finally:
        log.render_line = original  # type: ignore[method-assign]
    return rendered


async def test_appending_renders_only_the_new_line_and_paints_what_a_richlog_paints() -> None:
    app = LogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(40):
            log.write(Text(f"line {index}", style="bold" if index % 3 else "italic"))
        await pilot.pause()
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)
        rendered = await rows_rendered_while(pilot, log, lambda: log.write("one more"))
        assert log.scroll_y == log.max_scroll_y
        assert len(rendered) == 1, f"rows rendered again after one line was appended: {rendered}"
        assert painted(log)[-1][1][0].startswith("one more")
        assert painted(log) == painted_by_richlog(log)
        log.scroll_to(y=5, animate=False, immediate=True)  # scrolled up, then a wrapped long line at the end
        log.write("word " * 30)
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)
        await pilot.resize_terminal(40, 9)
        await pilot.pause()
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)
        app.theme = "textual-light"  # a new theme: every finished line is painted again in its colours
        await pilot.pause()
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)
        log.clear()
        log.write("after clear")
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)


async def test_a_log_shorter_than_its_box_renders_only_the_new_line() -> None:
    """A new session's log has blank rows below its end: they are kept too, not rendered at each line."""
    app = LogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(3):
            log.write(f"line {index}")
        await pilot.pause()
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)
        rendered = await rows_rendered_while(pilot, log, lambda: log.write("one more"))
        assert len(rendered) == 1, f"rows rendered again after one line was appended: {rendered}"
        assert painted(log)[3][1][0].startswith("one more")
        assert painted(log) == painted_by_richlog(log)
        log.clear()  # blank rows where lines were: painted as blank
        log.write("after clear")
        await pilot.pause()
        assert painted(log) == painted_by_richlog(log)


async def test_the_log_is_at_its_end_when_write_returns() -> None:
    app = LogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(40):
            log.write(f"line {index}")
        await pilot.pause()
        await pilot.pause()
        log.write("the result")
        assert log.scroll_y == log.max_scroll_y == len(log.lines) - log.scrollable_content_region.height


async def test_the_scrollbar_is_not_rendered_again_while_its_thumb_stays() -> None:
    app = LogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(5_000):
            log.write(f"line {index}")
        await pilot.pause()
        await pilot.pause()
        bar = log.vertical_scrollbar
        assert isinstance(bar, SteadyScrollBar) and bar.display
        renders: list[int] = []
        original = ScrollBar.render

        def spy(self: ScrollBar) -> Any:
            renders.append(1)
            return original(self)

        ScrollBar.render = spy  # type: ignore[method-assign]
        try:
            log.write("one more")  # 5,001 lines in a 10-row window: the thumb moves by far less than 1/8 cell
            await pilot.pause()
            await pilot.pause()
            assert renders == []
            log.scroll_home(animate=False, immediate=True)  # the thumb moves to the top: drawn again
            await pilot.pause()
            await pilot.pause()
            assert renders
        finally:
            ScrollBar.render = original  # type: ignore[method-assign]


async def test_a_moved_thumb_renders_only_the_rows_it_crossed_and_paints_the_whole_bar_right() -> None:
    app = LogApp()
    async with app.run_test(size=(50, 30)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(200):
            log.write(f"line {index}")
        await pilot.pause()
        await pilot.pause()
        bar = log.vertical_scrollbar
        assert isinstance(bar, SteadyScrollBar) and bar.display
        height = bar.size.height
        whole = Region(0, 0, 1, height)

        def fresh() -> list[list[tuple[str, Any]]]:
            bar._styles_cache.clear()
            return [[(segment.text, segment.style) for segment in strip] for strip in ScrollBar.render_lines(bar, whole)]

        rows: list[int] = []
        original = bar.render_line

        def spy(y: int) -> Any:
            rows.append(y)
            return original(y)

        moves = 0
        for target in (199, 150, 151, 90, 3, 0, 40, 41, 120):
            before = bar._thumb_key()[1]
            log.scroll_to(y=min(target, log.max_scroll_y), animate=False, immediate=True)
            bar.render_line = spy  # type: ignore[method-assign]
            rows.clear()
            shown = [[(segment.text, segment.style) for segment in strip] for strip in bar.render_lines(whole)]
            bar.render_line = original  # type: ignore[method-assign]
            assert shown == fresh(), f"the bar after a scroll to {target} differs from a full rendering"
            if bar._thumb_key()[1] != before:
                moves += 1
                assert len(rows) < height, f"the whole bar was rendered again for a thumb move ({len(rows)} rows)"
        assert moves >= 5


class ScrollingLogApp(App[None]):
    """The log as the app styles it: its scrollbar always shown (``overflow-y: scroll``)."""

    CSS = "ReplLog { padding: 0 1; scrollbar-size-vertical: 1; overflow-y: scroll; background: $surface; }"

    def compose(self) -> ComposeResult:
        yield ReplLog(id="log", wrap=True, auto_scroll=True, min_width=20)


async def dirty_rows_of_next_frame(pilot: Any, app: App[None], action: Any) -> set[int]:
    """The screen rows the compositor takes into the frame after ``action`` (its dirty regions)."""
    compositor = app.screen._compositor
    await pilot.pause()
    await pilot.pause()
    compositor._dirty_regions.clear()
    seen: set[int] = set()
    original = compositor.render_update

    def spy(*args: Any, **kwargs: Any) -> Any:
        for region in compositor._dirty_regions:
            seen.update(region.line_range)
        return original(*args, **kwargs)

    compositor.render_update = spy  # type: ignore[method-assign]
    try:
        action()
        await pilot.pause()
        await pilot.pause()
    finally:
        compositor.render_update = original  # type: ignore[method-assign]
    return seen


async def test_a_line_written_to_a_short_log_makes_only_its_row_dirty() -> None:
    """Not every row of the log (nor of its scrollbar): the frame of an Enter composites and sends
    only what changed (the virtual size's growth does not repaint the whole log)."""
    app = ScrollingLogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(3):
            log.write(f"line {index}")
        rows = await dirty_rows_of_next_frame(pilot, app, lambda: log.write("one more"))
        assert rows == {log.region.y + 3}, rows
        assert painted(log) == painted_by_richlog(log)


async def test_a_scrollbar_whose_cells_stay_is_not_marked_dirty() -> None:
    """A long log scrolled away from its end: a new line changes nothing on screen (the thumb moves
    by far less than an eighth of a cell), so the frame has nothing to composite."""
    app = ScrollingLogApp()
    async with app.run_test(size=(50, 12)) as pilot:
        log = app.query_one(ReplLog)
        for index in range(5_000):
            log.write(f"line {index}", scroll_end=False)
        rows = await dirty_rows_of_next_frame(pilot, app, lambda: log.write("one more", scroll_end=False))
        assert rows == set(), rows
        log.scroll_end(animate=False, immediate=True)  # the thumb moves: the bar is repainted
        await pilot.pause()
        await pilot.pause()
        assert log.vertical_scrollbar.position == log.scroll_y
