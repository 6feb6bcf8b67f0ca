"""One client connection in the backend: writing replies without blocking and reading request frames on the loop.

The key handshake is done by a thread (it blocks, with a timeout); after it, the connection
belongs to the event loop (``attach``). Reading happens on the loop (``read_frames``, with
``framing``): a reading thread would have to win the GIL back from the loop after every ``recv``,
which while a session computes cost 1-3 ms per request.

Writing never blocks the loop (issue 10, item 3): the socket is non-blocking once attached; a
frame is written at once as far as the socket takes it, the rest waits in the connection's
``Outbox`` and is written when the loop says the socket is writable (``add_writer``). A client
that stops reading therefore costs memory up to its backlog limit (then it is disconnected, with
the reason logged), never another client's time. The rules for what is kept, coalesced or refused
are the outbox's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any, Callable

from omega_core.server import protocol as proto
from omega_core.server.framing import FrameError, FrameReader, frame
from omega_core.server.outbox import Added, OutFrame, Outbox

log = logging.getLogger("omega.backend")

READ_CHUNK_BYTES = 256 * 1024
DEFAULT_BACKLOG_BYTES = 16 * 1024 * 1024
BEHIND_BYTES = 256 * 1024
"""Unread bytes past which a follower counts as behind: its event pushes are coalesced into a resync."""
BACKLOG_KEY = "[server] max_client_backlog_mb"


def abort_connection(conn: Any) -> None:
    """Wake a thread blocked reading ``conn`` (closing an fd from another thread does not)."""
    try:
        duplicate = socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
    except (OSError, ValueError):
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


class Connection:
    """One connected client, served on the loop once ``attach``-ed; before that (the handshake
    thread) ``send`` writes blocking."""

    def __init__(self, conn: Any, number: int, backlog_limit_bytes: int = DEFAULT_BACKLOG_BYTES) -> None:
        self.conn = conn
        self.sock = socket.socket(fileno=os.dup(conn.fileno()))
        """The same socket for the loop: read with ``MSG_DONTWAIT``; non-blocking once attached."""
        self.number = number
        self.client_id = f"anonymous-{number}"
        self.name = "client"
        self.connected_at = time.time()
        self.alive = True
        self.closed_reason: str | None = None
        """Why the server disconnected this client (backlog over the limit, a write error)."""
        self.working_session: str | None = None
        """The session this client last ran a command in: the pool keeps it loaded while the
        client is connected (``SessionManager.in_use``)."""
        self.outbox = Outbox(backlog_limit_bytes, min(BEHIND_BYTES, backlog_limit_bytes // 2))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._writing = False
        self._on_abort: Callable[[], None] | None = None
        """Set by ``read_frames``: stops the reading, after which the backend unregisters the client."""

    # --- writing -------------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on the loop owns the socket: writes are non-blocking (call on the loop)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.sock.setblocking(False)

    @property
    def backlog_bytes(self) -> int:
        """Bytes written by the server and not yet taken by the client's socket."""
        return self.outbox.pending_bytes

    def send(self, message: dict[str, Any]) -> bool:
        """Queue ``message`` (written as soon as the client reads). False if the client is gone."""
        try:
            data = frame(proto.encode_reply(message) if "result" in message else proto.encode(message))
        except Exception as problem:  # noqa: BLE001 - a reply must still go out (exactly one per request)
            if "push" in message:
                raise  # the pusher marks the session degraded
            log.exception("reply %r could not be encoded", message.get("id"))
            message = proto.error_reply(message.get("id"), proto.ErrorCode.INTERNAL,
                                        f"the reply could not be encoded: {type(problem).__name__}: {problem}")
            data = frame(proto.encode(message))
        kind = message.get("push")
        session = message.get("session")
        item = OutFrame(data, kind if isinstance(kind, str) else None, session if isinstance(session, str) else None)
        if self._loop is None:
            return self._send_blocking(data)
        if threading.get_ident() != self._loop_thread:
            try:
                self._loop.call_soon_threadsafe(self._enqueue, item)
            except RuntimeError:  # the loop is closed: the backend is stopping
                return False
            return self.alive
        return self._enqueue(item)

    def _send_blocking(self, data: bytes) -> bool:
        if not self.alive:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.alive = False
            return False

    def _enqueue(self, item: OutFrame) -> bool:
        if not self.alive:
            return False
        added = self.outbox.add(item)
        if added is Added.OVER_LIMIT:
            limit_mb = self.outbox.limit_bytes / (1024 * 1024)
            self.abort(f"{self.outbox.pending_bytes + len(item.data):,} bytes of unread output would pass "
                       f"the limit of {limit_mb:g} MiB ({BACKLOG_KEY})")
            return False
        if not self._writing:
            self._write_ready()
        return self.alive

    def _write_ready(self) -> None:
        """Write what the socket takes now; wait for writability if anything is left."""
        outbox = self.outbox
        while outbox:
            try:
                written = self.sock.send(outbox.peek())
            except (BlockingIOError, InterruptedError):
                break
            except OSError as problem:
                self.abort(f"write failed: {problem}", quiet=True)
                return
            outbox.consumed(written)
        loop = self._loop
        assert loop is not None
        if outbox and not self._writing:
            loop.add_writer(self.sock.fileno(), self._write_ready)
            self._writing = True
        elif not outbox and self._writing:
            loop.remove_writer(self.sock.fileno())
            self._writing = False

    def abort(self, reason: str, quiet: bool = False) -> None:
        """Disconnect this client (on the loop): its unread output is dropped, the reading stops."""
        if not self.alive:
            return
        if not quiet:
            log.warning("disconnecting client %s (%s, connection %d): %s", self.name, self.client_id, self.number, reason)
        self.closed_reason = reason
        self.alive = False
        self._stop_writing()
        self.outbox.clear()
        if self._on_abort is not None:
            self._on_abort()
        else:
            self.close()

    def _stop_writing(self) -> None:
        if self._writing and self._loop is not None:
            try:
                self._loop.remove_writer(self.sock.fileno())
            except (ValueError, OSError):
                pass
            self._writing = False

    def drain(self, timeout_s: float) -> None:
        """Write what is queued, blocking up to ``timeout_s`` (on stop: the last replies go out)."""
        if not self.alive or not self.outbox:
            return
        self._stop_writing()
        deadline = time.monotonic() + timeout_s
        try:
            while self.outbox and time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                self.outbox.consumed(self.sock.send(self.outbox.peek()))
        except OSError:
            pass

    def close(self) -> None:
        self.alive = False
        self._stop_writing()
        self.outbox.clear()
        for closable in (self.sock, self.conn):
            try:
                closable.close()
            except OSError:
                pass


