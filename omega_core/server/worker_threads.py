"""Long work in worker threads without starving the event loop of the GIL.

A worker thread running Python (parsing a log, replaying inputs, encoding an index) holds the
GIL; the loop thread, woken by a ping, waits for it up to the interpreter's switch interval
(5 ms by default) each time it needs it back, several times per request. Measured on a fork of
a 20k-event session: pings of 16 ms median, 40 ms max with 5 ms; about 1 ms median with 0.1 ms.
While any such job runs, the switch interval is therefore ``SHARED_SWITCH_INTERVAL_S``. It only
matters while two threads want the GIL, so it costs nothing when the loop is idle, and it is put
back when the last job ends.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Callable, Iterator, TypeVar

import anyio.to_thread

SHARED_SWITCH_INTERVAL_S = 0.0001
"""The interpreter's switch interval while long work runs in a worker thread."""

T = TypeVar("T")


class QuickSwitching:
    """Counts the long jobs running in worker threads; lowers the switch interval while any runs.
    Entered from the loop or from a worker thread alike (a lock guards the count)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs = 0
        self._saved = sys.getswitchinterval()

    @property
    def jobs(self) -> int:
        return self._jobs

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            if self._jobs == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, SHARED_SWITCH_INTERVAL_S))
            self._jobs += 1
        try:
            yield
        finally:
            with self._lock:
                self._jobs -= 1
                if self._jobs == 0:
                    sys.setswitchinterval(self._saved)


quick_switching = QuickSwitching()


async def run_in_worker(func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in a worker thread, the loop keeping its share of the GIL meanwhile."""
    with quick_switching.running():
        return await anyio.to_thread.run_sync(func, *args)
