"""Enter's frame waits briefly for the result; the result's frame is painted at once (issue 12, item 2).

``hold_frames`` keeps frames back (so a quick command's input and result land in one frame) and
ends by itself; ``paint_soon`` paints the frame with a widget's change without waiting for the
frame timer's next tick, and ends a hold.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from omega_tui.components.prompt_paint import PromptPaintScreen, hold_frames

pytestmark = [pytest.mark.anyio]


class PaintScreen(PromptPaintScreen):
    def compose(self) -> Any:
        yield Static("before", id="text")


class PaintApp(App[None]):
    def get_default_screen(self) -> Screen:
        return PaintScreen()


def frames_of(app: App[Any]) -> list[float]:
    """Times at which ``app`` hands frames to its driver, from now on."""
    frames: list[float] = []
    original = app._display

    def display(screen: Any, renderable: Any) -> Any:
        frames.append(time.monotonic())
        return original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    return frames


async def wait_until(condition: Any, what: str, seconds: float = 5.0) -> None:
    """Wait on the event loop alone (``Pilot.pause`` paints a frame itself, which would hide what
    these tests look at)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_hold_keeps_frames_back_until_paint_soon() -> None:
    app = PaintApp()
    async with app.run_test(size=(40, 5)) as pilot:
        screen = app.screen
        assert isinstance(screen, PaintScreen)
        text = screen.query_one("#text", Static)
        await pilot.pause()
        frames = frames_of(app)
        hold_frames(text, 30.0)
        text.update("changed")
        await asyncio.sleep(0.1)
        assert frames == []  # held: the change waits
        screen.paint_soon(text)
        await wait_until(lambda: frames, "the frame asked for")
        assert "changed" in str(text.render())


async def test_a_hold_ends_by_itself() -> None:
    app = PaintApp()
    async with app.run_test(size=(40, 5)) as pilot:
        text = app.screen.query_one("#text", Static)
        await pilot.pause()
        frames = frames_of(app)
        hold_frames(text, 0.05)
        text.update("changed")
        await wait_until(lambda: frames, "the frame after the hold")


async def test_paint_soon_does_not_wait_for_the_next_tick() -> None:
    app = PaintApp()
    async with app.run_test(size=(40, 5)) as pilot:
        screen = app.screen
        assert isinstance(screen, PaintScreen)
        text = screen.query_one("#text", Static)
        await pilot.pause()
        frames = frames_of(app)
        painted_by_tick: list[int] = []
        timer = screen._update_timer
        original_resume = timer.resume

        def resume() -> None:  # the paced path: the frame timer would paint at its next tick
            painted_by_tick.append(1)
            original_resume()

        timer.resume = resume  # type: ignore[method-assign]
        text.update("changed")
        screen.paint_soon(text)
        await wait_until(lambda: frames, "the frame")
        assert painted_by_tick == []  # painted from the idle handler, not by the paced timer
