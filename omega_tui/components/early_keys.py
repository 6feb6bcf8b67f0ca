"""Keys typed while the app starts: kept, then handed to the REPL input in order once it can take them.

Why this exists: Textual's driver starts reading the terminal before the main screen has mounted
and focused its input. A key read in that window is forwarded to the screen (nothing is focused),
which ignores it, so a user typing ``(+ 1 2)`` right after launching lost it. (Keys typed even
earlier, while the terminal was still in cooked mode, are taken by ``omega_tui.cooked_input`` and
given here by ``type_text``, ahead of the rest.)

``EarlyKeys`` holds every key event the app receives before the main screen is ready, and
``replay`` forwards them, in their order, to the REPL input (after the app's priority bindings,
such as quit, had their say), stamping them as typed by hand (``TYPING_GAP_S``) since one terminal
read delivers them all at once, like a paste. Keys read after ``replay`` take Textual's normal
path; they queue behind the replayed ones, so the order is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import _time, events

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App
    from textual.widget import Widget

TYPING_GAP_S = 0.05
"""Replayed keys are stamped this far apart: typed by hand, not a paste (the REPL input treats keys
closer than ``repl_input.PASTE_GAP_S``, or waiting within ``repl_input.PASTE_BURST_S`` of an Enter, as
a paste and that Enter as a newline), so each Enter typed at launch runs its own input, as it would
have once the app was up. A key the terminal driver marked as part of a burst (``read_burst``: a
paste read while the app was starting) keeps its mark, which the REPL input goes by instead."""


class EarlyKeys:
    """Key events received before the REPL input can take them (see the module docstring)."""

    def __init__(self) -> None:
        self.held: list[events.Key | events.Paste] = []
        self.open = False
        """True once ``replay`` ran: keys then go their normal way."""

    def hold(self, event: events.Event) -> bool:
        """Keep ``event`` if it is a key (or a paste) that arrived too early; True if it was kept."""
        if self.open or not isinstance(event, (events.Key, events.Paste)) or event.is_forwarded:
            return False
        self.held.append(event)
        return True

    def type_text(self, text: str) -> None:
        """Keep ``text``, typed before the app could read keys (``cooked_input``), ahead of the
        keys held so far: it was typed first."""
        from omega_tui.cooked_input import text_as_keys

        typed = [events.Key(key, character) for key, character in text_as_keys(text)]
        self.held[:0] = typed

    async def replay(self, app: "App[object]", target: "Widget",
                     divert: Callable[[events.Event], bool] | None = None) -> int:
        """Hand the kept keys to ``target`` in order (priority bindings first); returns how many.

        ``divert``: takes a key that must not go to ``target`` (True if it took it), such as a key
        to a side pane that is not mounted yet (``pane_keys``), which then keeps the rest too."""
        self.open = True
        held, self.held = self.held, []
        now = _time.get_time()
        for index, event in enumerate(held):
            event.time = now - (len(held) - index) * TYPING_GAP_S
            if isinstance(event, events.Key) and await app._check_bindings(event.key, priority=True):  # noqa: SLF001
                continue
            if divert is not None and divert(event):
                continue
            target._forward_event(event)  # noqa: SLF001 - what App.on_event does with a key
        return len(held)
