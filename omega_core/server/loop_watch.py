"""How long the backend's event loop went without looking at its sockets: its stalls, measured.

Another client's request waits for as long as the loop is busy with something else (a slice of a
session's evaluation, a state capture, a big reply being encoded, a worker thread holding the
GIL). The loop looks at its sockets once per iteration, in ``selector.select``; the time from one
``select`` returning to the next one being called is therefore exactly how long a request that
arrived meanwhile could not even be read. ``WatchedSelector`` wraps the loop's selector and
measures that stretch on every iteration (two clock reads: nothing to see in a profile), and
``LoopWatch`` keeps the figures: the longest stall, how many passed 5 and 50 ms (the isolation
targets, ARCHITECTURE.md section 7), and the recent ones over 5 ms with their time, so a bench
can tell which of its cases caused which stall (``bench/isolation.py``).

Measuring a client's ping from outside mixes the server's stalls with the client's own (a bench
whose probe shares a process with a client decoding big replies measures that process's GIL);
this is the server's side alone. No timer is involved: an idle loop costs nothing more.

Each stretch is also measured in the loop thread's own CPU time (``time.thread_time``): on a
loaded machine the wall time of a stretch includes the time the kernel gave other processes,
while its CPU time is the loop's own work, whatever else runs (it leaves out waits for the GIL
held by a worker thread, which the wall time shows). A bench on a busy machine compares both.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import selectors
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping

STALL_S = 0.005
"""A loop iteration longer than this is a stall (the p99 target of another client's request)."""
LONG_STALL_S = 0.050
"""The max target: an iteration longer than this is counted apart."""
RECENT_STALLS = 512
"""Stalls over ``STALL_S`` remembered with their time (older ones only count)."""


@dataclass(frozen=True)
class Stall:
    """One loop iteration longer than ``STALL_S``: when it ended (Unix time), how long it was,
    and how much of that was the loop thread's own CPU time."""

    ended_at: float
    seconds: float
    cpu_seconds: float = 0.0


class LoopWatch:
    """The figures of the loop's iterations (updated on the loop's thread only)."""

    def __init__(self) -> None:
        self.iterations = 0
        self.longest_s = 0.0
        self.stalls = 0
        self.long_stalls = 0
        self.recent: deque[Stall] = deque(maxlen=RECENT_STALLS)
        self.longest_cpu_s = 0.0
        self.cpu_stalls = 0
        """Iterations whose own CPU time passed ``STALL_S`` (see the module's docstring)."""
        self.collections = [0, 0, 0]
        """Cyclic garbage collections per generation (a full one walks every live object)."""
        self.longest_collection_s = [0.0, 0.0, 0.0]
        self._collection_started = 0.0

    def watch_collections(self) -> None:
        """Time the cyclic collector's passes too (``gc.callbacks``): a full collection over a
        heap of millions of objects holds the GIL for as long as it takes, whoever asked for it."""
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collection_started = time.perf_counter()
            return
        generation = info.get("generation", 2)
        if 0 <= generation <= 2:
            took = time.perf_counter() - self._collection_started
            self.collections[generation] += 1
            self.longest_collection_s[generation] = max(self.longest_collection_s[generation], took)

    def iteration(self, busy_s: float, cpu_s: float = 0.0) -> None:
        """One iteration of the loop took ``busy_s`` away from ``select``, ``cpu_s`` of it working."""
        self.iterations += 1
        if cpu_s > STALL_S:
            self.cpu_stalls += 1
            self.longest_cpu_s = max(self.longest_cpu_s, cpu_s)
        if busy_s <= STALL_S:
            return
        self.longest_s = max(self.longest_s, busy_s)
        self.stalls += 1
        if busy_s > LONG_STALL_S:
            self.long_stalls += 1
        self.recent.append(Stall(time.time(), busy_s, cpu_s))

    def figures(self) -> dict[str, Any]:
        """For ``status`` and ``metrics`` (``"loop"``): milliseconds, counts, recent stalls."""
        return {
            "iterations": self.iterations,
            "longest_stall_ms": round(self.longest_s * 1000, 3),
            "stalls_over_5ms": self.stalls,
            "stalls_over_50ms": self.long_stalls,
            "longest_cpu_stall_ms": round(self.longest_cpu_s * 1000, 3),
            "cpu_stalls_over_5ms": self.cpu_stalls,
            "collections": list(self.collections),
            "longest_collection_ms": [round(seconds * 1000, 3) for seconds in self.longest_collection_s],
            "recent_stalls": [[round(stall.ended_at, 4), round(stall.seconds * 1000, 3), round(stall.cpu_seconds * 1000, 3)]
                              for stall in self.recent],
        }


class WatchedSelector(selectors.BaseSelector):
    """The loop's selector, timing the work done between two of its ``select`` calls."""

    def __init__(self, inner: selectors.BaseSelector, watch: LoopWatch) -> None:
        self._inner = inner
        self._watch = watch
        self._returned_at: float | None = None
        self._returned_cpu = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        called_at = time.perf_counter()
        if self._returned_at is not None:
            self._watch.iteration(called_at - self._returned_at, time.thread_time() - self._returned_cpu)
        try:
            return self._inner.select(timeout)
        finally:
            self._returned_at = time.perf_counter()
            self._returned_cpu = time.thread_time()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def fileno(self) -> int:
        """The kernel selector's descriptor (epoll): readable while any registered socket is."""
        return self._inner.fileno()  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self._inner.close()


_readiness: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int]" = weakref.WeakKeyDictionary()


def readiness_fd(loop: asyncio.AbstractEventLoop) -> int | None:
    """A descriptor that is readable while ``loop`` has a socket to serve (its epoll), if the loop
    was made here: what the loop can poll while it waits for something else without blocking
    its clients (``machine_thread``). None for any other loop."""
    return _readiness.get(loop)


def watched_loop_factory(watch: LoopWatch) -> Callable[[], asyncio.AbstractEventLoop]:
    """A loop factory for ``anyio.run(backend_options={"loop_factory": ...})``."""

    def factory() -> asyncio.AbstractEventLoop:
        selector = WatchedSelector(selectors.DefaultSelector(), watch)
        loop = asyncio.SelectorEventLoop(selector)
        with contextlib.suppress(AttributeError, OSError):  # a selector without a descriptor
            _readiness[loop] = selector.fileno()
        return loop

    return factory
