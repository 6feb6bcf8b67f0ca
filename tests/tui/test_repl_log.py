"""The REPL log grows without laying out the whole screen, and still scrolls and shows its scrollbar."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from omega_tui.components.repl_pane import ReplLog

pytestmark = [pytest.mark.anyio]


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ReplLog(id="log", wrap=True, auto_scroll=True)


async def test_writing_lays_out_only_when_a_scrollbar_comes() -> None:
    app = LogApp()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(ReplLog)
        layouts: list[bool] = []
        original = log.refresh

        def spy(*regions: Any, **kwargs: Any) -> Any:
            layouts.append(bool(kwargs.get("layout")))
            return original(*regions, **kwargs)

        log.refresh = spy  # type: ignore[method-assign]
        log.write("first")
        await pilot.pause()
        assert not any(layouts)  # fits: no layout
        for index in range(30):
            log.write(f"line {index}")
        await pilot.pause()
        assert any(layouts)  # the scrollbar came: one layout
        assert log.show_vertical_scrollbar and log.max_scroll_y > 0
        layouts.clear()
        log.write("one more")
        await pilot.pause()
        await pilot.pause()
        assert not any(layouts)  # the scrollbar was there already
        assert log.scroll_y == log.max_scroll_y  # still following the end
        assert log.vertical_scrollbar.window_virtual_size == len(log.lines)
