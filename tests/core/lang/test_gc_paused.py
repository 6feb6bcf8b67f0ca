"""``gc_pause.gc_paused``: many objects built with the collector paused (the restore of a
big state) are frozen on the way out, so no young collection walks millions of them at once while
every client of a server waits; a few stay young as usual."""

from __future__ import annotations

import gc

from omega_core.lang.gc_pause import YOUNG_FREEZE_AT, gc_paused


def test_many_objects_built_while_paused_are_frozen_on_the_way_out() -> None:
    frozen = gc.get_freeze_count()
    with gc_paused():
        built = [[index] for index in range(YOUNG_FREEZE_AT + 1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + YOUNG_FREEZE_AT
    assert gc.get_count()[0] < 1_000
    del built  # reference counting frees frozen objects too


def test_a_few_objects_built_while_paused_stay_young() -> None:
    frozen = gc.get_freeze_count()
    with gc_paused():
        built = [[index] for index in range(1_000)]
    assert gc.get_freeze_count() == frozen
    del built


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_objects_built_during_a_long_pause_are_frozen_whatever_the_count() -> None:
    """A restore building millions of objects while a release thread freed as many ended with a
    small count: nothing was frozen, and the next young collection walked all it built (5.7 s).
    Here objects are built as fast as others are freed (the count stays small) for longer than
    ``FREEZE_AFTER_S``: they are frozen all the same."""
    import time

    from omega_core.lang.gc_pause import FREEZE_AFTER_S

    doomed = [[index] for index in range(50_000)]
    frozen = gc.get_freeze_count()
    with gc_paused():
        built = []
        started = time.perf_counter()
        while doomed:
            built.append([len(built)])
            doomed.pop()  # freed as one is built: the young count does not grow
        time.sleep(max(0.0, FREEZE_AFTER_S - (time.perf_counter() - started)) + 0.005)
        assert gc.get_count()[0] < YOUNG_FREEZE_AT
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(built)
    del built


def test_overlapping_pauses_of_two_threads_keep_the_collector_off_until_the_last_ends() -> None:
    """A short pause (a capture slice on the loop) that ended during a long one (a restore in a
    worker thread) turned the collector back on in the middle of the long one."""
    import threading

    inside = threading.Event()
    leave = threading.Event()

    def short_pause() -> None:
        with gc_paused():  # begins first, ends first
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=short_pause)
    other.start()
    assert inside.wait(10)
    with gc_paused():
        leave.set()
        other.join(10)
        assert not gc.isenabled()  # the other thread's pause ended; this one goes on
    assert gc.isenabled()
