"""Who may do what to a session: at most one read-write holder, any number of read-only ones.

Access belongs to a connection: when it closes (or its client dies) everything it held is
released, so a lock can never go stale. A client that writes without attaching first becomes the
writer if nobody else is; a second writer gets ``locked`` naming the holder and since when.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from omega_core.errors import OmegaError


class Mode(enum.StrEnum):
    READ_WRITE = "read-write"
    READ_ONLY = "read-only"


class Locked(OmegaError):
    code = "locked"


class ReadOnly(OmegaError):
    code = "read_only"


@dataclass(frozen=True)
class Holder:
    connection: int
    client_id: str
    name: str
    mode: Mode
    since: float

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{self.name} (client {self.client_id[:8]}) since {when}"


class AccessTable:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[int, Holder]] = {}

    def holders(self, session: str) -> list[Holder]:
        return sorted(self.sessions.get(session, {}).values(), key=lambda holder: holder.since)

    def writer(self, session: str) -> Holder | None:
        return next((h for h in self.sessions.get(session, {}).values() if h.mode is Mode.READ_WRITE), None)

    def mode_of(self, session: str, connection: int) -> Mode | None:
        holder = self.sessions.get(session, {}).get(connection)
        return holder.mode if holder is not None else None

    def attach(self, session: str, connection: int, client_id: str, name: str, mode: Mode,
               steal: bool = False) -> Holder | None:
        """Give ``connection`` access; return the writer it displaced (``steal``), if any."""
        held = self.sessions.setdefault(session, {})
        displaced = None
        if mode is Mode.READ_WRITE:
            writer = self.writer(session)
            if writer is not None and writer.connection != connection:
                if not steal:
                    raise Locked(
                        f"session '{session}' is held read-write by {writer.describe()}; follow it with "
                        f":session attach {session} --read-only, or take it with --steal"
                    )
                held[writer.connection] = Holder(writer.connection, writer.client_id, writer.name, Mode.READ_ONLY, writer.since)
                displaced = writer
        previous = held.get(connection)
        since = previous.since if previous is not None and previous.mode is mode else time.time()
        held[connection] = Holder(connection, client_id, name, mode, since)
        return displaced

    def require_write(self, session: str, connection: int, client_id: str, name: str) -> None:
        """Check (or implicitly take) write access before a change."""
        mode = self.mode_of(session, connection)
        if mode is Mode.READ_ONLY:
            raise ReadOnly(
                f"this client follows session '{session}' read-only; take write access with "
                f":session attach {session} (or --steal if someone else writes)"
            )
        if mode is None:
            self.attach(session, connection, client_id, name, Mode.READ_WRITE)

    def release(self, session: str, connection: int) -> bool:
        held = self.sessions.get(session, {})
        found = held.pop(connection, None) is not None
        if not held:
            self.sessions.pop(session, None)
        return found

    def release_all(self, connection: int) -> list[str]:
        released = [session for session, held in self.sessions.items() if connection in held]
        for session in released:
            self.release(session, connection)
        return released
