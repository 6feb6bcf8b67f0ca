"""The client's connection machinery: pipelined requests matched by id, one reading thread at a
time, pushes, and reconnecting after a break (hello, restore, resend under the original ids)."""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import socket
import threading
import time
from typing import Any, Callable, Self

from omega_core.config import Config
from omega_core.server import protocol
from omega_core.server.client_greeting import ServerGreeting
from omega_core.server.client_records import ServerError, ServerUnavailable
from omega_core.server.client_records import result_of as _result_of
from omega_core.server.dialing import BREAK_ERRORS
from omega_core.server.paths import ServerPaths
from omega_core.server.protocol import ErrorCode
from omega_core.server.wire import SocketConnection as Connection  # what dialing.dial returns

MAX_QUEUED_PUSHES = 10_000
STREAMED_PUSHES = frozenset({"output", "oracle", "form"})
"""Pushes that carry pieces of one running request: ``display`` output, streaming oracle answers,
and each form's result as it ends (``form``: its listener gets the result dict, the others text)."""


class _Lost(Exception):
    """The connection broke while waiting for a request that must not be sent twice."""


_LOST = object()
"""Reply placeholder for a non-resendable request whose connection broke."""


class _Pending:
    __slots__ = ("frame", "sent_gen", "resend")

    def __init__(self, frame: bytes, resend: bool) -> None:
        self.frame = frame
        self.sent_gen = -1  # generation of the connection it was last written to
        self.resend = resend


def _shutdown_socket(conn: Connection) -> None:
    """Wake any thread blocked on ``conn`` (it sees EOF) without closing the descriptor.

    Closing would let the number be reused by the next connection while another thread still
    reads or writes through the old number, mixing frames of two connections.
    """
    with contextlib.suppress(OSError, ValueError):
        dup = socket.socket(fileno=os.dup(conn.fileno()))
        with contextlib.suppress(OSError):
            dup.shutdown(socket.SHUT_RDWR)
        dup.close()


