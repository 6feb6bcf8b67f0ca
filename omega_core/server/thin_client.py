"""``ThinClient``: the session server's client for one batch run, light enough to start in little
more than Python's own start-up (issue 13; ``bench/cli.py``).

Why not ``OmegaClient``: its threads, pipelining and pushes serve the app's panes; importing it
(with the protocol's dataclasses and enums, the config schema, the launcher) cost a one-line
``omega --batch`` several times Python's start-up. A batch run sends one request at a time and
reads nothing but the replies, so this client is single-threaded and imports only the wire
(``wire``, ``dialing``, ``trust``) and ``client_records``. It keeps ``OmegaClient``'s promises
that a batch relies on, on the same wire:

* the same frames (``protocol.request``, encoded compactly as ``protocol.encode`` does; a test
  compares them) and the same handshake (``dialing.dial``);
* no lost, no doubled command: if the connection breaks while a request is sent or awaited, it
  reconnects (backoff 50 ms doubling to 1 s, within ``connect_timeout_s``), says ``hello`` with
  the same client id, re-opens its sessions (never creating one) and resends the request with its
  original id, which the backend answers from its record instead of running it twice;
* it never starts a server: a run that finds none is handed to the full client before anything
  is sent (``try_connect`` is False), and a server stopped during the run stays stopped.

Pushes are read and dropped: a batch subscribes to nothing and asks for no streamed output.
"""

from __future__ import annotations

import itertools
import json
import os
import time

from omega_core.server.client_records import (
    ExecuteReply,
    ServerError,
    ServerUnavailable,
    execute_args,
    execute_reply,
    loads_message,
    result_of,
)
from omega_core.server.dialing import (
    BACKOFF_INITIAL_S,
    BACKOFF_MAX_S,
    BREAK_ERRORS,
    KeyRefusals,
    KeyRefused,
    NoServer,
    dial,
    key_refused_message,
    timeout_message,
)
from omega_core.server.trust import UntrustedPath, read_key_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

    from omega_core.server.client_settings import ClientPaths
    from omega_core.server.wire import SocketConnection

PROTOCOL_VERSION = 1
"""``protocol.VERSION`` (importing the protocol module would load its dataclasses)."""
DIAL_ERRORS = (NoServer, KeyRefused, TimeoutError, AssertionError, *BREAK_ERRORS)
"""What a dial that did not reach a serving Omega server raises (AssertionError: a foreign greeting)."""
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_request(request_id: str, op: str, session: str | None, args: dict[str, Any]) -> bytes:
    """The frame ``protocol.encode(protocol.request(request_id, op, session, **args))`` gives."""
    return _ENCODER.encode({"v": PROTOCOL_VERSION, "id": request_id, "op": op, "session": session,
                            "args": args}).encode("utf-8")


