"""The backend process's body: build a ``Backend``, serve on a loop that measures its stalls,
and leave a crash's cause for the supervisor (``backend_process`` forks into ``backend_main``).

Two tools for finding what stalls the loop are switched on here by environment variables
(``PROFILE_ENV``, ``SLOW_CALLBACKS_ENV``); both are unset in normal use.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import anyio

from omega_core.config import Config
from omega_core.server.accepting import raise_descriptor_limit
from omega_core.server.backend import Backend
from omega_core.server.collector import tune_garbage_collector
from omega_core.server.context import EXIT_STOP
from omega_core.server.loop_watch import watched_loop_factory

log = logging.getLogger("omega.backend")


PROFILE_ENV = "OMEGA_BACKEND_PROFILE"
"""A path: the backend runs under cProfile and writes its stats there on a clean stop (a tool for
finding what stalls the loop; ``python -m pstats PATH``). Unset in normal use."""


SLOW_CALLBACKS_ENV = "OMEGA_BACKEND_SLOW_CALLBACKS_MS"
"""A number of milliseconds: the loop runs in asyncio's debug mode and logs every callback or task
step that held it longer (a tool for finding what stalls the loop; debug mode costs some speed).
Unset in normal use."""


def _run(backend: Backend) -> int:
    """Serve on an asyncio loop whose selector measures the loop's stalls (``loop_watch``)."""
    options: dict[str, Any] = {"loop_factory": watched_loop_factory(backend.loop_watch)}
    slow_ms = os.environ.get(SLOW_CALLBACKS_ENV)
    if slow_ms:
        options["debug"] = True

        async def serve() -> int:
            asyncio.get_running_loop().slow_callback_duration = float(slow_ms) / 1000
            return await backend.serve()

        return int(anyio.run(serve, backend="asyncio", backend_options=options))
    return int(anyio.run(backend.serve, backend="asyncio", backend_options=options))


def _run_profiled(backend: Backend) -> int:
    import cProfile

    profiler = cProfile.Profile()
    try:
        return int(profiler.runcall(_run, backend))
    finally:
        profiler.dump_stats(os.environ[PROFILE_ENV])


def backend_main(listener: Any, config: Config, key: bytes, restarts: int, supervisor_pid: int,
                 began: float | None = None, go_fd: int | None = None) -> None:
    """Entry point of the forked backend process (never returns); ``began``: when the supervisor
    forked it (``time.monotonic``), for the start record; ``go_fd``: a standby's pipe (``Backend``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s backend[%(process)d] %(levelname)s %(message)s")
    code = EXIT_STOP
    raise_descriptor_limit()
    try:
        backend = Backend(config, listener, key, restarts, supervisor_pid, began, go_fd, load_record=False)
        tune_garbage_collector()  # also the short GIL switch interval, which the accept thread needs
        if go_fd is None:  # a standby begins at the "go" (``serve``)
            backend.begin()  # waiting clients handshake while the loop starts (``start_accepting``)
        else:
            backend.start_accepting()  # its threads exist before the "go", and wait for it
        backend.loop_watch.watch_collections()
        code = _run_profiled(backend) if os.environ.get(PROFILE_ENV) else _run(backend)
    except BaseException as problem:  # noqa: BLE001 - report and let the supervisor decide
        log.exception("backend crashed")
        code = 1
        try:
            from omega_core.server.paths import ServerPaths

            ServerPaths.for_config(config).cause.write_text(f"{type(problem).__name__}: {problem}", encoding="utf-8")
        except Exception:  # noqa: BLE001 - the cause is a courtesy
            pass
    finally:
        logging.shutdown()
    os._exit(code)
