"""Accepting clients: the accept loop and the key handshake, on threads (they block).

One thread accepts; one short-lived thread per new connection does the key handshake (with a
timeout, so a silent peer cannot stall anyone), refuses it past ``[server] max_clients`` with a
reply the client shows, and hands it to the event loop. Nothing here may end the accept loop or
leak a connection: running out of descriptors (``accept`` or ``os.dup`` failing with EMFILE) or
threads closes that one connection, logs once per streak, and goes on (issue 10, item 8).
"""

from __future__ import annotations

import logging
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

    def run(self) -> None:
        """The accept loop (a thread of its own)."""
        failing: str | None = None
        while not self.stopping():
            conn = None
            try:
                conn = self.listener.accept()
                self.accepted += 1
                threading.Thread(target=self.serve, args=(conn, self.accepted), daemon=True).start()
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

    def serve(self, conn: Any, number: int) -> None:
        """The key handshake (blocking, with a timeout) in this thread; then the loop reads. Any
        failure (a bad peer, no descriptor left for ``os.dup``) closes this connection only."""
        connection: Connection | None = None
        try:
            timer = threading.Timer(HANDSHAKE_TIMEOUT_S, abort_connection, args=(conn,))
            timer.start()
            try:
                deliver_challenge(conn, self.key)
                answer_challenge(conn, self.key)
            finally:
                timer.cancel()
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