class ClientTransport(ServerGreeting):
    """One multiplexed connection to the server, kept alive across backend restarts (``OmegaClient``
    adds the typed API; the promises are in ``client``'s docstring)."""

    def __init__(
        self,
        config: Config,
        name: str = "omega",
        autostart: bool = True,
        connect_timeout_s: float = 10.0,
        *,
        config_path: str | None = None,
        on_push: Callable[[dict[str, Any]], None] | None = None,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.autostart = autostart
        self.connect_timeout_s = connect_timeout_s
        self.config_path = config_path
        self.on_push = on_push
        self.on_reconnect = on_reconnect
        self.on_disconnect: Callable[[], None] | None = None
        """Called (on the thread that saw it) when a live connection broke and a reconnect begins,
        so a front end can say "reconnecting" at once rather than only once it is back."""
        self.paths = ServerPaths.for_config(config)
        self.client_id = os.urandom(16).hex()  # as random as uuid4, without importing uuid (platform)
        self.reconnects = 0
        self.server_info: Any = None
        """The ``result`` of the last ``hello``."""
        self.restore_errors: list[str] = []
        """Sessions that could not be re-opened or re-subscribed after a reconnect (with why)."""
        self.started_pid: int | None = None
        """Pid of the supervisor this client started, if it started one."""
        self.pushes_dropped = 0

        self._ids = itertools.count(1)
        self._cond = threading.Condition()  # guards everything below, held only briefly
        self._send_lock = threading.Lock()  # one writer at a time on the connection
        self._connect_lock = threading.Lock()  # one (re)connection at a time
        self._conn: Connection | None = None
        self._gen = 0  # bumped for every new connection
        self._ever_connected = False
        self._closed = False
        self._no_reconnect = False  # after shutdown: a broken connection is the expected end
        self._failure: ServerUnavailable | None = None
        self._pending: dict[str, _Pending] = {}
        self._replies: dict[str, Any] = {}
        self._reading: Connection | None = None  # the connection a thread is reading, if any
        self._retired: list[Connection] = []
        self._pushes: collections.deque[dict[str, Any]] = collections.deque()
        self._opened: dict[str, dict[str, Any]] = {}  # session -> args of its open
        self._subscribed: set[str] = set()
        self._greet_pushes: list[dict[str, Any]] = []  # pushes read during hello, delivered after
        self._output_listeners: dict[str, dict[str, Callable[[Any], None]]] = {}
        """request id -> push kind ("output", "oracle", "form") -> the listener of that request's pieces;
        "resent": called (from the reconnecting thread) just before the request is sent again after a
        reconnect: a command that runs again streams its output again from the start."""

    # ------------------------------------------------------------------------------------------
    # Life cycle

    def connect(self) -> Self:
        """Connect now (``call`` also connects on first use). Raises ``ServerUnavailable``."""
        self._ensure_connected()
        return self

    @property
    def connected(self) -> bool:
        with self._cond:
            return self._conn is not None

    def close(self) -> None:
        """Drop the connection; waiting calls raise ``ServerUnavailable``. Safe to call twice."""
        with self._cond:
            self._closed = True
            if self._conn is not None:
                self._retire(self._conn)
                self._conn = None
            self._cond.notify_all()
        self._reap()

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------
    # Requests

    def call(self, op: str, session: str | None = None, **args: Any) -> Any:
        """Send one request and return its ``result``; an error reply raises ``ServerError``."""
        return self._request(str(op), session, args)

    def _request(self, op: str, session: str | None, args: dict[str, Any], resend: bool = True,
                 on_output: Callable[[str], None] | None = None,
                 on_oracle: Callable[[str], None] | None = None,
                 on_form: Callable[[dict[str, Any]], None] | None = None,
                 on_resent: Callable[[], None] | None = None) -> Any:
        rid = str(next(self._ids))
        frame = protocol.encode(protocol.request(rid, op, session, **args))
        limit = self.config.server.max_frame_bytes
        if len(frame) > limit:
            raise ServerError(
                ErrorCode.TOO_LARGE,
                f"request of {len(frame)} bytes is over the frame limit of {limit} bytes ([server] max_frame_bytes)",
            )
        with self._cond:
            if self._closed:
                raise self._closed_error()
            self._pending[rid] = _Pending(frame, resend)
            listeners: dict[str, Callable[[Any], None]] = {
                kind: listener for kind, listener in (("output", on_output), ("oracle", on_oracle), ("form", on_form))
                if listener is not None}
            if on_resent is not None:  # not a push: called before a resend after a reconnect
                listeners["resent"] = lambda _: on_resent()
            if listeners:
                self._output_listeners[rid] = listeners
        try:
            self._send(rid)
            reply = self._wait(rid)
        finally:
            with self._cond:
                self._pending.pop(rid, None)
                self._replies.pop(rid, None)
                self._output_listeners.pop(rid, None)
        if reply is _LOST:
            if not resend:
                raise _Lost(op)
            raise ServerUnavailable(f"the connection to the Omega server closed before it answered {op} (the server is shutting down)")
        if not isinstance(reply, dict):
            raise ServerError(ErrorCode.INTERNAL, f"malformed reply to {op}: {reply!r}")
        return _result_of(reply, op)

    def _send(self, rid: str) -> None:
        while True:
            self._ensure_connected()
            with self._send_lock:
                with self._cond:
                    conn, gen = self._conn, self._gen
                    pending = self._pending.get(rid)
                if pending is None or (conn is not None and pending.sent_gen == gen):
                    return  # answered already, or resent by a reconnect
                if conn is None:
                    continue
                try:
                    conn.send_bytes(pending.frame)
                    pending.sent_gen = gen
                    return
                except BREAK_ERRORS:
                    pass
            self._connection_broke(gen)
            return  # the reconnect resent it (or failed, which _wait reports)

    def _wait(self, rid: str) -> Any:
        while True:
            with self._cond:
                while True:
                    if rid in self._replies:
                        return self._replies.pop(rid)
                    if self._closed:
                        raise self._closed_error()
                    if self._conn is None:
                        if self._failure is not None:
                            raise self._failure
                        if self._no_reconnect:
                            return _LOST
                        action = "connect"
                        break
                    if self._reading is None:
                        conn, gen = self._conn, self._gen
                        self._reading = conn
                        action = "read"
                        break
                    self._cond.wait()
            if action == "connect":
                self._ensure_connected()
                continue
            self._read_one(conn, gen, None)

    def _read_one(self, conn: Connection, gen: int, timeout: float | None) -> bool:
        """As the reading thread: read one frame (waiting ``timeout``; None = no limit) and hand it
        out. Returns False if none came in time. Releases the reader role before returning."""
        pushes: list[dict[str, Any]] = []
        try:
            if timeout is not None and not conn.poll(timeout):
                self._release_reader()
                return False
            data = conn.recv_bytes()
        except BREAK_ERRORS:
            self._release_reader()
            self._connection_broke(gen)
            return True
        except BaseException:
            # Interrupted mid-frame (KeyboardInterrupt): the framing is lost, so is the connection.
            self._release_reader(drop_gen=gen)
            raise
        with self._cond:
            self._reading = None
            pushes = self._dispatch(data)
            self._cond.notify_all()
        self._deliver(pushes)
        return True

    def _release_reader(self, drop_gen: int | None = None) -> None:
        with self._cond:
            self._reading = None
            if drop_gen is not None and self._gen == drop_gen and self._conn is not None:
                self._retire(self._conn)
                self._conn = None
            self._cond.notify_all()

    def _dispatch(self, data: bytes) -> list[dict[str, Any]]:
        """One frame from the server (under ``_cond``): a reply for a waiting request, or a push."""
        try:
            message = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return []  # not ours to crash on; the request it answered times out via reconnect
        if not isinstance(message, dict):
            return []
        if "push" in message:
            if (message.get("push") in STREAMED_PUSHES and message.get("client") in (None, self.client_id)
                    and str(message.get("request")) in self._output_listeners):
                return [message]  # output of one of our requests: to its listener (see _deliver)
            if self.on_push is not None:
                return [message]
            if len(self._pushes) >= MAX_QUEUED_PUSHES:
                self._pushes.popleft()
                self.pushes_dropped += 1
            self._pushes.append(message)
            return []
        rid = message.get("id")
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if isinstance(rid, str) and rid in self._pending:
            self._replies[rid] = message
        return []  # a reply nobody waits for (a duplicate after a retry): dropped

    def _deliver(self, pushes: list[dict[str, Any]]) -> None:
        """Hand pushes out (outside the lock): output of our own requests to their ``on_output``
        (oracle pieces to their ``on_oracle``, form results to their ``on_form``; in order, on the
        thread that read them),
        everything else to ``on_push``."""
        callback = self.on_push
        for message in pushes:
            kind = message.get("push")
            if kind in STREAMED_PUSHES and message.get("client") in (None, self.client_id):
                with self._cond:
                    listener = self._output_listeners.get(str(message.get("request")), {}).get(str(kind))
                if listener is not None:
                    piece = message.get("result" if kind == "form" else "text")
                    if (isinstance(piece, dict) if kind == "form" else isinstance(piece, str) and piece):
                        listener(piece)
                    continue
            if callback is not None:
                callback(message)

    def poll_pushes(self, timeout: float = 0.0) -> list[dict[str, Any]]:
        """Pushes received so far; first reads what the server has sent (waiting up to ``timeout``
        for something if nothing is there). With ``on_push`` set, pushes go there and this returns []."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            idle = self._conn is not None and self._reading is None and not self._closed
            if idle:
                conn, gen = self._conn, self._gen
                self._reading = conn
        if idle:
            while self._read_one(conn, gen, max(0.0, deadline - time.monotonic())):
                deadline = time.monotonic()  # then only what is already there
                with self._cond:
                    if self._conn is not conn or self._reading is not None or self._closed:
                        break
                    self._reading = conn
        with self._cond:
            pushes = list(self._pushes)
            self._pushes.clear()
        return pushes

    # ------------------------------------------------------------------------------------------
    # Connection

    def _closed_error(self) -> ServerUnavailable:
        return ServerUnavailable("the Omega client is closed (this front end already disconnected)")

    def _retire(self, conn: Connection) -> None:
        """(Under ``_cond``.) Put ``conn`` out of use; its descriptor is closed by ``_reap``."""
        _shutdown_socket(conn)
        self._retired.append(conn)

    def _reap(self) -> None:
        with self._send_lock:
            self._reap_locked()

    def _reap_locked(self) -> None:
        """(Holding ``_send_lock``.) Close retired connections no thread is reading."""
        with self._cond:
            keep = [c for c in self._retired if c is self._reading]
            done = [c for c in self._retired if c is not self._reading]
            self._retired = keep
        for conn in done:
            with contextlib.suppress(OSError):
                conn.close()

    def _connection_broke(self, gen: int) -> None:
        """Connection ``gen`` failed: reconnect (unless someone already did) and resend."""
        with self._cond:
            broke_now = self._gen == gen and self._conn is not None
            if broke_now:
                self._retire(self._conn)
                self._conn = None
            if self._no_reconnect:
                for rid, pending in self._pending.items():
                    self._replies.setdefault(rid, _LOST)
                self._cond.notify_all()
                return
        self._reap()
        if broke_now and self.on_disconnect is not None:
            with contextlib.suppress(Exception):  # a front end's callback never stops the reconnect
                self.on_disconnect()
        self._ensure_connected()

    def _ensure_connected(self) -> None:
        """Make sure there is a live connection; after a break, redo hello, restore and resend."""
        with self._connect_lock:
            with self._cond:
                if self._closed:
                    raise self._closed_error()
                if self._conn is not None:
                    return
                if self._no_reconnect:
                    raise ServerUnavailable("the Omega server was shut down by this client")
                reconnecting = self._ever_connected
            try:
                conn = self._establish(reconnecting)
            except ServerUnavailable as problem:
                with self._cond:
                    self._failure = problem
                    self._cond.notify_all()
                raise
            with self._send_lock:
                with self._cond:
                    self._conn = conn
                    self._gen += 1
                    gen = self._gen
                    self._failure = None
                    self._ever_connected = True
                    if reconnecting:
                        self.reconnects += 1
                    resend = []
                    for rid, pending in self._pending.items():
                        if pending.sent_gen == -1 or pending.resend:
                            resend.append((rid, pending))
                        else:
                            self._replies.setdefault(rid, _LOST)  # must not run twice
                    self._cond.notify_all()
                try:
                    for rid, pending in resend:
                        if pending.sent_gen != -1:  # sent before: its output may come again, from the start
                            resent = self._output_listeners.get(rid, {}).get("resent")
                            if resent is not None:
                                resent(None)
                        conn.send_bytes(pending.frame)
                        pending.sent_gen = gen
                except BREAK_ERRORS:
                    pass  # the reading thread sees the break and reconnects again
                self._reap_locked()
        with self._cond:
            early, self._greet_pushes = self._greet_pushes, []
        self._deliver(early)
        if reconnecting and self.on_reconnect is not None:
            self.on_reconnect()
