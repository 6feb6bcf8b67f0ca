"""How a client reaches a serving backend: dial with backoff (starting a server when allowed),
handshake, ``hello``, and after a reconnect the re-open and re-subscribe of what it had.

Split from ``client_transport.py`` (which keeps the requests, the reading thread and the
reconnect bookkeeping under its locks): this part runs on one thread with a connection nobody
else uses yet. A mixin of ``ClientTransport``, whose ``__init__`` sets the attributes used here.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from omega_core.server import launcher, protocol
from omega_core.server.client_records import ServerError, ServerUnavailable, loads_message as _loads
from omega_core.server.client_records import result_of as _result_of
from omega_core.server.dialing import (
    BACKOFF_INITIAL_S,
    BACKOFF_MAX_S,
    BREAK_ERRORS,
    KeyRefusals,
    KeyRefused,
    NoServer,
    autostart,
    dial,
    died_at_start_message,
    key_refused_message,
    no_server_message,
    timeout_message,
)
from omega_core.server.protocol import ErrorCode, Op
from omega_core.server.trust import UntrustedPath
from omega_core.server.wire import SocketConnection as Connection  # what dialing.dial returns


class ServerGreeting:
    """Dialing and greeting for ``ClientTransport`` (see the module docstring)."""

    def _establish(self, reconnecting: bool) -> Connection:
        """Dial, handshake and ``hello`` (and restore after a reconnect), retrying with backoff.
        A runtime dir, key or socket another user could control is refused at once (``trust``)."""
        try:
            return self._dial_with_retries(reconnecting)
        except UntrustedPath as problem:
            raise ServerUnavailable(problem.message) from None

    def _dial_with_retries(self, reconnecting: bool) -> Connection:
        deadline = time.monotonic() + self.connect_timeout_s
        delay = BACKOFF_INITIAL_S
        tried_start = False
        started: int | None = None
        last: BaseException | None = None
        refusals = KeyRefusals()
        while True:
            try:
                conn = dial(self.paths, deadline)
                try:
                    self._greet(conn, deadline, reconnecting)
                except BaseException:
                    with contextlib.suppress(OSError):
                        conn.close()
                    raise
                return conn
            except KeyRefused as problem:
                if refusals.retry_at_once(problem.args[0], self.paths.read_key()):
                    continue
                if refusals.given_up():
                    raise ServerUnavailable(key_refused_message(self.paths)) from None
                last = problem
            except NoServer as problem:
                last = problem
                if self.autostart and (not tried_start or self._start_again(deadline)):
                    tried_start = True
                    started = autostart(self.config, self.config_path, deadline)
                    if started is not None:
                        self.started_pid = started
                        if launcher.server_pid(self.paths) == started:
                            started = None  # it came up: a later death is a kill, not a failed start
                        elif not launcher.pid_alive(started):
                            raise ServerUnavailable(died_at_start_message(self.paths, started)) from None
                    continue
                if not self.autostart and not reconnecting:
                    raise ServerUnavailable(no_server_message(self.paths, str(problem))) from None
            except (TimeoutError, *BREAK_ERRORS) as problem:
                last = problem
            except AssertionError:  # multiprocess's handshake asserts on a foreign greeting
                last = NoServer("something else listens on the socket (not an Omega server handshake)")
            if started is not None and not launcher.pid_alive(started):
                raise ServerUnavailable(died_at_start_message(self.paths, started)) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerUnavailable(timeout_message(self.paths, self.connect_timeout_s, last)) from None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _start_again(self, deadline: float) -> bool:
        """After a first autostart: start another only if no live supervisor is left (it was
        killed, or is a zombie) and none we started is still on its way up, until the deadline."""
        if time.monotonic() >= deadline or launcher.server_pid(self.paths) is not None:
            return False
        return self.started_pid is None or not launcher.pid_alive(self.started_pid)

    def _greet(self, conn: Connection, deadline: float, reconnecting: bool) -> None:
        """``hello`` on a new connection, then (after a reconnect) re-open and re-subscribe."""
        try:
            self.server_info = self._direct_call(conn, Op.HELLO, None, {"client_id": self.client_id, "name": self.name}, deadline)
        except ServerError as problem:
            if problem.code != ErrorCode.UNAVAILABLE:
                raise ServerUnavailable(
                    f"the Omega server at {self.paths.socket} refused hello: {problem.message}"
                ) from None
            # The supervisor answers but its backend is down (gave up restarting): stay connected so
            # requests get that cause, and `restart` can still be sent.
            self.server_info = {"unavailable": problem.message}
            return
        if not reconnecting:
            return
        self.restore_errors = []
        with self._cond:
            opened = dict(self._opened)
            subscribed = set(self._subscribed)
        for name, args in opened.items():
            try:
                self._direct_call(conn, Op.OPEN, name, {**args, "create": False}, deadline)  # never revive a deleted one
            except ServerError as problem:
                self.restore_errors.append(f"open {name}: {problem.message}")
        for name in sorted(subscribed):
            try:
                self._direct_call(conn, Op.SUBSCRIBE, name, {}, deadline)
            except ServerError as problem:
                self.restore_errors.append(f"subscribe {name}: {problem.message}")

    def _direct_call(self, conn: Connection, op: str, session: str | None, args: dict[str, Any], deadline: float) -> Any:
        """A request on a connection not yet handed out (only this thread uses it)."""
        rid = str(next(self._ids))
        conn.send_bytes(protocol.encode(protocol.request(rid, str(op), session, **args)))
        while True:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"no answer to {op} from the server")
            message = _loads(conn.recv_bytes())
            if message is None:
                continue
            if "push" in message:
                with self._cond:  # delivered once the connection is in use (no callback under locks)
                    if self.on_push is not None:
                        self._greet_pushes.append(message)
                    else:
                        self._pushes.append(message)
                continue
            if str(message.get("id")) == rid:
                return _result_of(message, op)
