"""Rows that look alike are rendered once (the first frame's empty boxes, the REPL pane behind its
children, a log's blank rows, a scrollbar without a thumb) and come out as Textual renders them
row by row."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import RichLog

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.repl_pane import ReplLog, ReplPane
from omega_tui.components.side_panes import EmptyPane
from omega_tui.components.steady_scrollbar import SteadyScrollBar

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


def cells(strips: list[Strip]) -> list[list[Any]]:
    return [list(strip) for strip in strips]


def rows_asked(monkeypatch: pytest.MonkeyPatch, base: type[Widget]) -> list[int]:
    """The heights of the regions ``base.render_lines`` is asked to render from now on."""
    heights: list[int] = []
    original = base.render_lines

    def counted(self: Widget, crop: Region) -> list[Strip]:
        heights.append(crop.height)
        return original(self, crop)

    monkeypatch.setattr(base, "render_lines", counted)
    return heights


class FirstFrame(OmegaApp):
    """Compares, at the first frame, each empty box's and the empty log's scrollbar's rows with
    Textual's rendering of them."""

    def __init__(self) -> None:
        super().__init__(Config(), client_factory=lambda: CannedClient(), deterministic=True)
        self.compared: list[tuple[str, bool, int]] = []

    def on_ready(self) -> None:
        log = self.main.query_one(ReplLog)
        bars = [bar for bar in (log._vertical_scrollbar,) if isinstance(bar, SteadyScrollBar) and bar.display]
        boxes = [*self.main.query(EmptyPane), self.main.query_one(ReplPane)]
        for widget, base in [*((box, Widget) for box in boxes), *((bar, ScrollBar) for bar in bars)]:
            full = Region(0, 0, *widget.region.size)
            widget._styles_cache.clear()
            if isinstance(widget, SteadyScrollBar):
                widget._painted = None
            asked: list[int] = []
            widget.render_lines_of_base = asked  # type: ignore[attr-defined]
            ours = widget.render_lines(full)
            del widget.render_lines_of_base  # type: ignore[attr-defined]
            widget._styles_cache.clear()
            textuals = base.render_lines(widget, full)
            self.compared.append((repr(widget), cells(ours) == cells(textuals) and max(asked) == 1, len(ours)))


async def test_empty_boxes_the_repl_pane_and_an_empty_scrollbar_render_as_textual_does(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Widget.render_lines

    def noted(self: Widget, crop: Region) -> list[Strip]:  # the rows the box asks Textual to render
        asked = getattr(self, "render_lines_of_base", None)
        if asked is not None:
            asked.append(crop.height)
        return original(self, crop)

    monkeypatch.setattr(Widget, "render_lines", noted)
    app = FirstFrame()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.compared), 10, "the first frame")
    assert [name for name, same, _ in app.compared if not same] == []
    assert sum(1 for name, _, rows in app.compared if "EmptyPane" in name and rows > 4) == 3
    assert any("ReplPane" in name for name, _, _ in app.compared)
    assert any("SteadyScrollBar" in name for name, _, _ in app.compared)


@pytest.mark.parametrize("lines", [0, 1, 3])
async def test_a_logs_blank_rows_render_once_and_as_textual_renders_them(monkeypatch: pytest.MonkeyPatch,
                                                                         lines: int) -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        log = app.main.query_one(ReplLog)
        log.clear()
        for number in range(lines):
            log.write(f"line {number}")
        await pilot.pause()
        full = Region(0, 0, *log.region.size)
        log._finished.clear()
        heights = rows_asked(monkeypatch, RichLog)
        ours = log.render_lines(full)
        monkeypatch.undo()
        log._styles_cache.clear()
        textuals = RichLog.render_lines(log, full)
    assert cells(ours) == cells(textuals)
    assert heights == ([lines] if lines else []) + [1], heights  # the lines, then one blank row for all the others
