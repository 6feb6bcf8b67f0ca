"""Per-session locks of the backend do not pile up for sessions that left the pool."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio

from omega_core.config import Config
from omega_core.server.backend import Backend


def make_backend(tmp_path: Path, max_sessions: int) -> Backend:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, max_cached_sessions=max_sessions))
    return Backend(config, listener=None, key=b"k", supervisor_pid=1)


def test_locks_of_sessions_that_left_the_pool_are_forgotten_unless_in_use(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, max_sessions=2)

    async def main() -> None:
        for k in range(6):
            instance = await backend.instance(f"s{k}")
            async with backend.session_lock(instance.name):
                pass
        assert not backend.loading  # loading locks go as soon as the load is done
        assert len(backend.session_locks) == 6
        held = backend.session_lock("s0")  # s0 was evicted long ago, but someone holds its lock now
        await held.acquire()
        backend.forget_idle_locks()
        assert set(backend.session_locks) == {"s0"} | set(backend.manager.pool)
        held.release()
        backend.forget_idle_locks()
        assert set(backend.session_locks) == set(backend.manager.pool) == {"s4", "s5"}

    try:
        anyio.run(main)
    finally:
        backend.manager.close_all()