class ThinClient:
    """One connection to the server at ``paths``, one request at a time (see the module docstring)."""

    def __init__(self, paths: ClientPaths, max_frame_bytes: int, name: str = "omega --batch",
                 connect_timeout_s: float = 10.0) -> None:
        self.paths = paths
        self.max_frame_bytes = max_frame_bytes
        self.name = name
        self.connect_timeout_s = connect_timeout_s
        self.autostart = False
        """Always False: this client never starts a server (the attribute is ``OmegaClient``'s)."""
        self.client_id = os.urandom(16).hex()
        self.server_info: Any = None
        self.reconnects = 0
        """Connections made again after a break (as ``OmegaClient.reconnects``)."""
        self.restore_errors: list[str] = []
        self._ids = itertools.count(1)
        self._conn: SocketConnection | None = None
        self._ever_connected = False
        self._opened: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------------------------------
    # Connection

    def try_connect(self) -> bool:
        """Connect and say ``hello`` once, without retrying: False (nothing sent but the handshake)
        if no serving server answered, so the caller can hand the run to ``OmegaClient``, which
        starts one or explains why it cannot."""
        deadline = time.monotonic() + self.connect_timeout_s
        try:
            conn = dial(self.paths, deadline)
        except (*DIAL_ERRORS, UntrustedPath):
            return False
        try:
            self.server_info = self._direct_call(conn, "hello", None, {"client_id": self.client_id, "name": self.name},
                                                 deadline)
        except (ServerError, TimeoutError, *BREAK_ERRORS):
            conn.close()
            return False
        self._conn = conn
        self._ever_connected = True
        return True

    def connect(self) -> ThinClient:
        """Make sure there is a connection (reconnecting if it broke); ``ServerUnavailable`` if none."""
        if self._conn is None:
            self._reconnect()
        return self

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _drop(self) -> None:
        """The connection broke (or a frame was cut by ctrl+c): put it out of use."""
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def _reconnect(self) -> None:
        """Dial, ``hello`` with the same client id and re-open the sessions, retrying with backoff
        until ``connect_timeout_s``; then ``ServerUnavailable`` says where and what to run."""
        deadline = time.monotonic() + self.connect_timeout_s
        delay = BACKOFF_INITIAL_S
        last: BaseException | None = None
        refusals = KeyRefusals()
        while True:
            try:
                conn = dial(self.paths, deadline)
            except UntrustedPath as problem:
                raise ServerUnavailable(problem.message) from None
            except KeyRefused as problem:
                if refusals.retry_at_once(problem.args[0], read_key_file(self.paths.runtime_dir, self.paths.key)):
                    continue
                if refusals.given_up():
                    raise ServerUnavailable(key_refused_message(self.paths.server_paths())) from None
                last = problem
            except DIAL_ERRORS as problem:
                last = problem
            else:
                try:
                    self._greet(conn, deadline)
                except (TimeoutError, *BREAK_ERRORS) as problem:  # lost again while greeting: retry
                    conn.close()
                    last = problem
                except BaseException:
                    conn.close()
                    raise
                else:
                    self._conn = conn
                    if self._ever_connected:
                        self.reconnects += 1
                    self._ever_connected = True
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                message = timeout_message(self.paths.server_paths(), self.connect_timeout_s, last)
                raise ServerUnavailable(message) from None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _greet(self, conn: SocketConnection, deadline: float) -> None:
        """``hello`` on a new connection, then re-open this client's sessions (never creating one)."""
        try:
            self.server_info = self._direct_call(conn, "hello", None, {"client_id": self.client_id, "name": self.name},
                                                 deadline)
        except ServerError as problem:
            if problem.code != ServerUnavailable.code:
                raise ServerUnavailable(
                    f"the Omega server at {self.paths.socket} refused hello: {problem.message}") from None
            self.server_info = {"unavailable": problem.message}  # its backend is down: requests say why
            return
        self.restore_errors = []
        for name, args in dict(self._opened).items():
            try:
                self._direct_call(conn, "open", name, {**args, "create": False}, deadline)
            except ServerError as problem:
                self.restore_errors.append(f"open {name}: {problem.message}")

    def _direct_call(self, conn: SocketConnection, op: str, session: str | None, args: dict[str, Any],
                     deadline: float | None) -> Any:
        """Send one request on ``conn`` and read frames (dropping pushes) until its reply; waits
        until ``deadline`` (None: as long as it takes, as a long ``execute`` may)."""
        request_id = str(next(self._ids))
        return self._exchange(conn, request_id, op, encode_request(request_id, op, session, args), deadline)

    @staticmethod
    def _exchange(conn: SocketConnection, request_id: str, op: str, frame: bytes, deadline: float | None) -> Any:
        conn.send_bytes(frame)
        while True:
            if deadline is not None and not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"no answer to {op} from the server")
            message = loads_message(conn.recv_bytes())
            if message is None or "push" in message:
                continue
            if str(message.get("id")) == request_id:
                return result_of(message, op)

    # ------------------------------------------------------------------------------------------
    # Requests

    def call(self, op: str, session: str | None = None, **args: Any) -> Any:
        """Send one request and return its ``result``; an error reply raises ``ServerError``. After a
        break it reconnects and resends the same frame (same id: the backend never runs it twice)."""
        request_id = str(next(self._ids))
        frame = encode_request(request_id, op, session, args)
        if len(frame) > self.max_frame_bytes:
            raise ServerError(
                "too_large",
                f"request of {len(frame)} bytes is over the frame limit of {self.max_frame_bytes} bytes "
                "([server] max_frame_bytes)",
            )
        while True:
            self.connect()
            conn = self._conn
            assert conn is not None
            try:
                return self._exchange(conn, request_id, op, frame, None)
            except BREAK_ERRORS:
                self._drop()  # reconnect and resend under the same id
            except BaseException:
                self._drop()  # ctrl+c mid-frame: the framing is lost, so is the connection
                raise

    def execute(self, line: str, session: str | None = None, first_line: int = 1) -> ExecuteReply:
        """Run one REPL line (code or ``:command``) in ``session``; ``first_line`` is the line of the
        file where ``line`` starts, so errors name the file's line."""
        return execute_reply(self.call("execute", session, **execute_args(line, first_line)), session)

    def status(self) -> dict[str, Any]:
        result = self.call("status")
        return result if isinstance(result, dict) else {"status": result}

    def open_session(self, session: str, read_only: bool = False) -> Any:
        """Open (creating if new) ``session``; re-opened (never created) after a reconnect."""
        args: dict[str, Any] = {"read_only": True} if read_only else {}
        result = self.call("open", session, **args)
        self._opened[session] = args
        return result

    def interrupt(self, session: str) -> Any:
        return self.call("interrupt", session)

    def delete_session(self, session: str) -> Any:
        self._opened.pop(session, None)
        return self.call("delete", session, confirm=session)
