"""``omega``: the full-screen terminal app, a client of the session server.

Four panes, each titled with its name: REPL (left), Sessions, Timeline and Metrics (right). The app
talks to the server only through ``OmegaClient`` (wrapped by ``ServerLink`` for the fallbacks),
and every call that waits on the server runs in a thread worker: the UI thread never blocks.

Live updates: the app subscribes to its session; a thread reads server pushes (``poll_pushes``)
and posts them to the UI as messages, so another client's input shows up as soon as the server
pushes it. A server without ``subscribe`` is polled (``trace``) instead. A reconnect (backend
restarted) shows a notice and the app re-takes its access; a supervisor that gave up restarting
shows a banner saying why and how to recover.

Tests build the app with ``OmegaApp(client_factory=...)`` against a real server in a temp dir;
snapshot tests use ``deterministic=True`` (fixed clock text, no timers, no cursor blink) and the
canned client of ``omega_tui.canned``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from omega_core.config import Config
from omega_tui.commands import OmegaCommands, spec_scope_pane
from omega_tui.components.confirm import ChoiceScreen, ConfirmScreen, Field, FormScreen
from omega_tui.components.metrics_pane import MetricsPane
from omega_tui.components.repl_pane import ReplInput, ReplPane, theme_styles
from omega_tui.components.sessions_pane import SessionsPane, SessionsTable
from omega_tui.components.timeline_pane import Done, TimelinePane, TimelineView
from omega_tui.keys import KeySpec, bindings_for, check_keymap
from omega_tui.link import DEFAULT_SESSION, OpUnavailable, ServerLink, unavailable_cause

PANES = ("repl", "sessions", "timeline", "metrics")
FOCUS_TARGET = {"repl": "#repl-input", "sessions": "#sessions-table", "timeline": "#timeline-view", "metrics": "#metrics"}
TRANSCRIPT_LIMIT = 200
POLL_INTERVAL_S = 0.2
METRICS_INTERVAL_S = 1.0
SESSIONS_INTERVAL_S = 5.0
TIMELINE_RELOAD_DELAY_S = 0.05

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
    """The client reconnected by itself (the backend restarted)."""


class Banner(Static):
    """A line across the top saying the server is unavailable, why, and how to recover."""


class LinkSource:
    """The timeline of one session, paged from the server in workers."""

    def __init__(self, app: "OmegaApp", session: str) -> None:
        self.app = app
        self.session = session

    def request(self, offset: int, limit: int, tag: str | None, done: Done) -> None:
        link = self.app.link
        if link is None:
            done(None, RuntimeError("not connected"))
            return
        self.app.background(link.timeline, self.session, offset, limit, tag,
                            done=lambda page: done(page, None), failed=lambda problem: done(None, problem),
                            group=f"timeline-{offset}", quiet=True)


class MainScreen(Screen):
    BINDINGS = bindings_for("screen")

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="Ω")
        yield Banner("", id="banner")
        with Horizontal(id="main"):
            yield ReplPane(id="repl")
            with Vertical(id="side"):
                yield SessionsPane(id="sessions")
                yield TimelinePane(id="timeline")
                yield MetricsPane(id="metrics")
        yield Footer()

    def action_next_pane(self) -> None:
        self.app.cycle_pane(1)  # type: ignore[attr-defined]

    def action_previous_pane(self) -> None:
        self.app.cycle_pane(-1)  # type: ignore[attr-defined]

    def action_focus_pane(self, name: str) -> None:
        self.app.focus_pane(name)  # type: ignore[attr-defined]


class OmegaApp(App[int]):
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
        if config is None:
            from omega_core.config import load_config

            config = load_config(config_path)
        self.config = config
        self.config_path = config_path
        self.client_factory = client_factory or self._default_client
        self.deterministic = deterministic
        self.close_client = close_client
        self.requested_theme = theme or config.tui.theme
        self.client: Any = None
        self.link: ServerLink | None = None
        self.session_name: str | None = None
        self.wanted_session = session or DEFAULT_SESSION
        self.mode = "read-write"
        self.holder: str | None = None
        self.busy_since: float | None = None
        self.opening = False
        self.subscribed = False
        self.seen_seq = -1
        self.server_down: str | None = None
        self.connected = False
        self.ready = threading.Event()
        """Set once the first session is open and shown (tests and the bench wait on it)."""
        self.first_paint: float | None = None
        self._buffered: list[dict[str, Any]] = []
        self._skipping_own = False
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._told_missing: set[str] = set()
        self._timeline_reload_pending = False
        self._sessions_refresh_pending = False
        self._sessions_token = 0
        self._poll_busy = False
        self._metrics_busy = False

    # --- start and stop --------------------------------------------------------------------------

    def _default_client(self) -> Any:
        from omega_core.server.client import OmegaClient

        return OmegaClient(self.config, name="omega tui", config_path=self.config_path)

    def get_default_screen(self) -> Screen:
        self.main = MainScreen()
        return self.main

    def on_mount(self) -> None:
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

    def on_ready(self) -> None:
        """The main screen is composed and its first frame is drawn: fill it, then connect."""
        if self.first_paint is None:
            self.first_paint = time.perf_counter()
        self._apply_styles()
        self.main.query_one(SessionsTable).deterministic = self.deterministic
        self.main.query_one(MetricsPane).deterministic = self.deterministic
        repl_input = self.main.query_one(ReplInput)
        if self.deterministic:
            repl_input.cursor_blink = False
        repl_input.focus()
        self._show_status()
        self.background(self._connect, done=self._connected, group="connect", description="connecting to the server")
        if not self.deterministic:
            self.set_interval(METRICS_INTERVAL_S, self._guarded(self.refresh_metrics))
            self.set_interval(SESSIONS_INTERVAL_S, self._guarded(self.refresh_sessions))
            self.set_interval(0.1, self._guarded(self._tick))

    def _connect(self) -> Any:
        client = self.client_factory()
        client.on_push = self._push_from_thread
        client.on_reconnect = self._reconnect_from_thread
        connect = getattr(client, "connect", None)
        if connect is not None and not getattr(client, "connected", False):
            connect()
        return client

    def _connected(self, client: Any) -> None:
        self.client = client
        self.link = ServerLink(client)
        self.connected = True
        info = getattr(client, "server_info", None)
        if isinstance(info, dict) and info.get("unavailable"):
            self.show_server_down(str(info["unavailable"]))
        if hasattr(client, "poll_pushes"):
            self._pump = threading.Thread(target=self._pump_pushes, name="omega-push-pump", daemon=True)
            self._pump.start()
        self.open_session(self.wanted_session)
        self.refresh_sessions()

    async def action_quit(self) -> None:
        self._shutdown_client()
        self.exit(0)

    def _shutdown_client(self) -> None:
        self._stop.set()
        client = self.client
        if client is not None and self.close_client:
            with contextlib.suppress(Exception):
                client.close()

    def on_unmount(self) -> None:
        self._shutdown_client()

    # --- workers ---------------------------------------------------------------------------------

    def background(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], Any] | None = None,
                   failed: Callable[[BaseException], Any] | None = None, group: str = "default",
                   exclusive: bool = False, description: str = "", quiet: bool = False) -> Any:
        """Run ``fn(*args)`` in a thread worker; ``done``/``failed`` then run on the UI thread."""

        def run() -> None:
            try:
                result = fn(*args)
            except Exception as problem:  # noqa: BLE001 - reported on the UI thread
                self._call_soon(self._failed, problem, failed, description, quiet)
            else:
                if done is not None:
                    self._call_soon(done, result)

        return self.run_worker(run, thread=True, group=group, exclusive=exclusive, exit_on_error=False,
                               description=description or getattr(fn, "__name__", "call"))

    def _call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        if self._stop.is_set() or not self.is_running:
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._guarded(callback), *args)

    def _guarded(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """``callback`` that does nothing once the app is closing (its widgets may be gone)."""

        def run(*args: Any) -> Any:
            if self._stop.is_set() or self._closing:
                return None
            try:
                return callback(*args)
            except NoMatches:
                if self._closing or self._stop.is_set():
                    return None
                raise

        return run

    def _failed(self, problem: BaseException, failed: Callable[[BaseException], Any] | None, description: str,
                quiet: bool) -> None:
        from omega_core.server.client import ServerUnavailable

        if failed is not None:
            failed(problem)
        cause = unavailable_cause(problem)
        if cause is not None:
            self.show_server_down(cause)
            return
        if isinstance(problem, ServerUnavailable):
            self.show_server_down(str(problem))
            return
        if isinstance(problem, OpUnavailable):
            self.tell_missing(problem.op)
            return
        if failed is None or not quiet:
            what = f"{description}: " if description else ""
            self.notify(f"{what}{problem}", severity="error", timeout=6)

    def tell_missing(self, op: str) -> None:
        """Say once per op that the server does not offer it (and what that switches off)."""
        if op in self._told_missing:
            return
        self._told_missing.add(op)
        feature = OP_FEATURES.get(op, "that feature is off")
        self.notify(f"The server does not offer '{op}' yet: {feature}.", title="Not available yet",
                    severity="warning", timeout=6)

    # --- server state ----------------------------------------------------------------------------

    def show_server_down(self, cause: str) -> None:
        self.server_down = cause
        banner = self.main.query_one(Banner)
        banner.update(Text.assemble(
            ("Server unavailable: ", "bold"), cause,
            "\nThe app keeps running. To recover: check the server log, then run `omega server restart` "
            "in a shell, or choose 'Server: restart' in the command palette (ctrl+p).",
        ))
        banner.add_class("shown")
        self._show_status()

    def clear_server_down(self) -> None:
        self.server_down = None
        self.main.query_one(Banner).remove_class("shown")
        self._show_status()

    def action_restart_server(self) -> None:
        if self.client is None:  # never connected (no server could be started or reached): try again
            self.notify("Connecting to the server again…")
            self.clear_server_down()
            self.background(self._connect, done=self._connected, group="connect", description="connecting to the server")
            return
        self.notify("Restarting the server's backend…")

        def restarted(_: Any) -> None:
            self.clear_server_down()
            self.notify("Server restarted")
            if self.session_name:
                self.open_session(self.session_name, quiet=True)

        self.background(self.client.restart, done=restarted, description="restart")

    def _push_from_thread(self, payload: dict[str, Any]) -> None:
        self.post_message(ServerPush(payload))

    def _reconnect_from_thread(self) -> None:
        self.post_message(Reconnected())

    def _pump_pushes(self) -> None:
        """Read pushes while no request is waiting (a waiting request's thread reads them itself)."""
        client = self.client
        while not self._stop.is_set():
            try:
                client.poll_pushes(0.05)
            except Exception:  # noqa: BLE001 - a broken connection: the next request reconnects
                if self._stop.wait(0.2):
                    return

    def on_reconnected(self, message: Reconnected) -> None:
        info = getattr(self.client, "server_info", None)
        if isinstance(info, dict) and info.get("unavailable"):
            self.show_server_down(str(info["unavailable"]))
            return
        count = getattr(self.client, "reconnects", 0)
        self.notify(f"The server restarted; reconnected (restart #{count}). Nothing acknowledged was lost.",
                    title="Server restarted", severity="warning", timeout=6)
        self.clear_server_down()
        name = self.session_name
        if name and self.link is not None:
            link = self.link
            self.background(link.access, name, done=self._access_changed, quiet=True)
            self._poll_events(force=True)

    def on_server_push(self, message: ServerPush) -> None:
        payload = message.payload
        kind = payload.get("push")
        if kind == "events":
            if payload.get("session") == self.session_name:
                events = [e for e in payload.get("events") or [] if isinstance(e, dict)]
                if self.opening:
                    self._buffered.extend(events)
                else:
                    self.apply_events(events)
            else:
                self.refresh_sessions(soon=True)
        elif kind == "sessions":
            self.refresh_sessions(soon=True)
        elif kind == "timeline":
            if payload.get("session") == self.session_name:
                self.schedule_timeline_reload()
        elif kind == "access_lost":
            if payload.get("session") == self.session_name:
                self.mode = "read-only"
                self.holder = str(payload.get("message") or f"{payload.get('by')} took write access")
                self.notify(self.holder, title="Now read-only", severity="warning", timeout=8)
                self._show_status()
                self.refresh_sessions(soon=True)
        elif kind in ("restarted", "backend_restarted", "restart"):
            self.notify("The server's backend restarted.", severity="warning")

    # --- sessions --------------------------------------------------------------------------------

    def open_session(self, name: str, quiet: bool = False) -> None:
        """Open ``name`` (created if new): take access, subscribe, show its transcript and timeline."""
        link = self.link
        if link is None:
            self.wanted_session = name
            return
        previous = self.session_name
        self.opening = True
        self._buffered = []
        repl = self.main.query_one(ReplPane)
        repl.set_loading(True)
        self._show_status(f"opening '{name}'…")

        def work() -> dict[str, Any]:
            if previous and previous != name:
                link.unsubscribe(previous)
                link.release(previous)
            info = link.open(name)
            actual = str(info.get("session") or name)
            info["subscribed"] = link.subscribe(actual)
            info["transcript"] = link.transcript(actual, TRANSCRIPT_LIMIT)
            info["last_seq"] = link.last_seq(actual)
            return info

        def failed(problem: BaseException) -> None:
            self.opening = False
            repl.set_loading(False)
            self._show_status()
            if previous is None:
                repl.show_error(f"could not open session '{name}': {problem}")

        self.background(work, done=lambda info: self._opened(name, info, quiet), failed=failed,
                        group="open", exclusive=True, description=f"open '{name}'")

    def _opened(self, name: str, info: dict[str, Any], quiet: bool) -> None:
        name = str(info.get("session") or name)
        self.session_name = name
        self.subscribed = bool(info.get("subscribed"))
        self.mode = str(info.get("mode") or "read-write")
        self.holder = info.get("holder")
        transcript = list(info.get("transcript") or [])
        repl = self.main.query_one(ReplPane)
        repl.clear()
        events = int(info.get("events") or 0)
        repl.show_notice(f"— session '{name}': {events} events, {info.get('checkpoints', 0)} checkpoints —")
        for warning in info.get("warnings") or []:
            repl.show_notice(f"warning: {warning}")
        if self.mode == "read-only":
            repl.show_notice(f"read-only: {self.holder or 'another client holds write access'}")
        inputs = []
        for event in transcript:
            repl.show_event(event)
            if event.get("type") == "input":
                inputs.append(str(event.get("code", "")))
        repl.input.past = inputs[-500:]
        seqs = [int(e.get("seq", -1)) for e in transcript]
        self.seen_seq = max([int(info.get("last_seq", -1)), *seqs])
        self._skipping_own = False
        self.opening = False
        repl.set_loading(False)
        buffered, self._buffered = self._buffered, []
        self.apply_events(buffered)
        self.main.query_one(TimelineView).set_source(LinkSource(self, name))
        self._show_status()
        self.refresh_sessions()
        self.refresh_metrics()
        if not self.subscribed:
            self.tell_missing("subscribe")
        if self.link is not None:
            for op in ("access",):
                if not self.link.has(op):
                    self.tell_missing(op)
        self.ready.set()

    def _access_changed(self, access: dict[str, Any]) -> None:
        self.mode = str(access.get("mode") or "read-write")
        self.holder = access.get("holder")
        self._show_status()

    def action_steal_access(self) -> None:
        if self.link is None or self.session_name is None:
            return
        self.background(self.link.access, self.session_name, True, done=self._access_changed, description="take write access")

    def action_reload_transcript(self) -> None:
        if self.session_name:
            self.open_session(self.session_name)

    def refresh_sessions(self, soon: bool = False) -> None:
        link = self.link
        if link is None:
            return
        if soon:
            if self._sessions_refresh_pending:
                return
            self._sessions_refresh_pending = True
            self.set_timer(0.1, self._guarded(self._refresh_sessions_now))
            return
        self._refresh_sessions_now()

    def _refresh_sessions_now(self) -> None:
        self._sessions_refresh_pending = False
        if self.link is None:
            return
        self._sessions_token += 1
        token = self._sessions_token
        self.background(self.link.sessions, done=lambda rows: self._show_sessions(rows, token), group="sessions", quiet=True)

    def _show_sessions(self, rows: list[dict[str, Any]], token: int) -> None:
        if token != self._sessions_token:
            return  # a newer listing is on its way
        self.main.query_one(SessionsTable).set_rows(rows, self.session_name)
        self.main.query_one(SessionsPane).border_subtitle = f"{len(rows)} sessions"
        if self.link is not None and not self.link.has("clients"):
            self.tell_missing("clients")

    @on(SessionsTable.Command)
    def _session_command(self, message: SessionsTable.Command) -> None:
        name = message.name
        link = self.link
        if link is None:
            self.notify("Not connected yet", severity="warning")
            return
        if message.action == "refresh":
            self.refresh_sessions()
        elif message.action == "new":
            def create(values: dict[str, str] | None) -> None:
                if values and values.get("name", "").strip():
                    self.open_session(values["name"].strip())
            self.push_screen(FormScreen("New session", [Field("name", "Name", placeholder="letters, digits, . _ -")],
                                        ok="Create"), create)
        elif name is None:
            self.notify("No session highlighted", severity="warning")
        elif message.action == "open":
            self.open_session(name)
        elif message.action == "fork":
            def fork(values: dict[str, str] | None) -> None:
                if not values or not values.get("name", "").strip():
                    return
                target = values["name"].strip()
                self.background(link.fork, name, target, done=lambda reply: self._forked(name, target, reply),
                                description=f"fork '{name}'")
            self.push_screen(FormScreen(f"Fork '{name}'", [Field("name", "Name of the fork", value=f"{name}-fork")],
                                        ok="Fork", note="The fork starts from the session's current point."), fork)
        elif message.action == "rename":
            def rename(values: dict[str, str] | None) -> None:
                if not values or not values.get("name", "").strip() or values["name"].strip() == name:
                    return
                target = values["name"].strip()
                self.background(link.rename, name, target, done=lambda _: self._renamed(name, target),
                                description=f"rename '{name}'")
            self.push_screen(FormScreen(f"Rename '{name}'", [Field("name", "New name", value=name)], ok="Rename"), rename)
        elif message.action == "delete":
            def delete(yes: bool | None) -> None:
                if yes:
                    self.background(link.delete, name, done=lambda _: self._deleted(name), description=f"delete '{name}'")
            self.push_screen(ConfirmScreen(f"Delete session '{name}' and all its files?\nThis cannot be undone.",
                                           yes="Delete", no="Keep"), delete)

    def _forked(self, source: str, target: str, reply: Any) -> None:
        output = getattr(reply, "output", "")
        if not getattr(reply, "ok", True):
            self.notify(output or f"could not fork '{source}'", severity="error")
            return
        self.notify(output or f"Forked '{source}' into '{target}'")
        self.open_session(getattr(reply, "session", "") or target)

    def _renamed(self, old: str, new: str) -> None:
        self.notify(f"Renamed '{old}' to '{new}'")
        if self.session_name == old:
            self.session_name = new
            self.main.query_one(TimelineView).set_source(LinkSource(self, new), self.main.query_one(TimelineView).tag)
            self._show_status()
        self.refresh_sessions()

    def _deleted(self, name: str) -> None:
        self.notify(f"Deleted session '{name}'")
        if self.session_name == name:
            self.session_name = None
            self.open_session(DEFAULT_SESSION if name != DEFAULT_SESSION else "scratch")
        self.refresh_sessions()

    # --- running code ----------------------------------------------------------------------------

    @on(ReplInput.Submitted)
    def _submitted(self, message: ReplInput.Submitted) -> None:
        repl = self.main.query_one(ReplPane)
        text = message.text
        if self.link is None or self.session_name is None:
            self.notify("Not connected to a session yet", severity="warning")
            return
        if self.busy_since is not None:
            self.notify("A command is running: wait, or press ctrl+c to interrupt it", severity="warning")
            return
        if self.opening:
            self.notify("The session is still opening: try again in a moment", severity="warning")
            return
        repl.input.remember(text)
        repl.input.load_text("")
        repl.show_input(text)
        self.busy_since = time.monotonic()
        self._show_status()
        session = self.session_name
        self.background(self.link.execute, text, session, done=lambda reply: self._executed(session, reply),
                        failed=self._execute_failed, group="execute", description="run")

    def _executed(self, session: str, reply: Any) -> None:
        self.busy_since = None
        repl = self.main.query_one(ReplPane)
        results = list(getattr(reply, "results", []) or [])
        if results:
            repl.show_results(results)
        elif getattr(reply, "output", ""):
            repl.show_command_output(reply.output, getattr(reply, "ok", True))
        self._show_status()
        if getattr(reply, "should_exit", False):
            self.call_later(self.action_quit)
            return
        new_session = getattr(reply, "session", "") or session
        if new_session != self.session_name and new_session:
            self.open_session(new_session)
        else:
            self.schedule_timeline_reload()
            self.refresh_metrics()
            self.refresh_sessions(soon=True)

    def _execute_failed(self, problem: BaseException) -> None:
        self.busy_since = None
        from omega_core.error_words import for_people
        from omega_core.server.client import ServerError

        text = for_people(problem.code, problem.message) if isinstance(problem, ServerError) else str(problem)
        self.main.query_one(ReplPane).show_error(text)  # the code in words ("read-only: ..."), not "(read_only)"
        self._show_status()

    def action_interrupt(self) -> None:
        if self.busy_since is not None and self.link is not None and self.session_name:
            self.background(self.link.interrupt, self.session_name, description="interrupt",
                            done=lambda result: self.notify("Interrupt sent" if (result or {}).get("interrupted", True)
                                                            else "Nothing was running"))
            return
        focused = self.focused
        if isinstance(focused, ReplInput) and focused.selected_text:
            focused.action_copy()
            return
        self.notify("Nothing is running (ctrl+c interrupts a running command; ctrl+q quits)")

    # --- live events -----------------------------------------------------------------------------

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        """New events of the open session (pushed or polled): show other clients' work, refresh panes."""
        if not events:
            return
        repl = self.main.query_one(ReplPane)
        mine = f"{self.link.client_id}:" if self.link is not None else "\0"
        timeline_changed = False
        for event in sorted(events, key=lambda e: int(e.get("seq", -1))):
            seq = int(event.get("seq", -1))
            if seq <= self.seen_seq:
                continue
            self.seen_seq = seq
            kind = event.get("type")
            if kind == "input":
                self._skipping_own = str(event.get("rid") or "").startswith(mine)
                if not self._skipping_own:
                    repl.show_event(event, who="other client")
            elif kind in ("result", "error"):
                if not self._skipping_own:
                    repl.show_event(event)
            elif kind == "checkpoint":
                timeline_changed = True
        if timeline_changed:
            self.schedule_timeline_reload()
        self.refresh_metrics()

    def schedule_timeline_reload(self) -> None:
        if self._timeline_reload_pending:
            return
        self._timeline_reload_pending = True

        def reload() -> None:
            self._timeline_reload_pending = False
            self.main.query_one(TimelineView).reload()

        self.set_timer(TIMELINE_RELOAD_DELAY_S, self._guarded(reload))

    def _tick(self) -> None:
        """Ten times a second: the running clock and polling (when the server cannot push)."""
        if self.busy_since is not None:
            self._show_status()
        if self.link is not None and self.session_name and not self.subscribed and not self.opening:
            self._poll_events()

    def _poll_events(self, force: bool = False) -> None:
        if self._poll_busy or self.link is None or self.session_name is None:
            return
        if not force and time.monotonic() - getattr(self, "_last_poll", 0.0) < POLL_INTERVAL_S:
            return
        self._last_poll = time.monotonic()
        self._poll_busy = True
        session, after, link = self.session_name, self.seen_seq, self.link

        def done(events: list[dict[str, Any]]) -> None:
            self._poll_busy = False
            if session == self.session_name and not self.opening:
                self.apply_events(events)

        def failed(_: BaseException) -> None:
            self._poll_busy = False

        self.background(link.events_after, session, after, done=done, failed=failed, group="poll", quiet=True)

    # --- timeline --------------------------------------------------------------------------------

    @on(TimelineView.Goto)
    def _goto(self, message: TimelineView.Goto) -> None:
        link, session = self.link, self.session_name
        seq = message.item.get("seq")
        if link is None or session is None or not isinstance(seq, int):
            return
        view = self.main.query_one(TimelineView)
        timer = self.set_timer(0.15, lambda: setattr(view, "loading", True))
        self._show_status(f"replaying to seq {seq}…")

        def finish() -> None:
            timer.stop()
            view.loading = False
            self._show_status()

        def done(result: Any) -> None:
            finish()
            report = result.get("report") if isinstance(result, dict) else str(result)
            self.main.query_one(ReplPane).show_command_output(str(report or f"Jumped to seq {seq}"))
            view.reload()
            self.refresh_metrics()

        self.background(link.goto, session, seq, done=done, failed=lambda _: finish(), group="goto",
                        exclusive=True, description=f"go to seq {seq}")

    @on(TimelineView.Request)
    def _timeline_request(self, message: TimelineView.Request) -> None:
        link, session = self.link, self.session_name
        view = self.main.query_one(TimelineView)
        item = message.item
        if message.action == "filter_tag":
            def set_tag(values: dict[str, str] | None) -> None:
                if values is None:
                    return
                tag = values.get("tag", "").strip().lstrip("#") or None
                if tag and link is not None and not link.has("timeline"):
                    self.tell_missing("timeline")
                view.set_source(view.source, tag)
                view.post_message(TimelineView.Changed())
            self.push_screen(FormScreen("Filter by tag", [Field("tag", "Tag (empty shows everything)", value=view.tag or "")],
                                        ok="Filter"), set_tag)
            return
        if link is None or session is None:
            return
        if message.action == "annotate":
            if item is None:
                self.notify("No checkpoint highlighted", severity="warning")
                return
            if not link.has("annotate") or not link.has("timeline"):  # no annotated timeline: none of its ops
                self.tell_missing("annotate")
                return
            seq = item.get("seq")

            def annotate(values: dict[str, str] | None) -> None:
                if values is None:
                    return
                tags = [t.lstrip("#") for t in values.get("tags", "").replace(",", " ").split() if t.strip("#")]
                label, note = values.get("label", "").strip(), values.get("note", "").strip()
                if not (label or note or tags):
                    self.background(link.unannotate, session, seq, done=lambda _: view.reload(), description="remove annotation")
                    return
                self.background(link.annotate, session, seq, label, note, tags,
                                done=lambda _: (self.notify(f"Annotated seq {seq}"), view.reload()), description="annotate")
            self.push_screen(FormScreen(f"Annotate seq {seq}", [
                Field("label", "Label", value=str(item.get("label") or "")),
                Field("note", "Note", value=str(item.get("note") or "")),
                Field("tags", "Tags (space separated)", value=" ".join(item.get("tags") or [])),
            ], ok="Save", note="Leave everything empty to remove the annotation."), annotate)
        elif message.action == "snapshot":
            if not link.has("snapshot") or not link.has("timeline"):  # no annotated timeline: none of its ops
                self.tell_missing("snapshot")
                return

            def snapshot(values: dict[str, str] | None) -> None:
                if values is None:
                    return
                tags = [t.lstrip("#") for t in values.get("tags", "").replace(",", " ").split() if t.strip("#")]

                def taken(result: Any) -> None:
                    ident = result.get("id") if isinstance(result, dict) else result
                    self.notify(f"Snapshot {ident} taken")
                    view.reload()
                self.background(link.snapshot, session, values.get("description", "").strip(), tags, done=taken,
                                description="snapshot")
            self.push_screen(FormScreen("Snapshot the current state", [
                Field("description", "Description"), Field("tags", "Tags (space separated)"),
            ], ok="Take snapshot"), snapshot)
        elif message.action == "restore":
            if not link.has("restore") or not link.has("timeline"):  # no annotated timeline: none of its ops
                self.tell_missing("restore")
                return
            self.background(link.snapshots, session, done=lambda snaps: self._choose_snapshot(session, snaps, item),
                            description="list snapshots")

    def _choose_snapshot(self, session: str, snapshots: list[dict[str, Any]], item: dict[str, Any] | None) -> None:
        link = self.link
        if link is None:
            return
        choices = [(str(s.get("id")), f"{s.get('id')}  seq {s.get('seq', '?')}  {s.get('description') or ''}"
                    + ("  " + " ".join(f"#{t}" for t in s.get("tags") or []) if s.get("tags") else ""))
                   for s in snapshots]
        if item is not None and item.get("snapshot_id"):  # the highlighted snapshot comes first
            choices.sort(key=lambda choice: choice[0] != str(item["snapshot_id"]))

        def restore(choice: tuple[Any, dict[str, str]] | None) -> None:
            if choice is None:
                return
            ident, fields = choice
            as_name = (fields.get("as") or "").strip() or None

            def restored(result: Any) -> None:
                report = result.get("report") if isinstance(result, dict) else result
                self.main.query_one(ReplPane).show_command_output(str(report or f"Restored {ident}"))
                if as_name:
                    self.open_session(as_name)
                else:
                    self.main.query_one(TimelineView).reload()
                    self.refresh_metrics()
            self.background(link.restore, session, ident, as_name, done=restored, description=f"restore {ident}")

        self.push_screen(ChoiceScreen("Restore a snapshot", choices,
                                      [Field("as", "Into a new session (empty: restore here)", placeholder="session name")],
                                      empty="No snapshots in this session yet (s takes one)."), restore)

    # --- metrics ---------------------------------------------------------------------------------

    def refresh_metrics(self) -> None:
        link, session = self.link, self.session_name
        if link is None or self._metrics_busy:
            return
        self._metrics_busy = True

        def work() -> tuple[Any, Any]:
            return (link.session_metrics(session) if session else None), link.server_metrics()

        def done(result: tuple[Any, Any]) -> None:
            self._metrics_busy = False
            notes = []
            if not link.has("metrics"):
                notes.append("(figures from status and this app: the server has no metrics op yet)")
            self.main.query_one(MetricsPane).show(session, result[0], result[1], notes)

        def failed(_: BaseException) -> None:
            self._metrics_busy = False

        self.background(work, done=done, failed=failed, group="metrics", quiet=True)

    @on(MetricsPane.RefreshRequested)
    def _metrics_refresh(self) -> None:
        self.refresh_metrics()

    # --- panes, status, styles -------------------------------------------------------------------

    def pane_of(self, widget: Widget | None) -> str | None:
        while widget is not None:
            if widget.id in PANES:
                return widget.id
            widget = widget.parent  # type: ignore[assignment]
        return None

    def focus_pane(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.main.query_one(FOCUS_TARGET[name]).focus()

    def cycle_pane(self, step: int) -> None:
        current = self.pane_of(self.focused)
        index = PANES.index(current) if current in PANES else -1
        self.focus_pane(PANES[(index + step) % len(PANES)])

    async def run_binding(self, spec: KeySpec) -> None:
        """Run a binding's action from the command palette, in the pane it belongs to."""
        pane = spec_scope_pane(spec)
        if pane is None:
            target: Any = self.screen if spec.scope == "screen" else self
        else:
            self.focus_pane(pane)
            target = self.main.query_one(FOCUS_TARGET[pane])
        await self.run_action(spec.action, target)

    def _apply_styles(self) -> None:
        with contextlib.suppress(Exception):
            self.main.query_one(ReplPane).apply_styles(theme_styles(self.theme_variables))

    def _show_status(self, doing: str | None = None) -> None:
        try:
            repl = self.main.query_one(ReplPane)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        text = Text()
        name = self.session_name or self.wanted_session
        text.append(f" {name} ", "reverse bold")
        if self.mode == "read-only":
            text.append(" ")
            text.append(" READ-ONLY ", "bold reverse red")
        if self.server_down:
            text.append(" ")
            text.append(" SERVER DOWN ", "bold reverse red")
        elif not self.connected:
            text.append("  connecting…", "italic")
        if doing:
            text.append(f"  {doing}", "italic")
        elif self.busy_since is not None:
            elapsed = "" if self.deterministic else f" {time.monotonic() - self.busy_since:.1f} s"
            text.append(f"  running{elapsed} — ctrl+c interrupts", "italic")
        repl.set_status(text)
        self.sub_title = f"{name}" + (" · read-only" if self.mode == "read-only" else "")
        repl.border_subtitle = "read-only" if self.mode == "read-only" else ""


def run_app(config: Config, session: str | None = None, config_path: str | None = None) -> int:
    app = OmegaApp(config, session=session, config_path=config_path)
    result = app.run()
    return int(result or 0)
