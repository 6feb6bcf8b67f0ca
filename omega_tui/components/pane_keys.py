"""Keys that move to a side pane before the side panes exist: kept, with every key after them.

Why this exists: the first frame holds empty boxes where the Sessions, Timeline and Metrics panes
go; the real panes mount right after it (``side_panes``). F2-F4, alt+2..4 and tab/shift+tab pressed
in that window (about 100 ms) found nothing to focus and did nothing, and what the user typed next,
meant for that pane, went to the REPL input.

``PaneKeys.take`` keeps such a key, and from then on every key and paste, until the panes are
mounted; ``release`` then runs them in their order: a pane key moves the focus at once (so the keys
behind it reach that pane), the others go their normal way. Keys that arrive while ``release``
runs queue behind it, so the order is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp

PANE_BINDINGS = frozenset({"pane.sessions", "pane.timeline", "pane.metrics", "pane.next", "pane.previous"})
"""Ids (``omega_tui.keys``) of the bindings that move the focus into, or possibly into, a side pane."""


def is_pane_key(app: "OmegaApp", key: str) -> bool:
    """True if ``key``, pressed now, would run one of ``PANE_BINDINGS`` (the keymap applied, keys
    that the focused widget takes for itself left out, as Textual looks bindings up)."""
    if app.screen is not getattr(app, "main", None):
        return False  # a dialog or the command palette is open: it has the keys
    for _node, bindings in app.screen._modal_binding_chain:  # noqa: SLF001 - Textual's own lookup
        for binding in bindings.key_to_bindings.get(key, ()):
            if not binding.priority:
                return binding.id in PANE_BINDINGS  # the first binding found is the one that runs
    return False


class PaneKeys:
    """Pane keys pressed before the side panes are mounted, and the keys after them (see module)."""

    def __init__(self) -> None:
        self.held: list[events.Event] = []
        self.waiting = False
        """True from a kept pane key until the panes are mounted and ``release`` ran."""

    def take(self, app: "OmegaApp", event: events.Event) -> bool:
        """Keep ``event`` if it must wait for the side panes; True if it was kept."""
        if not isinstance(event, (events.Key, events.Paste)) or event.is_forwarded:
            return False
        if not self.waiting:
            if app.side_panes.filled or not isinstance(event, events.Key) or not is_pane_key(app, event.key):
                return False
            self.waiting = True
            app.side_panes.when_filled(lambda: app.call_later(self.release, app))
        self.held.append(event)
        return True

    async def release(self, app: "OmegaApp") -> None:
        """The panes are mounted: run the kept keys in order (a pane key moves the focus at once)."""
        held, self.held = self.held, []
        self.waiting = False
        for event in held:
            if isinstance(event, events.Key) and is_pane_key(app, event.key):
                await app._check_bindings(event.key)  # noqa: SLF001 - the binding, run as Textual would
            else:
                await app.on_event(event)
