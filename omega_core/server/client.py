"""``OmegaClient``: the one way a front end talks to the session server (ARCHITECTURE.md sections 1, 2).

What it promises a front end:

* **Connecting.** It reads the key the server wrote (0600, in the runtime dir) and connects to the
  AF_UNIX socket with ``multiprocess.connection``'s mutual challenge handshake, then says ``hello``
  with a client id that stays the same for the life of this object. If no server answers and
  ``autostart`` is on, it starts one (detached, see ``launcher``) and retries until
  ``connect_timeout_s``. Failing that it raises ``ServerUnavailable`` naming the socket, the log and
  what to run.
* **Framing.** Only ``send_bytes``/``recv_bytes`` of UTF-8 JSON, never ``send``/``recv`` (they
  unpickle: any peer could run code in the front end).
* **No lost, no doubled command.** If the connection breaks while a request is being sent or
  waited for, it reconnects (backoff 50 ms doubling to 1 s, within ``connect_timeout_s``), says
  ``hello`` with the same client id, restores the sessions it had opened and subscribed to, and
  resends every request still waiting *with its original id*; the backend answers a repeat from its
  record instead of running it twice. ``reconnects`` counts these; ``on_reconnect`` is called so a
  front end can show a notice.
* **Threads.** Any number of threads may call at once: requests are pipelined on the one
  connection and replies are matched by id, so ``interrupt`` (or a pane's ``list_sessions``) can go
  out while another thread waits for a long ``execute``. One waiting thread at a time reads frames
  and hands the others their replies; server pushes go to ``on_push`` or wait for ``poll_pushes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omega_core.server.client_records import ExecuteReply, ServerError, ServerUnavailable, execute_args, execute_reply
from omega_core.server.client_transport import ClientTransport, _Lost
from omega_core.server.list_reply import rows_from_reply
from omega_core.server.protocol import Op

__all__ = ["ExecuteReply", "OmegaClient", "ServerError", "ServerUnavailable"]


class OmegaClient(ClientTransport):
    """A connection to the Omega server of ``config``'s session dir (see the module docstring)."""


    def execute(self, line: str, session: str | None = None, first_line: int = 1,
                on_output: Callable[[str], None] | None = None,
                on_oracle: Callable[[str], None] | None = None,
                on_form: Callable[[dict[str, Any]], None] | None = None,
                on_resent: Callable[[], None] | None = None) -> ExecuteReply:
        """Run one REPL line (code or ``:command``) in ``session`` (None: the server's choice).

        ``first_line``: the line of a file where ``line`` starts, so errors name the file's line.
        ``on_output``: called with each chunk of this command's output (``display``, ``newline``)
        as the server streams it, in order, before ``execute`` returns. It runs on whichever
        thread reads the connection at the time: usually the caller's own (waiting for the reply),
        sometimes another thread of this client that reads pushes (``poll_pushes``); keep it
        short and thread-safe. The reply still holds the whole output of every form.
        ``on_oracle``: the same for the pieces of a streaming oracle answer (``infer.op``) as they
        arrive: a preview of the value the effect returns, never part of the output.
        ``on_form``: each form's result (a dict as in the reply's ``results``) as the form ends,
        after its output: an input of several forms can show each result in its place.
        ``on_resent``: called just before the request is sent again after a reconnect (the backend
        restarted): unless the record answers it, the command runs again and its output streams
        again from the start.
        """
        args = execute_args(line, first_line)
        if on_output is not None or on_oracle is not None or on_form is not None:
            args["stream"] = True  # the server pushes this request's output only to those who ask
        result = self._request(str(Op.EXECUTE), session, args, on_output=on_output, on_oracle=on_oracle,
                               on_form=on_form, on_resent=on_resent)
        return execute_reply(result, session)

    def list_sessions(self) -> list[dict[str, Any]]:
        """One dict per session (name, events, checkpoints, size, last_access, loaded), by name."""
        return rows_from_reply(self.call(Op.LIST_SESSIONS))

    def checkpoints(self, session: str, limit: int | None = None) -> Any:
        return self.call(Op.CHECKPOINTS, session, **({} if limit is None else {"limit": limit}))

    def trace(self, session: str, count: int = 50) -> Any:
        return self.call(Op.TRACE, session, count=count)

    def goto(self, session: str, seq: int) -> Any:
        return self.call(Op.GOTO, session, seq=seq)

    def history(self, session: str, **args: Any) -> Any:
        """The ``history`` op (see ``ops_history``): ``offset``/``limit`` for a page of input rows,
        ``search``/``from``/``direction`` for the next match, or ``row`` for one row's preview."""
        return self.call(Op.HISTORY, session, **args)

    def interrupt(self, session: str) -> Any:
        return self.call(Op.INTERRUPT, session)

    def status(self) -> dict[str, Any]:
        result = self.call(Op.STATUS)
        return result if isinstance(result, dict) else {"status": result}

    def open_session(self, session: str, read_only: bool = False) -> Any:
        """Open (creating if new) ``session`` for this client; re-opened by itself after a reconnect."""
        args: dict[str, Any] = {"read_only": True} if read_only else {}
        result = self.call(Op.OPEN, session, **args)
        with self._cond:
            self._opened[session] = args
        return result

    def close_session(self, session: str) -> Any:
        with self._cond:
            self._opened.pop(session, None)
        return self.call(Op.CLOSE, session)

    def delete_session(self, session: str) -> Any:
        with self._cond:
            self._opened.pop(session, None)
            self._subscribed.discard(session)
        return self.call(Op.DELETE, session, confirm=session)

    def rename_session(self, session: str, to: str) -> Any:
        result = self.call(Op.RENAME, session, to=to)
        with self._cond:
            if session in self._opened:
                self._opened[to] = self._opened.pop(session)
            if session in self._subscribed:
                self._subscribed.discard(session)
                self._subscribed.add(to)
        return result

    def transcript(self, session: str, limit: int = 200) -> Any:
        return self.call(Op.TRANSCRIPT, session, limit=limit)

    def subscribe(self, session: str) -> Any:
        result = self.call(Op.SUBSCRIBE, session)
        with self._cond:
            self._subscribed.add(session)
        return result

    def unsubscribe(self, session: str) -> Any:
        with self._cond:
            self._subscribed.discard(session)
        return self.call(Op.UNSUBSCRIBE, session)

    def ping(self) -> Any:
        return self.call(Op.PING)

    def shutdown(self) -> Any:
        """Ask the server to flush everything and stop. The connection ending is the expected
        outcome, so it is neither retried nor followed by a reconnect (or an autostart)."""
        self.autostart = False  # never start a server just to stop it
        self._ensure_connected()
        with self._cond:
            self._no_reconnect = True
        try:
            return self._request(Op.SHUTDOWN, None, {}, resend=False)
        except _Lost:
            return None

    def restart(self) -> Any:
        """Restart the backend (also clears a supervisor that gave up). Never sent twice; the client
        reconnects to the new backend by itself on its next request."""
        try:
            return self._request(Op.RESTART, None, {}, resend=False)
        except _Lost:
            return None


