"""The REPL controller: runs what the user enters, in order, one at a time, and never drops any.

Enter hands the input's text over at the key press (the input is cleared at once). The text joins a
queue: it runs when nothing else runs, the session is open and the server connected, so keys typed
before the connection is up, or while a command runs, are kept and run in order. Queued inputs show
as "pending" under the log; escape takes the last one back into the input (cancelled before it
started); ctrl+c interrupts only the running one.

Output streams: the server pushes ``display`` output of the running command as it is produced
(``OmegaClient.execute(on_output=...)``); complete lines go to the log at once, and when the reply
comes only what was not shown yet is written. Other clients' inputs and results arrive as pushed
events (or, from a server without ``subscribe``, by polling ``trace``).
"""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any

from textual.message import Message

from omega_tui.components.repl_pane import ReplPane
from omega_tui.components.run_lane import RunLane
from omega_tui.components.status_bar import LinkState

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp

POLL_INTERVAL_S = 0.2
TICK_S = 0.1


class OutputChunk(Message):
    """A piece of the running command's output (posted from the client's reading thread)."""

    def __init__(self, token: int, text: str) -> None:
        super().__init__()
        self.token = token
        self.text = text


class OracleChunk(Message):
    """A piece of the running command's streaming oracle answer (from the client's reading thread)."""

    def __init__(self, token: int, text: str) -> None:
        super().__init__()
        self.token = token
        self.text = text


class FormDone(Message):
    """A form of the running command ended (from the client's reading thread): its result, shown
    at once, so an input of several forms reads in order while a later form still runs."""

    def __init__(self, token: int, result: dict[str, Any]) -> None:
        super().__init__()
        self.token = token
        self.result = result


class Resent(Message):
    """The running command was sent again after a reconnect (from the client's reconnecting thread)."""

    def __init__(self, token: int) -> None:
        super().__init__()
        self.token = token


RESENT_NOTICE = "— the server restarted; the input was sent again: its output starts over —"


