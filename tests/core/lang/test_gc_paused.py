"""``serialize_shared.gc_paused``: many objects built with the collector paused (the restore of a
big state) are frozen on the way out, so no young collection walks millions of them at once while
every client of a server waits; a few stay young as usual."""

from __future__ import annotations

import gc

from omega_core.lang.serialize_shared import YOUNG_FREEZE_AT, gc_paused


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
