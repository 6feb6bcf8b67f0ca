"""The backend's garbage collector policy (``server.collector``): no automatic full collection
(they walk every live object: 0.5-1 s under a bomb's heap); the old generation settled (frozen,
collected first when idle) every few middle collections; a deep collection only when idle after
evictions or a long time; short young collections; a short GIL switch interval."""

from __future__ import annotations

import gc
import sys

from omega_core.server import collector


def test_a_deep_collection_waits_for_an_idle_moment_after_enough_allocation_and_an_eviction_or_a_long_time() -> None:
    enough = collector.FULL_COLLECTION_AFTER
    long_ago = collector.DEEP_COLLECTION_EVERY_S
    assert not collector.deep_collection_due(enough - 1, is_busy=False, evicted=True, since_deep_s=long_ago)
    assert collector.deep_collection_due(enough, is_busy=False, evicted=True, since_deep_s=0.0)
    assert collector.deep_collection_due(enough, is_busy=False, evicted=False, since_deep_s=long_ago)
    assert not collector.deep_collection_due(enough, is_busy=False, evicted=False, since_deep_s=1.0)
    assert not collector.deep_collection_due(enough, is_busy=True, evicted=True, since_deep_s=long_ago)
    big = collector.DEEP_COLLECTION_MAX_HEAP_BYTES + 1  # a walk every connected client would wait for
    assert not collector.deep_collection_due(enough, False, True, long_ago, heap_bytes=big, clients_connected=True)
    assert collector.deep_collection_due(enough, False, True, long_ago, heap_bytes=big, clients_connected=False)
    assert collector.deep_collection_due(enough, False, True, long_ago, heap_bytes=big - 1, clients_connected=True)


def _promote(middle_collections: int) -> list[list[int]]:
    """Survivors promoted into the old generation by ``middle_collections`` middle collections."""
    kept = []
    for _ in range(middle_collections):
        kept.append([[index] for index in range(100)])
        gc.collect(1)
    return kept


def test_the_old_generation_is_settled_once_a_few_middle_collections_promoted_into_it(monkeypatch) -> None:
    """Settling bounds what a later collection of the old generation walks: during a run it only
    freezes (no walk at all), when idle it collects what was promoted since, then freezes."""
    walked: list[int] = []

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            walked.append(info["generation"])

    gc.collect()
    frozen = gc.get_freeze_count()
    gc.callbacks.append(on_collection)
    try:
        kept = _promote(collector.SETTLE_AFTER - 1)
        assert not collector.settle_old_generation(collect=False)
        assert gc.get_freeze_count() == frozen
        kept += _promote(1)
        walked.clear()
        assert collector.settle_old_generation(collect=False)
        assert walked == [] and gc.get_freeze_count() > frozen  # frozen as it was: nothing walked
        assert not collector.settle_old_generation(collect=False)  # counted from the freeze on
        kept += _promote(collector.SETTLE_AFTER)
        walked.clear()
        assert collector.settle_old_generation(collect=True)
        assert walked == [2]
        assert len(gc.get_objects(2)) == 0  # the old generation's new part is frozen too
        kept += _promote(collector.SETTLE_AFTER + 1)
        walked.clear()
        assert collector.settle_old_generation(collect=True)
        assert walked == []  # too much promoted for a short walk: frozen as it is
    finally:
        gc.callbacks.remove(on_collection)
        gc.unfreeze()
    assert len(kept) == 3 * collector.SETTLE_AFTER + 1


def test_tuning_sets_thresholds_without_automatic_full_collections_and_a_short_switch_interval() -> None:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        collector.tune_garbage_collector()
        young, middle, full = gc.get_threshold()
        assert (young, middle) == collector.GC_THRESHOLDS[:2]
        assert young * (middle + 1) <= 10_000  # a middle collection walks at most this many objects
        assert full >= 1_000_000  # never reached: full collections only through collect_when_idle
        assert sys.getswitchinterval() == collector.SWITCH_INTERVAL_S
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)


def test_a_forced_young_collection_keeps_the_young_generations_small_while_old_objects_are_freed() -> None:
    """Freeing old objects as fast as new ones are built keeps Python's young count near zero: no
    automatic young collection comes and the young generation grows without bound (CPython 3.11).
    ``collect_young`` (every few milliseconds of a run) empties it whatever the count says."""
    thresholds = gc.get_threshold()
    old = [[index] for index in range(200_000)]
    gc.collect()
    try:
        gc.set_threshold(*collector.GC_THRESHOLDS)
        kept = []
        for index in range(200_000):
            kept.append([index])  # one new tracked object ...
            old[index] = None  # ... and one old one freed: the young count stays where it was
        assert len(gc.get_objects(0)) > 100_000  # the pathology itself
        collector.collect_young()
        assert len(gc.get_objects(0)) < 1_000
    finally:
        gc.set_threshold(*thresholds)


def test_an_idle_settling_freezes_what_survives_and_an_eviction_makes_the_next_collection_deep(monkeypatch) -> None:
    import time

    import anyio

    monkeypatch.setattr(collector, "IDLE_CHECK_S", 0.01)
    monkeypatch.setattr(collector, "FULL_COLLECTION_AFTER", 0)
    monkeypatch.setattr(collector, "SETTLE_AFTER", 0)
    evictions = [0]
    unfrozen: list[int] = []
    real_unfreeze = gc.unfreeze
    monkeypatch.setattr(gc, "unfreeze", lambda: (unfrozen.append(1), real_unfreeze()))
    frozen_before = gc.get_freeze_count()

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(collector.collect_when_idle, lambda: False, lambda: evictions[0])
            deadline = time.monotonic() + 10
            while gc.get_freeze_count() <= frozen_before and time.monotonic() < deadline:
                await anyio.sleep(0.01)
            assert gc.get_freeze_count() > frozen_before and not unfrozen  # frozen, not deep
            evictions[0] += 1
            while not unfrozen and time.monotonic() < deadline:
                await anyio.sleep(0.01)
            assert unfrozen  # the eviction made the next collection a deep one
            group.cancel_scope.cancel()

    try:
        anyio.run(main)
    finally:
        real_unfreeze()


def test_the_idle_check_never_counts_the_frozen_heap(monkeypatch) -> None:
    """``gc.get_freeze_count`` walks every frozen object (300 ms a call with a session of four
    million pairs loaded): the check that runs every second must not call it."""
    import time

    import anyio

    monkeypatch.setattr(collector, "IDLE_CHECK_S", 0.001)
    monkeypatch.setattr(collector, "FULL_COLLECTION_AFTER", 0)

    def walked() -> int:
        raise AssertionError("the idle check counted the frozen heap")

    monkeypatch.setattr(gc, "get_freeze_count", walked)
    ticks = [0]

    def busy() -> bool:
        ticks[0] += 1
        return True  # no deep collection: only the checks themselves

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(collector.collect_when_idle, busy, lambda: 0, lambda: True, lambda: 1 << 40)
            deadline = time.monotonic() + 10
            while ticks[0] < 20 and time.monotonic() < deadline:
                await anyio.sleep(0.005)
            group.cancel_scope.cancel()

    anyio.run(main)
    assert ticks[0] >= 20
