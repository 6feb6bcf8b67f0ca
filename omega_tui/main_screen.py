"""The app's main screen: the header, the REPL pane (left), the side column (Sessions, Timeline and
Metrics, empty boxes in the first frame: ``side_panes``), the status bar and the footer; and the
screen's own keys (moving between panes, help).

It is a ``StartScreen`` (``components.start_screen``): ``FIRST_FRAME_TYPES`` lists the widget types
of its first frame in the order Textual mounts them, so that their CSS is added at once before the
first widget is styled (``tests/tui/test_start_screen.py`` compares it with Textual's own order).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.widgets import Footer, Header, LoadingIndicator, Static
from textual.widgets._header import HeaderClockSpace, HeaderIcon, HeaderTitle

from omega_tui.components.connection import Banner
from omega_tui.components.repl_pane import ReplInput, ReplLog, ReplPane
from omega_tui.components.side_panes import EmptyPane, empty_panes
from omega_tui.components.start_screen import StartScreen
from omega_tui.components.status_bar import StatusBar
from omega_tui.components.steady_scrollbar import SteadyScrollBar
from omega_tui.keys import bindings_for

PANES = ("repl", "sessions", "timeline", "metrics")
"""The panes, in the order ``tab`` walks them."""
FOCUS_TARGET = {"repl": "#repl-input", "sessions": "#sessions-table", "timeline": "#timeline-view", "metrics": "#metrics"}
"""What takes the focus when a pane is focused."""


class MainScreen(StartScreen):
    BINDINGS = bindings_for("screen")
    AUTO_FOCUS = "#repl-input"
    """Focused as soon as the screen mounts: keys typed while the app starts land in the input."""

    FIRST_FRAME_TYPES: tuple[type[DOMNode], ...] = (
        Header, Banner, Horizontal, StatusBar, Footer,  # what ``compose`` yields
        HeaderIcon, HeaderTitle, HeaderClockSpace, ReplPane, Vertical, EmptyPane,  # what those compose
        LoadingIndicator, ReplLog, Static, ReplInput,  # the REPL pane's parts
        SteadyScrollBar,  # the log's scrollbar, made when it is laid out
    )
    """The widget types of the first frame (after the screen's own and Textual's) in the order Textual
    first mounts one of each: the order in which their CSS reaches the stylesheet (``prepare_styles``)."""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="Ω")
        yield Banner("", id="banner")
        with Horizontal(id="main"):
            yield ReplPane(id="repl")
            with Vertical(id="side"):
                yield from empty_panes()  # the real panes after the first frame (``side_panes``)
        yield StatusBar("", id="status-bar")
        yield Footer()

    def action_next_pane(self) -> None:
        self.app.cycle_pane(1)  # type: ignore[attr-defined]

    def action_previous_pane(self) -> None:
        self.app.cycle_pane(-1)  # type: ignore[attr-defined]

    def action_focus_pane(self, name: str) -> None:
        self.app.focus_pane(name)  # type: ignore[attr-defined]

    def action_help(self) -> None:
        from omega_tui.components.help_screen import HelpScreen

        keymap = dict(getattr(self.app, "_keymap", {}) or {})
        self.app.show_dialog(HelpScreen(keymap), lambda _: None)  # type: ignore[attr-defined]
