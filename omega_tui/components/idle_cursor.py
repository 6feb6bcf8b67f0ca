"""The REPL input's cursor stops blinking after a while without keys (idle CPU).

A blinking cursor repaints the input twice a second for as long as the app is open: about 1% of a
core on an idle app, twice the budget of the whole app (issue 12, item 2: <= 0.5% idle). The cursor
blinks while the user types and for ``QUIET_S`` after the last key, then stays on, steady; the next
key starts the blinking again. One one-shot timer at a time, re-armed only when it fires.
"""

from __future__ import annotations

import time
from typing import Any

QUIET_S = 10.0


class QuietCursor:
    """Turns ``widget.cursor_blink`` off after ``quiet_s`` without keys and on at the next key."""

    def __init__(self, app: Any, widget: Any, quiet_s: float | None = None) -> None:
        self.app = app
        self.widget = widget
        self.quiet_s = QUIET_S if quiet_s is None else quiet_s
        self.last_key = time.monotonic()
        self._armed = False
        self._arm(self.quiet_s)

    def _arm(self, delay: float) -> None:
        self._armed = True
        self.app.set_timer(max(0.05, delay), self._fire)

    def _fire(self) -> None:
        self._armed = False
        quiet_for = time.monotonic() - self.last_key
        if quiet_for < self.quiet_s:
            self._arm(self.quiet_s - quiet_for)
            return
        self.widget.cursor_blink = False

    def key_pressed(self) -> None:
        """Called for every key the app gets (cheap: a clock read, and a timer only after a pause)."""
        self.last_key = time.monotonic()
        if not self.widget.cursor_blink:
            self.widget.cursor_blink = True
        if not self._armed:
            self._arm(self.quiet_s)
