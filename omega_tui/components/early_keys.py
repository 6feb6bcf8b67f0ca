"""Keys typed while the app starts: kept, then handed to the REPL input in order once it can take them.

Why this exists: Textual's driver starts reading the terminal before the main screen has mounted
and focused its input. A key read in that window is forwarded to the screen (nothing is focused),
which ignores it, so a user typing ``(+ 1 2)`` right after launching lost it. Worse, keys typed
before the driver switched the terminal to raw mode were translated by the terminal's cooked mode:
Enter arrives as a line feed (``ICRNL``), which Textual reads as ``ctrl+j`` (the REPL's "newline"
key), so even a replayed Enter would not have run anything.

``EarlyKeys`` holds every key event the app receives before the main screen is ready, and
``replay`` forwards them, in their order, to the REPL input (after the app's priority bindings,
such as quit, had their say), turning those ``ctrl+j`` into Enter and stamping them as typed by
hand (``TYPING_GAP_S``) since one terminal read delivers them all at once, like a paste. Keys read after ``replay`` take
Textual's normal path; they queue behind the replayed ones, so the order is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import _time, events

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App
    from textual.widget import Widget

COOKED_ENTER = "ctrl+j"
"""What Enter becomes when typed while the terminal is still in cooked mode (CR mapped to LF)."""
TYPING_GAP_S = 0.05
"""Replayed keys are stamped this far apart: typed by hand, not a paste (the REPL input treats keys
closer than ``repl_input.PASTE_GAP_S``, or waiting within ``repl_input.PASTE_BURST_S`` of an Enter, as
a paste and that Enter as a newline), so each Enter typed at launch runs its own input, as it would
have once the app was up."""


class EarlyKeys:
    """Key events received before the REPL input can take them (see the module docstring)."""

    def __init__(self) -> None:
        self.held: list[events.Key] = []
        self.open = False
        """True once ``replay`` ran: keys then go their normal way."""

    def hold(self, event: events.Event) -> bool:
        """Keep ``event`` if it is a key that arrived too early; True if it was kept."""
        if self.open or not isinstance(event, events.Key) or event.is_forwarded:
            return False
        if event.key == COOKED_ENTER:
            event = events.Key("enter", "\r")
        self.held.append(event)
        return True

    async def replay(self, app: "App[object]", target: "Widget") -> int:
        """Hand the kept keys to ``target`` in order (priority bindings first); returns how many."""
        self.open = True
        held, self.held = self.held, []
        now = _time.get_time()
        for index, event in enumerate(held):
            event.time = now - (len(held) - index) * TYPING_GAP_S
            if await app._check_bindings(event.key, priority=True):  # noqa: SLF001 - Textual's own routing
                continue
            target._forward_event(event)  # noqa: SLF001 - what App.on_event does with a key
        return len(held)