async def read_frames(connection: Connection, max_frame_bytes: int, on_frame: Callable[[bytes], None],
                      stall_timeout_s: float = 0.0) -> None:
    """Hand each request frame of ``connection`` to ``on_frame`` until the peer goes away, sends
    something that is not a frame sequence, or leaves a frame unfinished for ``stall_timeout_s``
    (0: no limit); in the last two cases it is told why and the reading stops.

    The socket is watched by the asyncio loop for as long as the connection lives (the backend runs
    anyio on asyncio): data is read in the loop's own callback, so a request costs no task wake-up
    and no re-registration with the selector. Reads use ``MSG_DONTWAIT`` (the socket is blocking
    until ``Connection.attach``). The caller closes the connection afterwards; on cancellation it
    stays open, so requests under way can be answered.
    """
    loop = asyncio.get_running_loop()
    sock = connection.sock
    fd = sock.fileno()
    reader = FrameReader(max_frame_bytes)
    ended = asyncio.Event()
    stall_timer: asyncio.TimerHandle | None = None

    def finish() -> None:
        nonlocal stall_timer
        loop.remove_reader(fd)
        if stall_timer is not None:
            stall_timer.cancel()
            stall_timer = None
        ended.set()

    def stalled() -> None:
        nonlocal stall_timer
        stall_timer = None
        readable()  # bytes that arrived while the loop was busy count: then the frame gets more time
        if ended.is_set() or stall_timer is not None or reader.pending_bytes == 0:
            return
        pending = reader.pending_bytes
        reader.clear()  # the unfinished frame's memory is freed now, not when the peer goes
        connection.send(proto.error_reply(
            None, proto.ErrorCode.BAD_REQUEST,
            f"a frame stayed unfinished for {stall_timeout_s:g} s ({pending:,} bytes received; "
            "[server] frame_stall_timeout_s); connection closed"))
        log.warning("client %s (connection %d): dropped a frame unfinished after %g s (%d bytes)",
                    connection.name, connection.number, stall_timeout_s, pending)
        finish()

    def readable() -> None:
        nonlocal stall_timer
        try:
            data = sock.recv(READ_CHUNK_BYTES, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            finish()
            return
        if not data:
            finish()
            return
        try:
            frames = reader.feed(data)
        except FrameError as problem:
            code = proto.ErrorCode.TOO_LARGE if problem.too_large else proto.ErrorCode.BAD_REQUEST
            hint = " ([server] max_frame_bytes)" if problem.too_large else ""
            connection.send(proto.error_reply(None, code, f"{problem.message}{hint}; connection closed"))
            finish()
            return
        if stall_timeout_s > 0:
            if reader.pending_bytes == 0:
                if stall_timer is not None:
                    stall_timer.cancel()
                    stall_timer = None
            elif frames or stall_timer is None:  # a new frame started: its own deadline
                if stall_timer is not None:
                    stall_timer.cancel()
                stall_timer = loop.call_later(stall_timeout_s, stalled)
        try:
            for request_frame in frames:
                on_frame(request_frame)
        except RuntimeError:  # the request group is closed: the backend is stopping
            finish()

    connection._on_abort = finish
    loop.add_reader(fd, readable)
    try:
        await ended.wait()
    finally:
        loop.remove_reader(fd)
        if stall_timer is not None:
            stall_timer.cancel()
        connection._on_abort = None
