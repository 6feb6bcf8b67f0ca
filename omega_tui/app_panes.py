"""Which pane has the focus and how it moves, the status line, and the REPL's theme styles.

A mixin of ``OmegaApp`` (kept apart so ``app.py`` stays the wiring): it relies on the app's
``main`` screen, its ``side_panes`` (the side panes mount after the first frame: focusing one
before waits for them), its controllers (``sessions``, ``repl``, ``connection``: the status line is
drawn from their state) and on Textual's ``focused``, ``run_action``, ``theme_variables`` and
``sub_title``.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from omega_tui.commands import spec_scope_pane
from omega_tui.components.pane_titles import set_border_subtitle
from omega_tui.components.repl_pane import ReplPane, theme_styles
from omega_tui.components.status_bar import BUSY_SHOWN_AFTER_S, StatusBar, StatusFacts
from omega_tui.main_screen import FOCUS_TARGET, PANES

if TYPE_CHECKING:  # pragma: no cover - types only
    from omega_tui.components.connection import ConnectionController
    from omega_tui.components.repl_controller import ReplController
    from omega_tui.components.sessions_controller import SessionsController
    from omega_tui.components.side_panes import SidePanes
    from omega_tui.keys import KeySpec
    from omega_tui.main_screen import MainScreen


class PaneFocus:
    """Focus between panes, the status line and the REPL's styles (see the module docstring)."""

    main: MainScreen
    side_panes: SidePanes
    sessions: SessionsController
    repl: ReplController
    connection: ConnectionController
    deterministic: bool
    _status_parts: tuple[StatusBar, ReplPane] | None

    def pane_of(self, widget: Widget | None) -> str | None:
        while widget is not None:
            if widget.id in PANES:
                return widget.id
            widget = widget.parent  # type: ignore[assignment]
        return None

    def focus_pane(self, name: str) -> None:
        """Focus the pane at once (keys already read go to it), or once the side panes are mounted."""
        if name != "repl" and not self.side_panes.filled:
            self.side_panes.when_filled(lambda: self.focus_pane(name))
            return
        with contextlib.suppress(Exception):
            self.main.set_focus(self.main.query_one(FOCUS_TARGET[name]))

    def cycle_pane(self, step: int) -> None:
        current = self.pane_of(self.focused)  # type: ignore[attr-defined]
        index = PANES.index(current) if current in PANES else -1
        self.focus_pane(PANES[(index + step) % len(PANES)])

    async def run_binding(self, spec: KeySpec) -> None:
        """Run a binding's action from the command palette, in the pane it belongs to."""
        pane = spec_scope_pane(spec)
        if pane is None:
            target: Any = self.screen if spec.scope == "screen" else self  # type: ignore[attr-defined]
        else:
            self.focus_pane(pane)
            target = self.main.query_one(FOCUS_TARGET[pane])
        await self.run_action(spec.action, target)  # type: ignore[attr-defined]

    def _apply_styles(self) -> None:
        with contextlib.suppress(Exception):
            self.main.query_one(ReplPane).apply_styles(theme_styles(self.theme_variables))  # type: ignore[attr-defined]

    def show_status(self, doing: str | None = None) -> None:
        """Redraw the status bar from the controllers' state."""
        if self._status_parts is None:
            try:
                self._status_parts = (self.main.query_one(StatusBar), self.main.query_one(ReplPane))
            except Exception:  # noqa: BLE001 - not composed yet
                return
        bar, repl = self._status_parts
        sessions, runner = self.sessions, self.repl
        name = sessions.session_name or sessions.wanted_session
        busy = None if runner.busy_since is None else time.monotonic() - runner.busy_since
        if busy is not None and busy < BUSY_SHOWN_AFTER_S and not runner.queue and not self.deterministic:
            busy = None  # see BUSY_SHOWN_AFTER_S: the REPL's tick shows it if the command lasts
        bar.show(StatusFacts(
            link=self.connection.state, session=name, access=sessions.access_text, busy_s=busy,
            queued=len(runner.queue), doing=doing, cause=self.connection.cause,
            reconnects=int(getattr(self.connection.client, "reconnects", 0) or 0), write_offer=sessions.write_offer,
            deterministic=self.deterministic, notice=self.connection.notice,
        ))
        read_only = sessions.mode == "read-only"
        self.sub_title = name + (" · read-only" if read_only else "")  # type: ignore[attr-defined]
        set_border_subtitle(repl, "read-only" if read_only else "")
