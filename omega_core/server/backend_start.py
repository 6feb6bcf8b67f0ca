"""How a backend starts serving: accepting before its loop runs, a standby's wait for its "go",
and the request record read while the first clients are served (``Backend`` mixes this in).

Why a module of its own: every step here is part of the gap a client sees at a restart
(``bench/restart_gap.py``; ARCHITECTURE.md section 7), and each was moved out of the way of the
next one; a reader changing the start order finds all of it here.
"""

from __future__ import annotations

import threading
import time

import anyio

from omega_core.config import Config
from omega_core.server.accepting import Acceptor
from omega_core.server.go_signal import read_go
from omega_core.server.request_record import RequestRecord
from omega_core.server.start_record import StartRecord
from omega_core.server.worker_threads import run_in_worker
from omega_core.session.sweep import sweep_temp_files

RECORD_CATCH_UP_S = 1.0
"""A standby reads what the active backend added to the request record this often (a few
syscalls when nothing was): after a compaction (a new file) it would otherwise read all of it at
its "go", 10-20 ms of a restart."""


class BackendStart:
    """The start of ``Backend`` (a mixin: these are its fields)."""

    config: Config
    acceptor: Acceptor
    requests: RequestRecord
    start_record: StartRecord
    go_fd: int | None
    restarts: int
    started: float
    last_client_seen: float
    _accepting: threading.Thread | None
    _went: threading.Event
    _record_loaded: anyio.Event

    def start_accepting(self) -> None:
        """Start the accept thread (once). ``backend_main`` calls this before the loop starts, so
        the clients waiting in the listen queue since the last backend died are accepted and do
        their key handshake (a few round trips between processes) while this backend is still
        starting; they are adopted once it serves. Why: each of these steps used to wait for the
        one before it, and their sum was the gap every client saw at a restart. A standby starts
        it too, and the thread waits for the "go" before its first ``accept``."""
        if self._accepting is None:
            self._accepting = threading.Thread(target=self._accept_when_gone, name="omega-accept", daemon=True)
            self._accepting.start()

    def _accept_when_gone(self) -> None:
        self.acceptor.start_spares()
        self._went.wait()
        self.start_record.accepting()
        self.acceptor.run()

    def begin(self) -> None:
        """Start serving clients: accept (``start_accepting``), then sweep the temp files a crashed
        process left (no client waits for that any more)."""
        self._went.set()
        self.start_accepting()
        sweep_temp_files(self.config.sessions_dir, started_before=self.started)

    async def _wait_for_go(self) -> bool:
        """A standby's wait (its loop idles in ``select``, no stall counted; every
        ``RECORD_CATCH_UP_S`` it reads the request record's new lines), then its take-over: from
        here on it is the backend, started at the "go". False: no "go" came (the supervisor
        stopped), stop quietly."""
        assert self.go_fd is not None
        while True:
            with anyio.move_on_after(RECORD_CATCH_UP_S):
                await anyio.wait_readable(self.go_fd)
                break
            # keep up with the active backend's record, so the "go" has only a few lines to read
            await run_in_worker(self.requests.preload)
        go = read_go(self.go_fd)
        self.go_fd = None
        if go is None:
            return False
        self.restarts, began = go
        self.start_record.begin(began)
        self.started = time.time()
        self.last_client_seen = time.monotonic()  # the idle shutdown counts from the take-over
        self.begin()
        return True

    async def _load_record(self) -> None:
        """Read the request record (what the backends before this one answered, up to the last
        one's death) in a worker thread, while clients that do not need it are served: at a
        restart, a full record took 20-40 ms before the first client was even accepted."""
        await run_in_worker(self.requests.load)
        self._record_loaded.set()
