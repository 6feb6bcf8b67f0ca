"""Background persistence of the loaded sessions (ARCHITECTURE.md section 3).

The log append is not here: it happens in the command itself, before the acknowledgement. What
is here is what may lag behind: checkpoint states (appended on the loop: small), index and meta
rewrites (serialized and written in a worker thread: they grow with a session, and are throttled
by ``RecordedSession.index_job``), and with ``fsync = "interval"`` the periodic fsync of logs that
were written to (a blocking call, so also in a worker thread). A session running a command is
left alone until it is done. Eviction, close and shutdown flush through ``SessionManager.unload``.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import anyio

from omega_core.config import Config
from omega_core.errors import OmegaError
from omega_core.server.manager import SessionManager

log = logging.getLogger("omega.backend")


class PersistenceManager:
    """Runs the flush and fsync loops for ``manager``'s pool; ``after_flush`` runs after each round."""

    def __init__(self, config: Config, manager: SessionManager, after_flush: Callable[[], None] | None = None) -> None:
        self.config = config
        self.manager = manager
        self.after_flush = after_flush
        self.last_flush: float | None = None
        """Wall-clock time of the last finished flush round (for status and metrics)."""

    def queue_length(self) -> int:
        """Loaded sessions with states or an index still to write."""
        return sum(1 for instance in self.manager.pool.values() if instance.session.needs_persisting)

    def bytes_written(self) -> int:
        return self.manager.bytes_written_evicted + sum(inst.session.bytes_written for inst in self.manager.pool.values())

    async def run_flush_loop(self) -> None:
        interval = max(self.config.server.save_interval_ms, 10) / 1000
        while True:
            await anyio.sleep(interval)
            await self.flush_round()

    async def flush_round(self) -> None:
        for instance in list(self.manager.pool.values()):
            session = instance.session
            if instance.busy or session.closed or not session.needs_persisting:
                continue
            try:
                session.flush_states()
                job = session.index_job()
                if job is not None:
                    await anyio.to_thread.run_sync(job)
            except OmegaError as problem:
                log.error("flush of session %s failed: %s", instance.name, problem.message)
        if self.after_flush is not None:
            self.after_flush()
        self.last_flush = time.time()

    async def run_fsync_loop(self) -> None:
        if str(self.config.server.fsync) != "interval":
            return
        interval = max(self.config.server.fsync_interval_ms, 10) / 1000
        while True:
            await anyio.sleep(interval)
            for instance in list(self.manager.pool.values()):
                writer = instance.session._writer
                if writer is not None and writer.needs_fsync:
                    try:
                        await anyio.to_thread.run_sync(writer.fsync)  # fsync blocks: not on the loop
                    except OmegaError as problem:
                        log.error("fsync of session %s failed: %s", instance.name, problem.message)
