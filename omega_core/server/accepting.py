"""Accepting clients: the accept loop and the key handshake, on threads (they block).

One thread accepts; one thread per new connection does the key handshake (with a timeout, so a
silent peer cannot stall anyone), refuses it past ``[server] max_clients`` with a reply the client
shows, and hands it to the event loop. A few handshake threads stay waiting for the next
connection (``SPARE_HANDSHAKERS``, started with the accept loop): starting a thread while the
backend starts up took 0.5-3 ms of the restart gap (the new thread waits for the GIL behind the
loop's start-up), and every client waits in the listen queue through a restart.

Nothing here may end the accept loop or leak a connection: running out of descriptors
(``accept`` or ``os.dup`` failing with EMFILE) or threads closes that one connection, logs once
per streak, and goes on (issue 10, item 8).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Any, Callable

from multiprocess.connection import AuthenticationError, answer_challenge, deliver_challenge

from omega_core.config import ServerConfig
from omega_core.server import protocol as proto
from omega_core.server.connection import Connection, abort_connection

log = logging.getLogger("omega.backend")

HANDSHAKE_TIMEOUT_S = 5.0
ACCEPT_RETRY_S = 0.05
"""After a failed accept (out of descriptors), wait this long before the next try."""
MIB = 1024 * 1024
SPARE_HANDSHAKERS = 2
"""Handshake threads kept waiting for a connection (more are started when none is free)."""


class HandshakeWatch:
    """The time limit of every handshake under way, kept by one thread. (A ``threading.Timer`` per
    connection started a second thread per connection: 0.5-1 ms each while a backend starts up,
    where every client waits.) On expiry the connection is aborted (``abort_connection``), which
    wakes the handshake blocked reading it."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._cond = threading.Condition(threading.Lock())
        self._deadlines: dict[int, tuple[float, Any]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, conn: Any) -> int:
        """Start the clock for ``conn``; the token ends it (``done``)."""
        token = next(self._tokens)
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="omega-handshake-watch", daemon=True)
                self._thread.start()
            was_empty = not self._deadlines
            self._deadlines[token] = (time.monotonic() + self.timeout_s, conn)
            if was_empty:  # the watcher waits without a timeout; later deadlines come after this one
                self._cond.notify()
        return token

    def done(self, token: int) -> None:
        with self._cond:
            self._deadlines.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                expired = [token for token, (deadline, _conn) in self._deadlines.items() if deadline <= now]
                conns = [self._deadlines.pop(token)[1] for token in expired]
                if not conns:
                    earliest = min((deadline for deadline, _conn in self._deadlines.values()), default=None)
                    self._cond.wait(None if earliest is None else max(0.0, earliest - now))
                    continue
            for conn in conns:
                abort_connection(conn)


