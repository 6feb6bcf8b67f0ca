"""The server link of the app: connecting, reading pushes, noticing a server that went away.

``ConnectionController`` owns the client. After the first connection it switches the client's
autostart off: a server stopped on purpose (``omega server stop``) or by its idle timer stays
stopped, and the status bar says "server stopped" with the key that starts it again (F5). A backend
restart is invisible apart from a notice (the client reconnects and resends by itself).

Pushes are read by one thread (``poll_pushes`` with a long wait: no wake-ups while idle) and posted
to the UI thread as ``ServerPush`` messages. While the connection is broken the same thread waits
for the server's socket to come back (a cheap ``stat``, no requests) and reconnects when it does.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from omega_tui.components.status_bar import LinkState

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp
    from omega_tui.link import ServerLink

NOTICE_S = 30.0
"""How long the status bar keeps saying that the backend restarted (one timer, not a poll)."""
PUSH_WAIT_S = 1.0
"""How long the push thread waits for a frame before looking at the connection again."""
SOCKET_LOOK_S = 0.5
"""How often, while no server runs, the push thread looks whether one was started (a ``stat``)."""

OP_FEATURES = {
    "subscribe": "live updates come from polling every 0.2 s",
    "access": "no locks: every client is read-write",
    "clients": "the Sessions pane cannot show clients and locks",
    "metrics": "figures come from status and this app's own timings",
    "timeline": "the timeline shows checkpoints only (no annotations, tags or snapshots)",
    "annotate": "annotations are off",
    "unannotate": "annotations are off",
    "snapshot": "snapshots are off",
    "snapshots": "snapshots are off",
    "restore": "restoring snapshots is off",
}


class ServerPush(Message):
    """A frame the server pushed (read on the pump thread, handled on the UI thread)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self.payload = payload


class Reconnected(Message):
    """The client reconnected by itself (the backend restarted, or a stopped server came back)."""


class Disconnected(Message):
    """The connection broke; the client is reconnecting by itself (posted from its thread)."""


class LinkLost(Message):
    """The connection broke and could not be made again: ``stopped`` if no server runs at all."""

    def __init__(self, cause: str, stopped: bool) -> None:
        super().__init__()
        self.cause = cause
        self.stopped = stopped


class Banner(Static):
    """A line across the top saying the server is unavailable, why, and how to recover."""


