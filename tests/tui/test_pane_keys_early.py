"""Keys to a side pane pressed before the side panes are mounted take effect once they are (Pilot).

The side panes are held back (``SidePanes.fill`` waits on a gate) so the keys certainly come in the
window between the first frame and the real panes; before ``pane_keys`` they did nothing there and
the keys behind them went to the REPL input.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.widget import Widget

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.repl_pane import ReplInput
from omega_tui.components.side_panes import SidePanes

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


class GatedPanes(SidePanes):
    """Side panes that mount only once ``open_gate`` is called (the app's loop runs on meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.column: Widget | None = None

    async def fill(self, column: Widget) -> None:
        if self.column is None:
            self.column = column  # asked to fill: wait for the gate
            return
        await super().fill(column)

    def open_gate(self, app: OmegaApp) -> None:
        assert self.column is not None, "the app never asked for its side panes"
        app.call_later(self.fill, self.column)


def gated_app(early: tuple[tuple[str, str | None], ...] = ()) -> tuple[OmegaApp, GatedPanes]:
    class App(OmegaApp):
        def on_mount(self) -> None:
            super().on_mount()
            for key, character in early:  # typed before the first frame (``early_keys``)
                self.post_message(events.Key(key, character))

    app = App(Config(), client_factory=lambda: CannedClient(), deterministic=True)  # type: ignore[arg-type]
    panes = app.side_panes = GatedPanes()
    return app, panes


async def test_pane_keys_wait_for_the_panes_and_the_keys_behind_them_go_to_that_pane() -> None:
    app, panes = gated_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f3", "f2", "s", "a")  # to Timeline, to Sessions, sort the sessions, "a"
        await pilot.pause()
        repl_input = app.query_one(ReplInput)
        assert not panes.filled and app.focused is repl_input and repl_input.text == ""
        panes.open_gate(app)
        await wait_for(pilot, lambda: panes.filled and app.pane_of(app.focused) == "sessions", 5, "the Sessions pane")
        table: Any = app.query_one("#sessions-table")
        await wait_for(pilot, lambda: table.sort_key.name != "NAME", 5, "the sort to change")
        assert repl_input.text == ""  # nothing meant for the pane landed in the REPL
        await pilot.press("f1", "b")  # and keys go their normal way afterwards
        assert repl_input.text == "b"


async def test_a_pane_key_typed_before_the_first_frame_waits_too_and_tab_counts() -> None:
    app, panes = gated_app(early=(("x", "x"), ("tab", "\t"), ("s", "s")))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        repl_input = app.query_one(ReplInput)
        assert repl_input.text == "x" and not panes.filled  # before the pane key: the REPL's
        panes.open_gate(app)
        await wait_for(pilot, lambda: panes.filled and app.pane_of(app.focused) == "sessions", 5, "the Sessions pane")
        table: Any = app.query_one("#sessions-table")
        await wait_for(pilot, lambda: table.sort_key.name != "NAME", 5, "the sort to change")
        assert repl_input.text == "x"


async def test_a_paste_before_the_first_frame_is_kept_too() -> None:
    class App(OmegaApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.post_message(events.Key("x", "x"))
            self.post_message(events.Paste("(+ 1\n 2)"))  # bracketed, before anything had focus

    app = App(Config(), client_factory=lambda: CannedClient(), deterministic=True)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.query_one(ReplInput).text == "x(+ 1\n 2)", 5,
                       f"the paste in the input ({app.query_one(ReplInput).text!r})")
        await wait_for(pilot, lambda: app.side_panes.filled, 5, "the side panes")
