"""``omega``: the full-screen terminal app, a client of the session server.

Four panes, each titled with its name: REPL (left), Sessions, Timeline and Metrics (right), and a
status bar at the bottom (laid out by ``main_screen.MainScreen``). This module only wires things
together: focus between panes and the status line are ``app_panes.PaneFocus``, thread workers
``app_workers.WorkerCalls``, and each screen area has its own controller beside its pane in
``omega_tui.components``:

* ``connection.ConnectionController``: the client, pushes, reconnects, a server down or stopped;
* ``repl_controller.ReplController``: the input queue, running commands, streamed output;
* ``sessions_controller.SessionsController``: the open session, access, the Sessions pane;
* ``timeline_controller.TimelineController`` and ``metrics_controller.MetricsController``.

Every call that waits on the server runs in a thread worker (``background``), the REPL's commands
on one long-lived thread (``run_lane``): the UI thread never blocks. Tests build the app with
``OmegaApp(client_factory=...)`` against a real server in a temp dir; snapshot tests use ``deterministic=True`` (no timers, no cursor blink) and the canned client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_tui.start_collector import CollectorPause, first_start

_imports_pause = CollectorPause.pause_now()
"""The collector is off while the imports below run, and what they made is frozen (``start_collector``)."""

from textual import events, on
from textual.app import App
from textual.driver import Driver
from textual.screen import Screen

from omega_core.config import Config
from omega_tui.app_panes import PaneFocus
from omega_tui.app_workers import WorkerCalls
from omega_tui.commands import OmegaCommands
from omega_tui.components.connection import ConnectionController, Disconnected, LinkLost, Reconnected, ServerPush
from omega_tui.components.early_keys import EarlyKeys
from omega_tui.components.idle_cursor import QuietCursor
from omega_tui.components.metrics_controller import MetricsController
from omega_tui.components.pane_keys import PaneKeys
from omega_tui.components.repl_controller import FormDone, OracleChunk, OutputChunk, ReplController, Resent
from omega_tui.components.repl_pane import ReplInput
from omega_tui.components.sessions_controller import SessionsController
from omega_tui.components.side_panes import SidePanes
from omega_tui.components.timeline_controller import TimelineController
from omega_tui.cooked_input import CookedInput
from omega_tui.keys import bindings_for, check_keymap
from omega_tui.main_screen import MainScreen

_imports_pause.resume(freeze=True)

if TYPE_CHECKING:  # pragma: no cover - types only: these modules load after the first frame (start-up time)
    from omega_tui.components.metrics_pane import MetricsPane
    from omega_tui.components.sessions_pane import SessionsTable
    from omega_tui.components.timeline_pane import TimelineView
    from omega_tui.css_cache import ParsedCssStore
    from omega_tui.components.repl_pane import ReplPane
    from omega_tui.components.status_bar import StatusBar
    from omega_tui.link import ServerLink


class OmegaApp(PaneFocus, WorkerCalls, App[int]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere find it too
    TITLE = "Omega"
    BINDINGS = bindings_for("app")
    COMMANDS = App.COMMANDS | {OmegaCommands}

    def __init__(
        self,
        config: Config | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        session: str | None = None,
        config_path: str | None = None,
        deterministic: bool = False,
        theme: str | None = None,
        close_client: bool = True,
    ) -> None:
        super().__init__()
        self.css_store: ParsedCssStore | None = None
        """The parsed CSS kept between runs (``css_cache``); not in deterministic mode (tests)."""
        if not deterministic:
            from omega_tui.css_cache import CachedStylesheet, ParsedCssStore, default_cache_path

            self.css_store = ParsedCssStore(default_cache_path())
            self.stylesheet = CachedStylesheet.replacing(self.stylesheet, self.css_store)
        if config is None:
            from omega_core.config import load_config

            config = load_config(config_path)
        self.config = config
        self.config_path = config_path
        self.client_factory = client_factory or self._default_client
        self.deterministic = deterministic
        self.close_client = close_client
        self.requested_theme = theme or config.tui.theme
        self.ready = threading.Event()
        """Set once the first session is open and shown (tests and the bench wait on it)."""
        self.first_paint: float | None = None
        self.early_keys = EarlyKeys()
        """Keys typed before the REPL input could take them (handed to it in ``on_ready``)."""
        self.connection = ConnectionController(self)
        self.sessions = SessionsController(self, session)
        self.repl = ReplController(self)
        self.timeline = TimelineController(self)
        self.metrics = MetricsController(self)
        self.side_panes = SidePanes()
        """The Sessions, Timeline and Metrics panes: empty boxes in the first frame, the real panes right after."""
        self.pane_keys = PaneKeys()
        """Keys to a side pane pressed before it is mounted, and the keys after them (``pane_keys``)."""
        self.start_pause = CollectorPause()
        """The collector is off from the ``Load`` event to the first frame (``start_collector``)."""
        self.quiet_cursor: QuietCursor | None = None
        self._mounted_once = False
        """Textual calls the ``on_mount`` (and ``on_ready``) of every class of the app's MRO: a
        subclass that also calls ``super().on_mount()`` would run this one twice (a second theme
        subscription; twice the connection, side panes and early keys for ``on_ready``)."""
        self._status_parts: tuple[StatusBar, ReplPane] | None = None
        """The status bar and the REPL pane, found once (``show_status`` runs several times per Enter)."""

    # --- the state the controllers share (read-only views) ---------------------------------------

    @property
    def link(self) -> ServerLink | None:
        return self.connection.link

    @property
    def client(self) -> Any:
        return self.connection.client

    @property
    def session_name(self) -> str | None:
        return self.sessions.session_name

    @property
    def mode(self) -> str:
        return self.sessions.mode

    @property
    def holder(self) -> str | None:
        return self.sessions.holder

    @property
    def opening(self) -> bool:
        return self.sessions.opening

    @property
    def subscribed(self) -> bool:
        return self.sessions.subscribed

    @property
    def busy_since(self) -> float | None:
        return self.repl.busy_since

    @property
    def server_down(self) -> str | None:
        from omega_tui.components.status_bar import LinkState

        if self.connection.state in (LinkState.DOWN, LinkState.STOPPED):
            return self.connection.cause or "server stopped"
        return None

    # --- start and stop --------------------------------------------------------------------------

    def _default_client(self) -> Any:
        from omega_core.server.client import OmegaClient

        return OmegaClient(self.config, name="omega tui", config_path=self.config_path)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, except that on Linux/macOS it reads the terminal in
        bursts (``burst_driver``): a paste without bracketed paste stays one paste under load."""
        driver_class = super().get_driver_class()
        if driver_class.__module__ == "textual.drivers.linux_driver" and driver_class.__name__ == "LinuxDriver":
            try:  # it builds on Textual internals: another Textual may lack them
                from omega_tui.burst_driver import burst_driver_class
            except ImportError:
                return driver_class
            return burst_driver_class() or driver_class
        return driver_class

    def get_default_screen(self) -> Screen:
        self.main = MainScreen()
        self.main.prepare_styles(MainScreen.FIRST_FRAME_TYPES)  # before any of its widgets is styled
        return self.main

    def on_load(self) -> None:
        self.start_pause.pause()

    def on_mount(self) -> None:
        if self._mounted_once:
            return  # see ``_mounted_once``
        self._mounted_once = True
        if self.requested_theme in self.available_themes:
            self.theme = self.requested_theme
        else:
            self.notify(f"[tui] theme {self.requested_theme!r} is not a Textual theme; using {self.theme}", severity="warning")
        keymap = dict(self.config.keymap)
        for problem in check_keymap(keymap):
            self.notify(problem, severity="warning", timeout=8)
        if keymap:
            self.set_keymap(keymap)
        self.theme_changed_signal.subscribe(self, lambda _theme: self._apply_styles())

    async def on_event(self, event: events.Event) -> None:
        if self.quiet_cursor is not None and isinstance(event, (events.Key, events.Paste)):
            self.quiet_cursor.key_pressed()
        if self.early_keys.hold(event) or self.pane_keys.take(self, event):
            return
        await super().on_event(event)

    def on_ready(self) -> None:
        """The main screen's first frame is drawn (the REPL takes keys): the collector runs again,
        the early keys are replayed, the side panes replace their empty boxes, and the app connects."""
        if self.first_paint is not None:
            return  # it ran already (see ``_mounted_once``): a second run would connect twice
        self.first_paint = time.perf_counter()
        self.main.first_frame_shown()
        self.start_pause.resume(freeze=self.start_pause.paused and first_start())
        self._apply_styles()
        repl_input = self.main.query_one(ReplInput)
        if self.deterministic:
            repl_input.cursor_blink = False
        else:
            self.quiet_cursor = QuietCursor(self, repl_input)  # no blink repaints while idle
        repl_input.focus()
        self.call_later(self.early_keys.replay, self, repl_input, lambda event: self.pane_keys.take(self, event))
        # (after the focus, before later keys; a pane key among them waits for the side panes)
        self.show_status()
        self.side_panes.when_filled(self.guarded(self._side_panes_filled))
        self.call_later(self.side_panes.fill, self.main.query_one("#side"))  # after the replayed keys
        # no polling timers: lists and figures follow pushes and commands (idle CPU); the connection
        # is made meanwhile, and shown once the side panes are there (``ConnectionController``)
        self.connection.start()

    def _side_panes_filled(self) -> None:
        from omega_tui.components.metrics_pane import MetricsPane
        from omega_tui.components.sessions_pane import SessionsTable

        # ``query``, not ``query_one``: an app that exits just as the panes finish mounting has
        # taken its screen apart before ``_closing`` is set (a rare NoMatches was seen here)
        for widget in (*self.main.query(SessionsTable), *self.main.query(MetricsPane)):
            widget.deterministic = self.deterministic

    async def action_quit(self) -> None:
        self.connection.shutdown()
        self.repl.lane.stop()
        self.exit(0)

    def on_unmount(self) -> None:
        self.start_pause.resume()  # a start that never reached its first frame
        self.connection.shutdown()
        self.repl.lane.stop()
        if self.css_store is not None:
            self.css_store.save()  # what this run parsed, for the next start (a few ms, once)

    # --- messages, handed to their controller ----------------------------------------------------

    def on_server_push(self, message: ServerPush) -> None:
        self.connection.handle_push(message.payload)

    def on_reconnected(self, message: Reconnected) -> None:
        self.connection.reconnected()

    def on_disconnected(self, message: Disconnected) -> None:
        self.connection.disconnected()

    def on_link_lost(self, message: LinkLost) -> None:
        self.connection.link_lost(message)

    def on_output_chunk(self, message: OutputChunk) -> None:
        self.repl.output_chunk(message)

    def on_oracle_chunk(self, message: OracleChunk) -> None:
        self.repl.oracle_chunk(message)

    def on_form_done(self, message: FormDone) -> None:
        self.repl.form_done(message)

    def on_resent(self, message: Resent) -> None:
        self.repl.resent(message)

    @on(ReplInput.Submitted)
    def _submitted(self, message: ReplInput.Submitted) -> None:
        self.repl.submitted(message.text)

    @on(ReplInput.CancelQueued)
    def _cancel_queued(self) -> None:
        self.repl.cancel_last()

    # The side panes' messages go by handler name, not ``@on(Class)``: their classes are imported
    # after the first frame (``side_panes``).

    def on_sessions_table_command(self, message: SessionsTable.Command) -> None:
        self.sessions.command(message)

    def on_timeline_view_goto(self, message: TimelineView.Goto) -> None:
        self.timeline.goto(message)

    def on_timeline_view_request(self, message: TimelineView.Request) -> None:
        self.timeline.request(message)

    def on_metrics_pane_refresh_requested(self, message: MetricsPane.RefreshRequested) -> None:
        self.metrics.refresh()

    # --- actions ---------------------------------------------------------------------------------

    def show_server_down(self, cause: str) -> None:
        self.connection.show_server_down(cause)

    def refresh_metrics(self) -> None:
        self.metrics.refresh()

    def action_restart_server(self) -> None:
        self.connection.restart_server()

    def action_steal_access(self) -> None:
        self.sessions.steal_access()

    def action_reload_transcript(self) -> None:
        if self.session_name:
            self.sessions.open_session(self.session_name)

    def action_interrupt(self) -> None:
        if self.repl.interrupt():
            return
        focused = self.focused
        if isinstance(focused, ReplInput) and focused.selected_text:
            focused.action_copy()
            return
        self.notify("Nothing is running (ctrl+c interrupts a running command; ctrl+q quits)")


def run_app(config: Config, session: str | None = None, config_path: str | None = None,
            cooked: CookedInput | None = None) -> int:
    """Run the app; ``cooked``: the terminal as the command line took it (keys typed during start-up)."""
    cooked = cooked if cooked is not None else CookedInput().take()
    try:
        app = OmegaApp(config, session=session, config_path=config_path)
        app.early_keys.type_text(cooked.text)
        result = app.run()
    finally:
        cooked.restore()
    return int(result or 0)