class ConnectionController:
    """Connects the app to the server and keeps the connection's state (see the module docstring)."""

    def __init__(self, app: "OmegaApp") -> None:
        self.app = app
        self.client: Any = None
        self.link: ServerLink | None = None
        self.state = LinkState.CONNECTING
        self.cause: str | None = None
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._told_missing: set[str] = set()
        self.notice: str | None = None
        """Shown in the status bar for ``NOTICE_S`` after a backend restart (the toast goes sooner)."""
        self._notice_timer: Any = None

    # --- connecting ------------------------------------------------------------------------------

    def start(self) -> None:
        # at once, not as a worker: the side panes are mounted meanwhile (``background_now``)
        self.app.background_now(self._connect, done=self._connected, failed=self._connect_failed,
                                description="connecting to the server")

    def _connect(self) -> Any:
        client = self.app.client_factory()
        client.on_push = self._push_from_thread
        client.on_reconnect = lambda: self.app.post_message(Reconnected())
        if hasattr(client, "on_disconnect"):
            client.on_disconnect = lambda: self.app.post_message(Disconnected())
        connect = getattr(client, "connect", None)
        if connect is not None and not getattr(client, "connected", False):
            connect()
        return client

    def _connected(self, client: Any) -> None:
        self.client = client  # closed by ``shutdown`` even if the app quits before the panes are there
        side_panes = self.app.side_panes
        if not side_panes.filled:  # what follows fills the side panes: they must be mounted first
            side_panes.when_filled(self.app.guarded(lambda: self._connected(client)))
            return
        from omega_tui.link import ServerLink  # here, not at import: it loads the client (start-up time)

        self.link = ServerLink(client)
        if hasattr(client, "autostart"):
            client.autostart = False  # a stopped server stays stopped until the user starts it
        self.state = LinkState.CONNECTED
        info = getattr(client, "server_info", None)
        if isinstance(info, dict) and info.get("unavailable"):
            self.show_server_down(str(info["unavailable"]))
        if hasattr(client, "poll_pushes"):
            self._pump = threading.Thread(target=self._pump_pushes, name="omega-push-pump", daemon=True)
            self._pump.start()
        # The session first: the listing (1,000s of rows, and on a fresh server a scan of every
        # session's files) is asked for once the session is open, so it never delays it.
        self.app.sessions.open_session(self.app.sessions.wanted_session)

    def _connect_failed(self, problem: BaseException) -> None:
        self.state = LinkState.DOWN
        self.cause = str(problem)
        self.app.show_status()

    def shutdown(self) -> None:
        self._stop.set()
        client = self.client
        if client is not None and self.app.close_client:
            with contextlib.suppress(Exception):
                client.close()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- pushes ----------------------------------------------------------------------------------

    def _push_from_thread(self, payload: dict[str, Any]) -> None:
        self.app.post_message(ServerPush(payload))

    def _pump_pushes(self) -> None:
        """Read pushes while no request is waiting (a waiting request's thread reads them itself)."""
        client = self.client
        while not self._stop.is_set():
            if not getattr(client, "connected", True):
                self._wait_for_server(client)
                continue
            try:
                client.poll_pushes(PUSH_WAIT_S)
            except Exception as problem:  # noqa: BLE001 - the connection broke for good
                if self._stop.is_set():
                    return
                self.app.post_message(LinkLost(str(problem), stopped=not self._server_runs()))

    def _server_runs(self) -> bool:
        paths = getattr(self.client, "paths", None)
        if paths is None:
            return True
        from omega_core.server import launcher

        return launcher.server_pid(paths) is not None

    def _wait_for_server(self, client: Any) -> None:
        """No connection: wait (cheaply) until a server runs again, then reconnect to it."""
        while not self._stop.wait(SOCKET_LOOK_S):
            if self._server_runs():
                try:
                    client.connect()
                except Exception:  # noqa: BLE001 - still starting: look again
                    continue
                return

    def handle_push(self, payload: dict[str, Any]) -> None:
        kind = payload.get("push")
        app = self.app
        if kind == "events":
            app.sessions.events_pushed(payload)
        elif kind == "output":
            app.repl.output_pushed(payload)
        elif kind == "sessions":
            app.sessions.refresh_sessions(soon=True)
        elif kind == "timeline":
            if payload.get("session") == app.session_name:
                app.timeline.schedule_reload()
        elif kind == "resync":
            # This client fell behind the session's events (pushes were dropped): re-read its
            # transcript and timeline rather than show a history with a hole in it.
            if payload.get("session") == app.session_name and app.session_name and not app.sessions.opening:
                app.sessions.open_session(app.session_name, quiet=True)
        elif kind == "access_lost":
            app.sessions.access_lost(payload)
        elif kind in ("access_free", "writer_left"):
            app.sessions.writer_left(payload)
        elif kind in ("restarted", "backend_restarted", "restart"):
            app.notify("The server's backend restarted.", severity="warning")
            self.show_notice("backend restarted")
        elif kind in ("shutdown", "stopping"):
            self.state = LinkState.STOPPED
            self.cause = str(payload.get("message") or "the server is shutting down")
            app.show_status()

    def disconnected(self) -> None:
        """The connection broke: say "reconnecting n" until the client is back (or gives up)."""
        if self.state in (LinkState.CONNECTED, LinkState.CONNECTING):
            self.state = LinkState.RECONNECTING
            self.app.show_status()

    def show_notice(self, text: str) -> None:
        """Keep ``text`` in the status bar for ``NOTICE_S`` (a later notice replaces it)."""
        self.notice = text
        if self._notice_timer is not None:
            self._notice_timer.stop()

        def clear() -> None:
            self.notice = None
            self._notice_timer = None
            self.app.show_status()

        if not self.app.deterministic:
            self._notice_timer = self.app.set_timer(NOTICE_S, self.app.guarded(clear))
        self.app.show_status()

    def reconnected(self) -> None:
        app = self.app
        info = getattr(self.client, "server_info", None)
        if isinstance(info, dict) and info.get("unavailable"):
            self.show_server_down(str(info["unavailable"]))
            return
        was_stopped = self.state is LinkState.STOPPED
        count = getattr(self.client, "reconnects", 0)
        if was_stopped:
            app.notify("The server is running again; reconnected.", title="Reconnected", timeout=4)
        else:
            app.notify(f"The server restarted; reconnected (restart #{count}). Nothing acknowledged was lost.",
                       title="Server restarted", severity="warning", timeout=6)
        self.clear_server_down()
        if not was_stopped:
            self.show_notice(f"backend restarted (reconnect #{count})")
        name = app.session_name
        if name and self.link is not None:
            app.background(self.link.access, name, done=app.sessions.access_changed, quiet=True)
            app.repl.poll_events(force=True)
        app.repl.drain()

    def link_lost(self, message: LinkLost) -> None:
        self.state = LinkState.STOPPED if message.stopped else LinkState.DOWN
        self.cause = None if message.stopped else message.cause
        self.app.show_status()

    # --- server down -----------------------------------------------------------------------------

    def show_server_down(self, cause: str) -> None:
        self.state = LinkState.DOWN
        self.cause = cause
        banner = self.app.main.query_one(Banner)
        banner.update(Text.assemble(
            ("Server unavailable: ", "bold"), cause,
            "\nThe app keeps running. To recover: press F5 (or 'Server: restart' in the command palette, "
            "ctrl+p), or run `omega server restart` in a shell.",
        ))
        banner.add_class("shown")
        self.app.show_status()

    def clear_server_down(self) -> None:
        self.state = LinkState.CONNECTED
        self.cause = None
        self.app.main.query_one(Banner).remove_class("shown")
        self.app.show_status()

    def restart_server(self) -> None:
        """F5: start a stopped server, restart a backend that gave up, or connect for the first time."""
        app = self.app
        client = self.client
        if client is None:  # never connected (no server could be started or reached): try again
            app.notify("Connecting to the server again…")
            self.state = LinkState.CONNECTING
            self.clear_server_down()
            self.start()
            return
        if self.state is LinkState.STOPPED or not getattr(client, "connected", True):
            app.notify("Starting the server…")
            self.state = LinkState.RECONNECTING
            app.show_status()

            def start() -> None:
                client.autostart = True
                try:
                    client.connect()
                finally:
                    client.autostart = False

            app.background(start, description="start the server")
            return
        app.notify("Restarting the server's backend…")

        def restarted(_: Any) -> None:
            self.clear_server_down()
            app.notify("Server restarted")
            if app.session_name:
                app.sessions.open_session(app.session_name, quiet=True)

        app.background(client.restart, done=restarted, description="restart")

    def failed(self, problem: BaseException) -> bool:
        """Explain a failed call that says something about the server; True if it was explained."""
        from omega_core.server.client import ServerUnavailable

        from omega_tui.link import OpUnavailable, unavailable_cause

        cause = unavailable_cause(problem)
        if cause is not None:
            self.show_server_down(cause)
            return True
        if isinstance(problem, ServerUnavailable):
            if self._server_runs():
                self.state, self.cause = LinkState.DOWN, str(problem)
            else:
                self.state, self.cause = LinkState.STOPPED, None
            self.app.show_status()
            return True
        if isinstance(problem, OpUnavailable):
            self.tell_missing(problem.op)
            return True
        return False

    def tell_missing(self, op: str) -> None:
        """Say once per op that the server does not offer it (and what that switches off)."""
        if op in self._told_missing:
            return
        self._told_missing.add(op)
        feature = OP_FEATURES.get(op, "that feature is off")
        self.app.notify(f"The server does not offer '{op}' yet: {feature}.", title="Not available yet",
                        severity="warning", timeout=6)