class ReplController:
    """The queue of inputs, the running command and the REPL log's live updates."""

    def __init__(self, app: "OmegaApp") -> None:
        self.app = app
        self.queue: collections.deque[str] = collections.deque()
        self.busy_since: float | None = None
        self.running: str | None = None
        self.seen_seq = -1
        self.skipping_own = False
        self._token = 0  # one per run: late chunks of an earlier run are ignored
        self._streamed = ""  # output of the running command already written to the log
        self._forms_shown = 0  # forms of the running command whose result is shown (``form_done``)
        self._partial = ""  # its last, unfinished line (written when complete or at the reply)
        self._oracle_text = ""  # the streaming oracle answer of the running command, so far
        self._poll_busy = False
        self._last_poll = 0.0
        self._ticker: Any = None
        self._pane: ReplPane | None = None
        self.lane = RunLane(app)
        """The thread the commands run on (see ``run_lane``: cheaper to reach than a new worker)."""

    @property
    def pane(self) -> ReplPane:
        if self._pane is None:
            self._pane = self.app.main.query_one(ReplPane)  # once: the pane lives as long as the app
        return self._pane

    # --- entering and the queue ------------------------------------------------------------------

    def submitted(self, text: str) -> None:
        """Enter was pressed on a complete input: queue it (it runs as soon as it can)."""
        repl = self.pane
        repl.input.remember(text)
        self.queue.append(text)
        self.drain()

    def cancel_last(self) -> bool:
        """Take the last queued input back into the (empty) input box; False if nothing is queued."""
        if not self.queue:
            return False
        repl = self.pane
        if repl.input.text.strip():
            self.app.notify("Empty the input first: escape puts the last queued input back there to edit",
                            severity="warning")
            return True
        text = self.queue.pop()
        repl.input.load_text(text)
        repl.input.move_cursor(repl.input.document.end)
        self.app.notify("Cancelled before it ran (it is back in the input)")
        self._show_queue()
        self.app.show_status()
        return True

    def can_run(self) -> bool:
        app = self.app
        return (self.busy_since is None and app.link is not None and app.session_name is not None
                and not app.sessions.opening and app.connection.state is LinkState.CONNECTED)

    def drain(self) -> None:
        """Run the next queued input if nothing runs and the session is ready; else just show the queue."""
        if self.queue and self.can_run():
            self._run(self.queue.popleft())
        self._show_queue()
        self.app.show_status()

    def _show_queue(self) -> None:
        self.pane.set_pending(list(self.queue))

    def _run(self, text: str) -> None:
        app = self.app
        link, session = app.link, app.session_name
        assert link is not None and session is not None
        repl = self.pane
        repl.show_input(text)
        self.busy_since = time.monotonic()
        self.running = text
        self._token += 1
        token = self._token
        self._streamed = self._partial = self._oracle_text = ""
        self._forms_shown = 0
        self._tick_while_needed()

        def on_output(chunk: str) -> None:  # the client's reading thread
            app.post_message(OutputChunk(token, chunk))

        def on_oracle(piece: str) -> None:  # the client's reading thread
            app.post_message(OracleChunk(token, piece))

        def on_form(result: dict[str, Any]) -> None:  # the client's reading thread
            app.post_message(FormDone(token, result))

        def on_resent() -> None:  # the client's reconnecting thread, before the resend
            app.post_message(Resent(token))

        self.lane.run(link.execute, text, session, on_output, on_oracle, on_form, on_resent,
                      done=lambda reply: self._executed(session, reply), failed=self._execute_failed)

    def output_chunk(self, message: OutputChunk) -> None:
        if message.token != self._token or self.busy_since is None:
            return
        text = self._partial + message.text
        complete, _, self._partial = text.rpartition("\n")
        if complete or text.endswith("\n"):
            self.pane.show_output(complete)
            self._streamed += complete + "\n"

    def form_done(self, message: FormDone) -> None:
        """Show a form's result as it ends (its output's last partial line with it); the reply
        then shows only the forms not shown yet (``_executed``)."""
        if message.token != self._token or self.busy_since is None:
            return
        item = message.result
        self.pane.show_results([{**item, "output": self._unshown(str(item.get("output") or ""))}])
        self._partial = ""
        self._forms_shown += 1
        self.app.main.paint_soon(self.pane.log_view)

    def resent(self, message: Resent) -> None:
        """The backend died while the command ran and the client sent it again: unless the
        request record answers it, it runs again and streams its output (and form results) from
        the start. A notice says so, and what follows it is the input's whole output, exactly
        once: nothing streamed before is counted as shown (the reply's output was compared with
        both runs' text, and the part past the first run's was shown twice)."""
        if message.token != self._token or self.busy_since is None:
            return
        if self._partial:
            self.pane.show_output(self._partial)
        if self._oracle_text:
            self.pane.show_oracle_stream("")
        self._streamed = self._partial = self._oracle_text = ""
        self._forms_shown = 0
        self.pane.show_notice(RESENT_NOTICE)
        self.app.main.paint_soon(self.pane.log_view)

    def oracle_chunk(self, message: OracleChunk) -> None:
        if message.token != self._token or self.busy_since is None:
            return
        self._oracle_text += message.text
        self.pane.show_oracle_stream(self._oracle_text)

    def output_pushed(self, payload: dict[str, Any]) -> None:
        """Another client's command printed something (we follow its session): show it as it comes."""
        if payload.get("session") != self.app.session_name:
            return
        mine = self.app.link.client_id if self.app.link is not None else "\0"
        if str(payload.get("request") or "").startswith(f"{mine}:"):
            return  # our own: it comes through on_output
        text = str(payload.get("text") or "")
        if text.strip():
            self.pane.show_output(text)

    def _unshown(self, output: str) -> str:
        """The part of a form's ``output`` that streaming has not written yet."""
        streamed = self._streamed
        shared = 0
        limit = min(len(output), len(streamed))
        while shared < limit and output[shared] == streamed[shared]:
            shared += 1
        self._streamed = streamed[shared:]
        return output[shared:]

    def _executed(self, session: str, reply: Any) -> None:
        app = self.app
        app.sessions.after_command(self.running or "")  # :session attach --steal / release: re-read access
        self._finish()
        repl = self.pane
        all_results = list(getattr(reply, "results", []) or [])
        results = all_results[self._forms_shown:]  # the rest were shown as their forms ended
        if all_results:
            repl.show_results([{**item, "output": self._unshown(str(item.get("output") or ""))} for item in results])
        elif getattr(reply, "output", ""):
            repl.show_command_output(reply.output, getattr(reply, "ok", True))
        app.main.paint_soon(repl.log_view)  # the result's frame, without waiting for the next tick
        if getattr(reply, "should_exit", False):
            app.call_later(app.action_quit)
            return
        new_session = getattr(reply, "session", "") or session
        if new_session != app.session_name and new_session:
            app.sessions.open_session(new_session)
        else:
            app.timeline.schedule_reload()
            app.metrics.refresh_soon()
            app.sessions.refresh_sessions(soon=True)
        self.drain()

    def _execute_failed(self, problem: BaseException) -> None:
        from omega_core.error_words import for_people
        from omega_core.server.client import ServerError

        self._finish()
        text = for_people(problem.code, problem.message) if isinstance(problem, ServerError) else str(problem)
        self.pane.show_error(text)  # the code in words ("read-only: ..."), not "(read_only)"
        self.app.main.paint_soon(self.pane.log_view)
        self.drain()

    def _finish(self) -> None:
        self.busy_since = None
        self.running = None
        self._partial = ""
        if self._oracle_text:
            self._oracle_text = ""
            self.pane.show_oracle_stream("")
        self.app.show_status()

    def interrupt(self) -> bool:
        """ctrl+c: interrupt the running command (the queue goes on); False if nothing runs."""
        app = self.app
        if self.busy_since is None or app.link is None or not app.session_name:
            return False
        app.background(app.link.interrupt, app.session_name, description="interrupt",
                       done=lambda result: app.notify("Interrupt sent" if (result or {}).get("interrupted", True)
                                                      else "Nothing was running"))
        return True

    # --- live events -----------------------------------------------------------------------------

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        """New events of the open session (pushed or polled): show other clients' work, refresh panes."""
        if not events:
            return
        app = self.app
        repl = self.pane
        mine = f"{app.link.client_id}:" if app.link is not None else "\0"
        timeline_changed = False
        for event in sorted(events, key=lambda e: int(e.get("seq", -1))):
            seq = int(event.get("seq", -1))
            if seq <= self.seen_seq:
                continue
            self.seen_seq = seq
            kind = event.get("type")
            if kind == "input":
                self.skipping_own = str(event.get("rid") or "").startswith(mine)
                if not self.skipping_own:
                    repl.show_event(event, who="other client")
            elif kind in ("result", "error"):
                if not self.skipping_own:
                    repl.show_event(event)
            if kind in ("input", "checkpoint"):  # a row of the timeline (an input that failed has no checkpoint)
                timeline_changed = True
        if timeline_changed:
            app.timeline.schedule_reload()
        app.metrics.refresh_soon()

    def _tick_while_needed(self) -> None:
        """Start the 0.1 s tick (elapsed time, polling) only while something needs it: idle is idle."""
        if self._ticker is None and not self.app.deterministic:
            self._ticker = self.app.set_interval(TICK_S, self.app.guarded(self._tick))

    def _tick(self) -> None:
        app = self.app
        polling = app.link is not None and app.session_name is not None and not app.sessions.subscribed
        if self.busy_since is not None:
            app.show_status()
        if polling and not app.sessions.opening:
            self.poll_events()
        if self.busy_since is None and not polling and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def session_ready(self) -> None:
        if not self.app.sessions.subscribed:
            self._tick_while_needed()

    def poll_events(self, force: bool = False) -> None:
        app = self.app
        if self._poll_busy or app.link is None or app.session_name is None:
            return
        if not force and time.monotonic() - self._last_poll < POLL_INTERVAL_S:
            return
        self._last_poll = time.monotonic()
        self._poll_busy = True
        session, after, link = app.session_name, self.seen_seq, app.link

        def done(events: list[dict[str, Any]]) -> None:
            self._poll_busy = False
            if session == app.session_name and not app.sessions.opening:
                self.apply_events(events)

        def failed(_: BaseException) -> None:
            self._poll_busy = False

        app.background(link.events_after, session, after, done=done, failed=failed, group="poll", quiet=True)
