"""A screen that paints a command's result in one prompt frame.

Textual paints a screen from a frame timer (at most 60 frames a second): a change made less than
1/60 s after the last frame waits for the next tick. Pressing Enter changes the screen twice in
a few milliseconds: the input is cleared and echoed in the log, then the result of a small
command arrives. Painted as they come, that is two frames (each a few milliseconds of rendering,
on the thread that must also take the reply) with the second one waiting for the next tick: up
to 16 ms more than the whole budget of Enter to a painted result (10 ms).

``PromptPaintScreen`` offers two things (and composites with ``CroppedCompositor``):

* ``hold_frames(seconds)``: no frame is painted for up to ``seconds`` (Enter asks for
  ``ENTER_HOLD_S``), so the input's change and a quick result land in the same frame, and the
  thread that reads the reply is not starved by a frame being rendered meanwhile. A slower
  command's input is painted when the hold runs out (a few milliseconds, not visible).
* ``paint_soon(widget)``: the frame holding ``widget``'s pending change (the result in the log)
  is painted as soon as that change reaches the screen, without waiting for the next tick; this
  also ends a hold. Everything else keeps Textual's pacing (streamed output, scrolling, panes).

It leans on Textual 8's screen internals (``Screen._on_timer_update``, ``Screen._dirty_widgets``,
``App._batch_count``); ``tests/tui/test_prompt_paint.py`` fails if they change meaning.
"""

from __future__ import annotations

import asyncio
import time

from textual import events
from textual.screen import Screen
from textual.widget import Widget

from omega_tui.components.cropped_compositor import CroppedCompositor

ENTER_HOLD_S = 0.012
"""How long Enter holds the next frame back, waiting for the result of a quick command."""
ASK_EXPIRES_S = 0.25
"""A ``paint_soon`` that found nothing to paint for this long is dropped (its change was painted anyway)."""


class PromptPaintScreen(Screen):
    """A ``Screen`` with ``hold_frames`` and ``paint_soon`` (see the module docstring)."""

    _prompt_for: Widget | None = None
    _prompt_asked_at = 0.0
    _held_until = 0.0

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._compositor = CroppedCompositor()  # a partial frame renders only what it can show

    def hold_frames(self, seconds: float) -> None:
        """Paint no frame for up to ``seconds`` (``paint_soon`` ends the hold earlier)."""
        now = time.monotonic()
        self._held_until = max(self._held_until, now + seconds)
        asyncio.get_running_loop().call_later(seconds, self.check_idle)  # paint what waits when it ends

    def paint_soon(self, widget: Widget) -> None:
        """Paint the frame that shows ``widget``'s pending change as soon as it can be composed."""
        self._held_until = 0.0
        self._prompt_for = widget
        self._prompt_asked_at = time.monotonic()
        self.check_idle()

    def on_idle(self, event: events.Idle) -> None:
        """Runs before ``Screen._on_idle`` (which resumes the paced frame timer when something changed)."""
        now = time.monotonic()
        if now < self._held_until:
            event.prevent_default()  # held: no frame yet (the hold's end calls check_idle again)
            return
        widget = self._prompt_for
        if widget is None:
            return
        if now - self._prompt_asked_at > ASK_EXPIRES_S:
            self._prompt_for = None
            return
        if self.app._batch_count or not self.is_current:
            return
        if widget in self._dirty_widgets:  # its change reached the screen (a layout keeps the pacing)
            self._prompt_for = None
            self._on_timer_update()  # what the frame timer would do now (it pauses that timer)


def hold_frames(widget: Widget, seconds: float = ENTER_HOLD_S) -> None:
    """Hold the frames of ``widget``'s screen if it is a ``PromptPaintScreen`` (else nothing)."""
    screen = widget.screen
    if isinstance(screen, PromptPaintScreen):
        screen.hold_frames(seconds)
