"""The sessions controller: opening a session, the access this app holds, and the Sessions pane.

Opening a session takes read-write access (or read-only when another client writes: "following"),
subscribes to its pushes, shows its transcript and points the timeline at it; the REPL's queue
starts running once the session is open. Access changes (steal, release, a writer that left) show
in the status bar at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_tui import DEFAULT_SESSION
from omega_tui.components.repl_pane import ReplPane

if TYPE_CHECKING:  # pragma: no cover - the pane loads after the first frame (``side_panes``)
    from omega_tui.components.sessions_pane import SessionsTable
    from omega_tui.app import OmegaApp

TRANSCRIPT_LIMIT = 200
ACCESS_COMMANDS = ([":session", "attach"], [":session", "release"])
"""REPL commands after which the app re-reads its access to the session."""


class SessionsController:
    """Session state of the app (name, access, opening) and the Sessions pane's commands."""

    def __init__(self, app: "OmegaApp", wanted_session: str | None) -> None:
        self.app = app
        self.session_name: str | None = None
        self.wanted_session = wanted_session or DEFAULT_SESSION
        self.mode = "read-write"
        self.holder: str | None = None
        self.opening = False
        self.subscribed = False
        self.write_offer = False
        self._buffered: list[dict[str, Any]] = []
        self._refresh_pending = False
        self._token = 0

    # --- opening ---------------------------------------------------------------------------------

    def open_session(self, name: str, quiet: bool = False) -> None:
        """Open ``name`` (created if new): take access, subscribe, show its transcript and timeline."""
        app = self.app
        link = app.link
        if link is None:
            self.wanted_session = name
            return
        previous = self.session_name
        self.opening = True
        self._buffered = []
        repl = app.main.query_one(ReplPane)
        repl.set_loading(True)
        app.show_status(f"opening '{name}'…")

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
            app.show_status()
            if previous is None:
                repl.show_error(f"could not open session '{name}': {problem}")
            self.refresh_sessions()  # the list still shows (it waits for the open, not for success)

        app.background(work, done=lambda info: self._opened(name, info, quiet), failed=failed,
                       group="open", exclusive=True, description=f"open '{name}'")

    def _opened(self, name: str, info: dict[str, Any], quiet: bool) -> None:
        app = self.app
        name = str(info.get("session") or name)
        self.session_name = name
        self.subscribed = bool(info.get("subscribed"))
        self.mode = str(info.get("mode") or "read-write")
        self.holder = info.get("holder")
        self.write_offer = False
        repl = app.main.query_one(ReplPane)
        repl.clear()
        events = int(info.get("events") or 0)
        repl.show_notice(f"— session '{name}': {events} events, {info.get('checkpoints', 0)} checkpoints —")
        for warning in info.get("warnings") or []:
            repl.show_notice(f"warning: {warning}")
        if self.mode == "read-only":
            repl.show_notice(f"read-only: {self.holder or 'another client holds write access'}")
        transcript = list(info.get("transcript") or [])
        inputs = []
        for event in transcript:
            repl.show_event(event)
            if event.get("type") == "input":
                inputs.append(str(event.get("code", "")))
        repl.input.past = inputs[-500:] + [text for text in repl.input.past if text not in inputs]
        seqs = [int(e.get("seq", -1)) for e in transcript]
        app.repl.seen_seq = max([int(info.get("last_seq", -1)), *seqs])
        app.repl.skipping_own = False
        self.opening = False
        repl.set_loading(False)
        buffered, self._buffered = self._buffered, []
        app.repl.apply_events(buffered)
        app.timeline.session_opened(name)
        app.show_status()
        self.refresh_sessions()
        app.metrics.refresh()
        if not self.subscribed:
            app.connection.tell_missing("subscribe")
        if app.link is not None and not app.link.has("access"):
            app.connection.tell_missing("access")
        app.ready.set()
        app.repl.session_ready()
        app.repl.drain()

    def events_pushed(self, payload: dict[str, Any]) -> None:
        if payload.get("session") == self.session_name:
            events = [e for e in payload.get("events") or [] if isinstance(e, dict)]
            if self.opening:
                self._buffered.extend(events)
            else:
                self.app.repl.apply_events(events)
        else:
            self.refresh_sessions(soon=True)

    # --- access ----------------------------------------------------------------------------------

    @property
    def access_text(self) -> str:
        if self.mode == "read-write":
            return "read-write"
        return "following" if self.subscribed else "read-only"

    def access_changed(self, access: dict[str, Any]) -> None:
        self.mode = str(access.get("mode") or "read-write")
        self.holder = access.get("holder")
        if self.mode == "read-write":
            self.write_offer = False
        self.app.show_status()
        self.refresh_sessions(soon=True)

    def access_lost(self, payload: dict[str, Any]) -> None:
        if payload.get("session") != self.session_name:
            return
        self.mode = "read-only"
        self.holder = str(payload.get("message") or f"{payload.get('by')} took write access")
        self.app.notify(self.holder, title="Now read-only", severity="warning", timeout=8)
        self.app.show_status()
        self.refresh_sessions(soon=True)

    def writer_left(self, payload: dict[str, Any]) -> None:
        """The client that held write access left: offer to take it (ctrl+w)."""
        if payload.get("session") != self.session_name or self.mode == "read-write":
            return
        self.write_offer = True
        self.app.notify("The writer left: ctrl+w takes write access.", title="Session free", timeout=8)
        self.app.show_status()

    def after_command(self, text: str) -> None:
        """A REPL command may have changed our access (``:session attach NAME --steal``,
        ``:session release``): ask the server who holds the session, so the status bar says so at
        once (before, it kept saying read-only after a steal)."""
        words = text.split()
        app = self.app
        link, name = app.link, self.session_name
        if words[:2] not in (ACCESS_COMMANDS[0], ACCESS_COMMANDS[1]) or link is None or name is None:
            return
        if "clients" in link.missing:
            return

        def done(holders: Any) -> None:
            if name != self.session_name:
                return
            holders = [h for h in holders if isinstance(h, dict)] if isinstance(holders, list) else []
            mine = [h for h in holders if h.get("client_id") == link.client_id]
            writers = [h for h in holders if h.get("mode") == "read-write"]
            if mine and mine[0].get("mode") == "read-write":
                self.access_changed({"mode": "read-write", "holder": None})
                return
            self.mode = "read-only"
            self.holder = f"{writers[0].get('name') or 'another client'} holds write access" if writers else None
            self.write_offer = not writers  # nobody writes (we released it): ctrl+w takes it back
            app.show_status()
            self.refresh_sessions(soon=True)

        app.background(link.optional, "clients", name, done=done, quiet=True, description="read access")

    def steal_access(self) -> None:
        app = self.app
        if app.link is None or self.session_name is None:
            return
        app.background(app.link.access, self.session_name, True, done=self.access_changed,
                       description="take write access")

    # --- the Sessions pane -----------------------------------------------------------------------

    def refresh_sessions(self, soon: bool = False) -> None:
        app = self.app
        if app.link is None:
            return
        if soon:
            if self._refresh_pending:
                return
            self._refresh_pending = True
            app.set_timer(0.1, app.guarded(self._refresh_now))
            return
        self._refresh_now()

    def _refresh_now(self) -> None:
        self._refresh_pending = False
        app = self.app
        if app.link is None:
            return
        self._token += 1
        token = self._token
        app.background(app.link.sessions, done=lambda rows: self._show_sessions(rows, token), group="sessions", quiet=True)

    def _show_sessions(self, rows: list[dict[str, Any]], token: int) -> None:
        if token != self._token:
            return  # a newer listing is on its way
        from omega_tui.components.sessions_pane import SessionsTable

        app = self.app
        app.main.query_one(SessionsTable).set_rows(rows, self.session_name)
        if app.link is not None and not app.link.has("clients"):
            app.connection.tell_missing("clients")

    def command(self, message: SessionsTable.Command) -> None:
        from omega_tui.components.confirm import ConfirmScreen, Field, FormScreen  # dialogs: not at start-up

        app = self.app
        name = message.name
        link = app.link
        if link is None:
            app.notify("Not connected yet", severity="warning")
            return
        if message.action == "refresh":
            self.refresh_sessions()
        elif message.action == "new":
            def create(values: dict[str, str] | None) -> None:
                if values and values.get("name", "").strip():
                    self.open_session(values["name"].strip())
            app.show_dialog(FormScreen("New session", [Field("name", "Name", placeholder="letters, digits, . _ -")],
                                       ok="Create"), create)
        elif name is None:
            app.notify("No session highlighted", severity="warning")
        elif message.action == "open":
            self.open_session(name)
        elif message.action == "fork":
            def fork(values: dict[str, str] | None) -> None:
                if not values or not values.get("name", "").strip():
                    return
                target = values["name"].strip()
                app.background(link.fork, name, target, done=lambda reply: self._forked(name, target, reply),
                               description=f"fork '{name}'")
            app.show_dialog(FormScreen(f"Fork '{name}'", [Field("name", "Name of the fork", value=f"{name}-fork")],
                                       ok="Fork", note="The fork starts from the session's current point."), fork)
        elif message.action == "rename":
            def rename(values: dict[str, str] | None) -> None:
                if not values or not values.get("name", "").strip() or values["name"].strip() == name:
                    return
                target = values["name"].strip()
                app.background(link.rename, name, target, done=lambda _: self._renamed(name, target),
                               description=f"rename '{name}'")
            app.show_dialog(FormScreen(f"Rename '{name}'", [Field("name", "New name", value=name)], ok="Rename"), rename)
        elif message.action == "delete":
            def delete(yes: bool | None) -> None:
                if yes:
                    app.background(link.delete, name, done=lambda _: self._deleted(name), description=f"delete '{name}'")
            app.show_dialog(ConfirmScreen(f"Delete session '{name}' and all its files?\nThis cannot be undone.",
                                          yes="Delete", no="Keep"), delete)

    def _forked(self, source: str, target: str, reply: Any) -> None:
        output = getattr(reply, "output", "")
        if not getattr(reply, "ok", True):
            self.app.notify(output or f"could not fork '{source}'", severity="error")
            return
        self.app.notify(output or f"Forked '{source}' into '{target}'")
        self.open_session(getattr(reply, "session", "") or target)

    def _renamed(self, old: str, new: str) -> None:
        self.app.notify(f"Renamed '{old}' to '{new}'")
        if self.session_name == old:
            self.session_name = new
            self.app.timeline.session_renamed(new)
            self.app.show_status()
        self.refresh_sessions()

    def _deleted(self, name: str) -> None:
        self.app.notify(f"Deleted session '{name}'")
        if self.session_name == name:
            self.session_name = None
            self.open_session(DEFAULT_SESSION if name != DEFAULT_SESSION else "scratch")
        self.refresh_sessions()