class Acceptor:
    """Accepts on ``listener`` until ``stopping()``; each client that passes the handshake goes to
    ``adopt`` (which raises RuntimeError once the backend is stopping)."""

    def __init__(self, listener: Any, key: bytes, server: ServerConfig, stopping: Callable[[], bool],
                 client_count: Callable[[], int], adopt: Callable[[Connection], None]) -> None:
        self.listener = listener
        self.key = key
        self.server = server
        self.stopping = stopping
        self.client_count = client_count
        self.adopt = adopt
        self.accepted = 0
        self._jobs: queue.SimpleQueue[tuple[Any, int]] = queue.SimpleQueue()
        self._idle = 0
        """Handshake threads waiting on ``_jobs`` (changed under ``_idle_lock``)."""
        self._idle_lock = threading.Lock()
        self._spares_started = False
        self.watch = HandshakeWatch(HANDSHAKE_TIMEOUT_S)

    def start_spares(self) -> None:
        """Start the waiting handshake threads (once; ``run`` does it if nobody did before)."""
        if self._spares_started:
            return
        self._spares_started = True
        try:
            for _ in range(SPARE_HANDSHAKERS):
                self._start_handshaker(None)
        except Exception as problem:  # noqa: BLE001 - no thread to spare: each connection starts one
            log.warning("could not start a spare handshake thread: %s", problem)

    def run(self) -> None:
        """The accept loop (a thread of its own)."""
        self.start_spares()
        failing: str | None = None
        while not self.stopping():
            conn = None
            try:
                conn = self.listener.accept()
                self.accepted += 1
                self._hand_over(conn, self.accepted)
                if failing is not None:
                    log.info("accepting connections again")
                    failing = None
            except Exception as problem:  # noqa: BLE001 - the accept path must survive anything
                cause = str(problem) or type(problem).__name__
                if cause != failing:  # once per streak: EMFILE would repeat 20 times a second
                    log.error("accept failed (retrying every %.2f s): %s", ACCEPT_RETRY_S, cause)
                    failing = cause
                if conn is not None:
                    close_quietly(conn)
                time.sleep(ACCEPT_RETRY_S)

    def _hand_over(self, conn: Any, number: int) -> None:
        """Give ``conn`` to a waiting handshake thread, or to a new one when none waits."""
        with self._idle_lock:
            waiting = self._idle > 0
            if waiting:
                self._idle -= 1
        if waiting:
            self._jobs.put((conn, number))
        else:
            self._start_handshaker((conn, number))

    def _start_handshaker(self, job: tuple[Any, int] | None) -> None:
        if job is None:
            with self._idle_lock:
                self._idle += 1
        try:
            threading.Thread(target=self._handshaker, args=(job,), name="omega-handshake", daemon=True).start()
        except BaseException:
            if job is None:
                with self._idle_lock:
                    self._idle -= 1
            raise

    def _handshaker(self, job: tuple[Any, int] | None) -> None:
        """A handshake thread: serve ``job`` (None: start idle), then wait for the next one while
        fewer than ``SPARE_HANDSHAKERS`` wait; else end."""
        while True:
            if job is None:
                job = self._jobs.get()
            self.serve(*job)
            job = None
            with self._idle_lock:
                if self._idle >= SPARE_HANDSHAKERS:
                    return
                self._idle += 1

    def serve(self, conn: Any, number: int) -> None:
        """The key handshake (blocking, with a timeout) in this thread; then the loop reads. Any
        failure (a bad peer, no descriptor left for ``os.dup``) closes this connection only."""
        connection: Connection | None = None
        try:
            token = self.watch.watch(conn)
            try:
                deliver_challenge(conn, self.key)
                answer_challenge(conn, self.key)
            finally:
                self.watch.done(token)
            connected = self.client_count()
            if connected >= self.server.max_clients:
                self.refuse(conn, f"too many clients: {connected} connected; raise [server] max_clients "
                                  f"(now {self.server.max_clients})")
                return
            connection = Connection(conn, number, int(self.server.max_client_backlog_mb * MIB))
            self.adopt(connection)
        except (AuthenticationError, EOFError, OSError, ValueError) as problem:
            log.warning("refused a connection: %s", problem or type(problem).__name__)
            close_quietly(connection if connection is not None else conn)
        except RuntimeError:  # the portal or the reader group is gone: the backend is stopping
            close_quietly(connection if connection is not None else conn)
        except Exception:  # noqa: BLE001 - a handshake must never harm the accept path
            log.exception("connection %d failed during its handshake", number)
            close_quietly(connection if connection is not None else conn)

    def refuse(self, conn: Any, message: str) -> None:
        """Answer the client's first request (its ``hello``) with ``message`` and close: the client
        shows the reason instead of a broken connection."""
        log.warning("refused a connection: %s", message)
        request_id = None
        try:
            if conn.poll(HANDSHAKE_TIMEOUT_S):
                request_id = proto.request_id_of(conn.recv_bytes(self.server.max_frame_bytes))
            conn.send_bytes(proto.encode(proto.error_reply(request_id, proto.ErrorCode.BAD_REQUEST, message)))
        except (EOFError, OSError, ValueError):
            pass
        finally:
            close_quietly(conn)


def close_quietly(closable: Any) -> None:
    try:
        closable.close()
    except Exception:  # noqa: BLE001 - closing what failed must not fail
        pass


def raise_descriptor_limit() -> None:
    """Raise the soft limit on open files to the hard one: each client and each loaded session
    holds descriptors, and the common soft limit (1024) is far below what the server is set for."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError) as problem:
        log.warning("could not raise the open-files limit: %s", problem)
