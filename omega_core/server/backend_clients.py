"""A backend's clients: connections handed over by the accept threads, their frames read on the
loop, and the pushes to a session's followers (``Backend`` mixes this in).

Pushes never block and never fail a command: a connection queues them in its bounded outbox
(``connection``), and a push that cannot be built or queued marks its session degraded
(``health``), as every background job does (issue 10, item 1).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Awaitable, Callable

import anyio
from anyio.abc import TaskGroup
from anyio.from_thread import BlockingPortal

from omega_core.config import Config
from omega_core.server import protocol as proto
from omega_core.server.access import AccessTable
from omega_core.server.connection import Connection, read_frames
from omega_core.server.health import BackgroundJob
from omega_core.server.manager import SessionManager
from omega_core.server.start_record import StartRecord

log = logging.getLogger("omega.backend")

ADOPT_WAIT_S = 0.1
"""A handshaken connection waiting for the loop to serve looks this often whether the backend stops."""


class BackendClients:
    """The clients of ``Backend`` (a mixin: these are its fields)."""

    config: Config
    manager: SessionManager
    access: AccessTable
    connections: dict[int, Connection]
    subscribers: dict[str, set[int]]
    portal: BlockingPortal | None
    start_record: StartRecord
    last_client_seen: float
    _serving: threading.Event
    _stop: anyio.Event
    _readers: TaskGroup | None
    _requests: TaskGroup | None
    handle: Callable[[Connection, bytes], Awaitable[None]]
    """``Backend.handle``: runs one request frame."""

    # --- connections (threads) -----------------------------------------------------------------

    def _adopt_from_thread(self, connection: Connection) -> None:
        """Hand a connection whose handshake passed to the loop, once it serves (raises
        RuntimeError when stopping)."""
        while not self._serving.wait(ADOPT_WAIT_S):
            if self._stop.is_set():
                raise RuntimeError("the backend is stopping")
        if self.portal is None:
            raise RuntimeError("the backend is not serving")
        self.portal.call(self._adopt, connection)

    def _adopt(self, connection: Connection) -> None:
        assert self._readers is not None
        connection.attach(asyncio.get_running_loop())
        self._readers.start_soon(self._read_frames, connection)
        self._register(connection)
        self.start_record.adopted()

    async def _read_frames(self, connection: Connection) -> None:
        requests = self._requests
        assert requests is not None
        server = self.config.server
        await read_frames(connection, server.max_frame_bytes,
                          lambda data: requests.start_soon(self.handle, connection, data),
                          stall_timeout_s=server.frame_stall_timeout_s)
        connection.close()
        self._unregister(connection)

    def _register(self, connection: Connection) -> None:
        self.connections[connection.number] = connection
        self.last_client_seen = time.monotonic()

    def _unregister(self, connection: Connection) -> None:
        """A client left (or died): it releases everything it held and stops following."""
        self.connections.pop(connection.number, None)
        wrote = [name for name in list(self.access.sessions)
                 if (writer := self.access.writer(name)) is not None and writer.connection == connection.number]
        self.access.release_all(connection.number)
        for name in wrote:
            self.tell_writer_left(name, connection.name)
        for followers in self.subscribers.values():
            followers.discard(connection.number)
        self.last_client_seen = time.monotonic()

    # --- live following ------------------------------------------------------------------------

    def subscribe(self, connection: Connection, name: str) -> None:
        self.subscribers.setdefault(name, set()).add(connection.number)

    def tell_writer_left(self, name: str, who: str) -> None:
        """The writer of ``name`` left or released it: its followers may take write access now."""
        if self.access.writer(name) is not None:
            return
        for number in list(self.subscribers.get(name, ())):
            self.push_to(number, "writer_left", session=name, by=who)

    def push_to(self, number: int, kind: str, **fields: Any) -> None:
        """Queue a push for one client (never blocks: see ``connection``); a failure to build or
        queue it marks the session degraded, never the command or the backend."""
        connection = self.connections.get(number)
        if connection is None:
            return
        name = fields.get("session")
        try:
            connection.send(proto.push(kind, **fields))
        except Exception as problem:  # noqa: BLE001 - a push is a background job (issue 10, item 1)
            if isinstance(name, str):
                self.manager.health.failed(name, BackgroundJob.PUSH, problem)
            else:
                log.exception("push %s to connection %d failed", kind, number)
        else:
            if isinstance(name, str) and self.manager.health.cause(name) is not None:
                self.manager.health.succeeded(name, BackgroundJob.PUSH)

    def _push_events(self, name: str, events: list[dict[str, Any]]) -> None:
        """Called on the loop right after a session's events are appended: followers see them now."""
        for number in list(self.subscribers.get(name, ())):
            self.push_to(number, "events", session=name, events=events)

    def notify_timeline(self, name: str) -> None:
        for number in list(self.subscribers.get(name, ())):
            self.push_to(number, "timeline", session=name)
