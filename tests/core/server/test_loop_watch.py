"""The loop's stalls, measured by its selector (``server.loop_watch``): a callback that holds the
loop is counted with its length (at least how long it held it), a quick loop has no stall, and
the figures have the shape ``metrics`` and ``status`` show."""

from __future__ import annotations

import asyncio
import time

from omega_core.server.loop_watch import LONG_STALL_S, STALL_S, LoopWatch, watched_loop_factory


def run_on_watched_loop(watch: LoopWatch, hold_s: float) -> None:
    loop = watched_loop_factory(watch)()
    try:
        async def main() -> None:
            await asyncio.sleep(0)
            if hold_s:
                time.sleep(hold_s)  # holds the loop: nothing else can run meanwhile
            await asyncio.sleep(0)

        loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_callback_holding_the_loop_is_a_stall_of_at_least_its_length() -> None:
    watch = LoopWatch()
    run_on_watched_loop(watch, LONG_STALL_S + 0.01)
    figures = watch.figures()
    assert figures["stalls_over_5ms"] >= 1 and figures["stalls_over_50ms"] >= 1
    assert figures["longest_stall_ms"] >= (LONG_STALL_S + 0.01) * 1000
    ended_at, milliseconds, cpu_milliseconds = figures["recent_stalls"][-1]
    assert ended_at <= time.time() and milliseconds >= (LONG_STALL_S + 0.01) * 1000
    assert cpu_milliseconds < STALL_S * 1000  # it slept: no work of the loop's own
    assert figures["cpu_stalls_over_5ms"] == 0


def test_a_callback_computing_is_a_stall_in_cpu_time_too() -> None:
    """A stall's CPU time is the loop's own work: what a loaded machine does not inflate."""
    watch = LoopWatch()
    loop = watched_loop_factory(watch)()
    try:
        async def main() -> None:
            await asyncio.sleep(0)
            started = time.thread_time()
            while time.thread_time() - started < 2 * STALL_S:
                pass  # works: holds the loop and uses its thread's CPU
            await asyncio.sleep(0)

        loop.run_until_complete(main())
    finally:
        loop.close()
    figures = watch.figures()
    assert figures["cpu_stalls_over_5ms"] >= 1
    assert figures["longest_cpu_stall_ms"] >= 2 * STALL_S * 1000
    assert figures["recent_stalls"][-1][2] >= 2 * STALL_S * 1000


def test_iterations_are_counted_and_short_ones_are_no_stalls() -> None:
    watch = LoopWatch()
    watch.iteration(STALL_S / 2)
    watch.iteration(STALL_S / 3)
    figures = watch.figures()
    assert figures["iterations"] == 2 and figures["stalls_over_5ms"] == 0 and figures["recent_stalls"] == []
    assert figures["collections"] == [0, 0, 0]


def test_collections_are_timed_once_watched() -> None:
    import gc

    watch = LoopWatch()
    watch.watch_collections()
    try:
        gc.collect()
        figures = watch.figures()
        assert figures["collections"][2] >= 1 and figures["longest_collection_ms"][2] >= 0
    finally:
        gc.callbacks.remove(watch._on_collection)
