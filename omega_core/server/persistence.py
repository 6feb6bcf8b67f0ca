"""Background persistence of the loaded sessions (ARCHITECTURE.md section 3).

The log append is not here: it happens in the command itself, before the acknowledgement. What
is here is what may lag behind: checkpoint states (appended in a worker thread: one may hold a
big value; the references installed on the loop after), index and meta
rewrites (serialized and written in a worker thread: they grow with a session, and are throttled
by ``RecordedSession.index_job``), and with ``fsync = "interval"`` the periodic fsync of logs that
were written to (a blocking call, so also in a worker thread). A session running a command is
left alone until it is done. Eviction, close and shutdown flush through ``SessionManager.unload``. Every
failure is caught here and marks its session degraded (``health``); none reaches the loop.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

import anyio

from omega_core.config import Config
from omega_core.server.health import BackgroundJob
from omega_core.server.manager import SessionManager
from omega_core.server.worker_threads import run_in_worker

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.session.recorded import RecordedSession

log = logging.getLogger("omega.backend")

IDLE_INDEX_S = 2.0
"""A session idle this long gets its lagging index written (in a worker thread) even when the
throttle would wait for 5% more growth. Why: evicting or closing it rewrites the index anyway,
and that happens on the loop (closing a 60k-event session: 6.6 ms with its index lagging, 0.6 ms
without); written here, off the loop, the eviction finds it up to date and only closes files."""


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
        """Write what lags behind for each idle session. A failure (any exception: a value that
        cannot be serialized, a full disk) marks that session degraded and never leaves here: it
        would end the flush loop and with it the backend."""
        health = self.manager.health
        for instance in list(self.manager.pool.values()):
            session = instance.session
            name = instance.name
            if instance.busy or session.closed or not session.needs_persisting:
                continue
            try:
                await self._flush_states(session)
            except Exception as problem:  # noqa: BLE001 - stays in its session (issue 10, item 1)
                health.failed(name, BackgroundJob.FLUSH, problem)
                continue  # no index naming states that are not written
            finally:
                self.manager.side_files_written(name)
            if session.closed:
                continue  # closed (evicted, deleted) while its states were written: its close flushed
            health.succeeded(name, BackgroundJob.FLUSH)
            try:
                job = session.index_job()
                if job is None and time.time() - instance.last_access >= IDLE_INDEX_S:
                    job = session.index_job(force=True)  # idle: what its eviction would do on the loop
                if job is not None:
                    await run_in_worker(job)
                    self.manager.side_files_written(name)
                    health.succeeded(name, BackgroundJob.INDEX)
            except Exception as problem:  # noqa: BLE001 - stays in its session
                health.failed(name, BackgroundJob.INDEX, problem)
        try:  # idle sessions give their descriptors back (issue 10, item 8)
            self.manager.release_idle_files()
            self.manager.limit_open_files()
        except Exception:  # noqa: BLE001 - housekeeping must not end the flush loop
            log.exception("closing the files of idle sessions failed")
        if self.after_flush is not None:
            try:
                self.after_flush()
            except Exception:  # noqa: BLE001 - housekeeping must not end the flush loop
                log.exception("after-flush housekeeping failed")
        self.last_flush = time.time()

    @staticmethod
    async def _flush_states(session: "RecordedSession") -> None:
        """Append the session's pending states, the writing in a worker thread (a 16 MiB state
        held the loop 50-100 ms), the references installed on the loop after it."""
        job = session.flush_states_job()
        if job is None:
            return
        written = 0
        try:
            written = await run_in_worker(job)
        finally:
            session.states_flushed(written)

    async def flush_now(self, session: "RecordedSession") -> None:
        """Write ``session``'s pending states and its index now, off the loop: what closing it
        would otherwise do on the loop (21 unflushed states of a 4-million-pair session: 150 ms)."""
        await self._flush_states(session)
        job = session.index_job(force=True)
        if job is not None:
            await run_in_worker(job)

    async def run_fsync_loop(self) -> None:
        if str(self.config.server.fsync) != "interval":
            return
        interval = max(self.config.server.fsync_interval_ms, 10) / 1000
        while True:
            await anyio.sleep(interval)
            await self.fsync_round()

    async def fsync_round(self) -> None:
        """fsync the logs written since the last round (off the loop: it blocks)."""
        health = self.manager.health
        for instance in list(self.manager.pool.values()):
            writer = instance.session._writer
            if writer is None or not writer.needs_fsync:
                continue
            try:
                await anyio.to_thread.run_sync(writer.fsync)
            except Exception as problem:  # noqa: BLE001 - stays in its session
                health.failed(instance.name, BackgroundJob.FSYNC, problem)
            else:
                health.succeeded(instance.name, BackgroundJob.FSYNC)
