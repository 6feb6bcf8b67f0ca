"""A connection's outgoing buffer: what is written to a client that is not reading, and when to give up.

This is where the slow-reader rules live (issue 10, item 3), as data only (no socket here):

- Replies are never dropped: a reply waits in the buffer until the client reads it.
- A follower that falls behind (more than ``behind_bytes`` unread) has its event pushes coalesced:
  the queued ``events``/``timeline`` pushes of that session are dropped and one
  ``{"push": "resync", "session": NAME}`` takes their place, telling the client to re-read.
- A client whose unread output would pass ``limit_bytes`` is over its backlog: the connection
  writer disconnects it (``Outbox.add`` says so; the writer logs why).

The writer (``connection.Connection``) takes frames from the front with ``peek``/``consumed``.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass

from omega_core.server import protocol as proto
from omega_core.server.framing import frame

COALESCED_PUSHES = frozenset({"events", "timeline"})
"""Push kinds a client can rebuild by re-reading the session (so a late one may be dropped)."""
RESYNC_PUSH = "resync"


class Added(enum.Enum):
    """What became of a frame given to ``Outbox.add``."""

    QUEUED = "queued"
    COALESCED = "coalesced"
    """A push dropped in favour of a ``resync`` push for its session."""
    OVER_LIMIT = "over_limit"
    """Queuing it would pass the backlog limit: the client must be disconnected."""


@dataclass(frozen=True)
class OutFrame:
    """One framed message waiting to be written; ``push_kind``/``session`` let pushes be coalesced."""

    data: bytes
    push_kind: str | None = None
    session: str | None = None

    @property
    def coalescible(self) -> bool:
        return self.push_kind in COALESCED_PUSHES and self.session is not None


class Outbox:
    """The frames not yet written to one client, bounded by ``limit_bytes``."""

    def __init__(self, limit_bytes: int, behind_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.behind_bytes = behind_bytes
        self._frames: collections.deque[OutFrame] = collections.deque()
        self._offset = 0
        """Bytes of the front frame already written (a frame half written is never dropped)."""
        self.pending_bytes = 0
        self.coalesced = 0
        """Pushes dropped for a resync (for tests and metrics)."""
        self._resync_queued: set[str] = set()
        """Sessions with a resync push waiting: their later pushes are dropped at once (O(1))."""

    def __bool__(self) -> bool:
        return bool(self._frames)

    def add(self, item: OutFrame) -> Added:
        if item.coalescible and (item.session in self._resync_queued or self.pending_bytes > self.behind_bytes):
            self._coalesce(item.session or "")
            return Added.COALESCED
        if self.pending_bytes and self.pending_bytes + len(item.data) > self.limit_bytes:
            return Added.OVER_LIMIT  # a single big reply to a client that reads is always let through
        self._append(item)
        return Added.QUEUED

    def peek(self) -> memoryview:
        """The unwritten rest of the front frame (the buffer must not be empty)."""
        return memoryview(self._frames[0].data)[self._offset:]

    def consumed(self, count: int) -> None:
        """``count`` bytes of the front were written."""
        while count:
            rest = len(self._frames[0].data) - self._offset
            if count < rest:
                self._offset += count
                self.pending_bytes -= count
                return
            done = self._frames.popleft()
            if done.push_kind == RESYNC_PUSH and done.session is not None:
                self._resync_queued.discard(done.session)
            self._offset = 0
            self.pending_bytes -= rest
            count -= rest

    def clear(self) -> None:
        self._frames.clear()
        self._resync_queued.clear()
        self._offset = 0
        self.pending_bytes = 0

    def _append(self, item: OutFrame) -> None:
        self._frames.append(item)
        self.pending_bytes += len(item.data)

    def _coalesce(self, session: str) -> None:
        """Drop the session's queued coalescible pushes (not the one half written) and make sure
        one resync push for it is queued. Once it is, nothing of the session is left to drop."""
        self.coalesced += 1
        if session in self._resync_queued:
            return
        kept: collections.deque[OutFrame] = collections.deque()
        has_resync = False
        for position, queued in enumerate(self._frames):
            started = position == 0 and self._offset > 0
            if not started and queued.coalescible and queued.session == session:
                self.pending_bytes -= len(queued.data)
                self.coalesced += 1
                continue
            if queued.push_kind == RESYNC_PUSH and queued.session == session:
                has_resync = True
            kept.append(queued)
        self._frames = kept
        self._resync_queued.add(session)
        if not has_resync:
            message = proto.push(RESYNC_PUSH, session=session,
                                 message=f"missed events of '{session}' while not reading; re-read the session")
            self._append(OutFrame(frame(proto.encode(message)), RESYNC_PUSH, session))
