"""One long-lived thread that runs the REPL's commands on the server, one at a time.

Why not a Textual thread worker per command (``OmegaApp.background``): starting one costs the UI
thread a few milliseconds (a ``Worker``, a new thread, its bookkeeping) on the path from Enter to
the painted result, whose whole budget is 10 ms. The REPL runs one command at a time anyway, so
one thread that waits on a queue does the same job: the UI thread only puts the call on the
queue. The reply comes back like a worker's (``done``/``failed`` on the UI thread, and failures
explained by ``OmegaApp._failed``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp


@dataclass(frozen=True)
class LaneJob:
    """A blocking call to make on the lane's thread, and what to do with its outcome."""

    call: Callable[..., Any]
    args: tuple[Any, ...]
    done: Callable[[Any], Any]
    failed: Callable[[BaseException], Any]
    description: str


class RunLane:
    """The thread and its queue (started on first use, stopped by ``stop``)."""

    def __init__(self, app: "OmegaApp") -> None:
        self.app = app
        self._jobs: queue.SimpleQueue[LaneJob | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, call: Callable[..., Any], *args: Any, done: Callable[[Any], Any],
            failed: Callable[[BaseException], Any], description: str = "run") -> None:
        """Make ``call(*args)`` on the lane's thread; ``done(result)`` or ``failed(problem)`` then
        runs on the UI thread (after the jobs queued before it)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="omega-run-lane", daemon=True)
            self._thread.start()
        self._jobs.put(LaneJob(call, args, done, failed, description))

    def stop(self) -> None:
        """Let the thread end after the job it is in (if any); later jobs are dropped."""
        if self._thread is not None:
            self._jobs.put(None)

    def _serve(self) -> None:
        app = self.app
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                result = job.call(*job.args)
            except Exception as problem:  # noqa: BLE001 - reported on the UI thread
                app._call_soon(app._failed, problem, job.failed, job.description, False)
            else:
                app._call_soon(job.done, result)
