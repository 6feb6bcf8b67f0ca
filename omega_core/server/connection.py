"""One client connection in the backend: sending replies and reading request frames on the loop.

The key handshake is done by a thread (it blocks, with a timeout); after it, the connection
belongs to the event loop. Reading happens on the loop (``read_frames``, with ``framing``):
a reading thread would have to win the GIL back from the loop after every ``recv``, which while
a session computes cost 1-3 ms per request. Replies go out as one write per frame.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from typing import Any, Callable

from omega_core.server import protocol as proto
from omega_core.server.framing import FrameError, FrameReader, frame

READ_CHUNK_BYTES = 256 * 1024


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
    """One connected client, served on the loop. Replies go out as one write per frame."""

    def __init__(self, conn: Any, number: int) -> None:
        self.conn = conn
        self.sock = socket.socket(fileno=os.dup(conn.fileno()))
        """The same socket for the loop: read with ``MSG_DONTWAIT``, written with ``sendall``."""
        self.number = number
        self.client_id = f"anonymous-{number}"
        self.name = "client"
        self.connected_at = time.time()
        self.alive = True
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> bool:
        data = frame(proto.encode_reply(message) if "result" in message else proto.encode(message))
        with self._lock:
            if not self.alive:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                self.alive = False
                return False

    def close(self) -> None:
        self.alive = False
        for closable in (self.sock, self.conn):
            try:
                closable.close()
            except OSError:
                pass


async def read_frames(connection: Connection, max_frame_bytes: int, on_frame: Callable[[bytes], None]) -> None:
    """Hand each request frame of ``connection`` to ``on_frame`` until the peer goes away or sends
    something that is not a frame sequence (then it is told why and the reading stops).

    The socket is watched by the asyncio loop for as long as the connection lives (the backend runs
    anyio on asyncio): data is read in the loop's own callback, so a request costs no task wake-up
    and no re-registration with the selector. The socket stays blocking (for ``sendall``); reads
    use ``MSG_DONTWAIT``. The caller closes the connection afterwards; on cancellation it stays
    open, so requests under way can be answered.
    """
    loop = asyncio.get_running_loop()
    sock = connection.sock
    fd = sock.fileno()
    reader = FrameReader(max_frame_bytes)
    ended = asyncio.Event()

    def finish() -> None:
        loop.remove_reader(fd)
        ended.set()

    def readable() -> None:
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
        try:
            for request_frame in frames:
                on_frame(request_frame)
        except RuntimeError:  # the request group is closed: the backend is stopping
            finish()

    loop.add_reader(fd, readable)
    try:
        await ended.wait()
    finally:
        loop.remove_reader(fd)
