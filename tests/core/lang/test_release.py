"""Freeing a stopped command's huge structures off the caller's thread, in pieces (``lang.release``):
what only the released roots hold is freed (lists cut in pieces, frames' environments taken
first); anything held from elsewhere (a global's list, a shared tail, a captured frame) is left
exactly as it was."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from omega_core.lang.frames import CallK
from omega_core.lang.machine import Machine
from omega_core.lang.release import RELEASE_SLICE, release_in_background, release_registers
from omega_core.lang.values import NIL, UNSPECIFIED, Pair


class Marker:
    """An element whose freeing can be seen (pairs take no weak references)."""


def long_list(count: int, last: Any = None) -> Any:
    items: Any = NIL
    if last is not None:
        items = Pair(last, items)
    for index in range(count):
        items = Pair(index, items)
    return items


def length(items: Any) -> int:
    count = 0
    while type(items) is Pair:
        count += 1
        items = items.cdr
    return count


def wait_until(condition: Any, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def finish(thread: threading.Thread | None) -> None:
    assert thread is not None
    thread.join(60)
    assert not thread.is_alive()


def test_a_long_list_only_the_roots_hold_is_freed() -> None:
    marker = Marker()
    seen = weakref.ref(marker)
    roots = [long_list(10 * RELEASE_SLICE, last=marker)]
    marker = None
    finish(release_in_background(roots))
    assert roots == [] and wait_until(lambda: seen() is None)


def test_a_list_held_elsewhere_is_left_whole() -> None:
    kept = long_list(5 * RELEASE_SLICE)
    finish(release_in_background([kept]))
    assert length(kept) == 5 * RELEASE_SLICE


def test_a_shared_tail_stays_whole_and_the_part_before_it_is_freed() -> None:
    tail = long_list(3 * RELEASE_SLICE)
    marker = Marker()
    seen = weakref.ref(marker)
    head: Any = Pair(marker, tail)
    for index in range(4 * RELEASE_SLICE):
        head = Pair(index, head)
    finish(release_in_background([head]))
    head = marker = None
    assert wait_until(lambda: seen() is None)
    assert length(tail) == 3 * RELEASE_SLICE


def test_a_frame_environment_holding_a_big_list_is_taken_apart_and_a_shared_one_kept() -> None:
    marker = Marker()
    seen = weakref.ref(marker)
    shared_env = [None, long_list(2 * RELEASE_SLICE)]
    frame = CallK(None, None, shared_env, 1, None, ())
    frame = CallK(frame, None, [None, long_list(6 * RELEASE_SLICE, last=marker)], 1, None, ())
    marker = None
    finish(release_in_background([frame]))
    frame = None
    assert wait_until(lambda: seen() is None)
    assert length(shared_env[1]) == 2 * RELEASE_SLICE


def test_the_registers_are_taken_out_of_the_machine_before_the_thread_starts() -> None:
    machine = Machine()
    marker = Marker()
    seen = weakref.ref(marker)
    machine.value = long_list(4 * RELEASE_SLICE, last=marker)
    machine.env = [None, machine.value]
    marker = None
    release_registers(machine)
    assert machine.value is UNSPECIFIED and machine.env is None and machine.k is None
    assert wait_until(lambda: seen() is None)


def test_a_chunk_of_a_list_copy_is_big_enough_for_the_memory_check() -> None:
    from omega_core.lang.budgets import RESERVE_CHECK_BYTES, list_bytes
    from omega_core.lang.list_copy import REVERSE_CHUNK_PAIRS

    assert list_bytes(REVERSE_CHUNK_PAIRS) >= RESERVE_CHECK_BYTES


def test_a_running_release_is_counted_until_it_is_done() -> None:
    from omega_core.lang.release import releases_running

    before = releases_running()
    thread = release_in_background([long_list(20 * RELEASE_SLICE)])
    finish(thread)
    assert releases_running() == before


def test_memory_freed_by_a_release_thread_is_not_counted_against_the_running_command(monkeypatch) -> None:
    from omega_core.lang import budgets

    monkeypatch.setattr(budgets, "releases_running", lambda: 1)
    assert budgets._counted(-1000) == 0 and budgets._counted(500) == 500
    monkeypatch.setattr(budgets, "releases_running", lambda: 0)
    assert budgets._counted(-1000) == -1000


def test_a_frame_holding_a_big_list_in_its_operand_values_is_taken_apart() -> None:
    marker = Marker()
    seen = weakref.ref(marker)
    frame = CallK(None, None, [None], 1, None, (long_list(6 * RELEASE_SLICE, last=marker),))
    marker = None
    finish(release_in_background([frame]))
    frame = None
    assert wait_until(lambda: seen() is None)


class RecordingClock:
    """Stands in for ``release``'s ``time``: the thread's rests are recorded, not slept."""

    def __init__(self) -> None:
        self.rests: list[float] = []
        self.perf_counter = time.perf_counter

    def sleep(self, seconds: float) -> None:
        self.rests.append(seconds)


def test_the_release_thread_rests_between_pieces_so_it_takes_at_most_about_half_the_gil(monkeypatch: Any) -> None:
    """Without rests a release competed with the loop for the GIL as an equal: another client's
    ping went from p99 3 to 10-13 ms while a 512 MB list was freed (``bench/isolation.py``, list
    doubling then bignum squaring). With ``RELEASE_RUN_S`` 0, every piece of a chain (pairs or
    frames) and every ``RELEASE_PACE_ITEMS`` loose objects are followed by a rest."""
    from omega_core.lang import release

    assert release.RELEASE_REST_S >= release.RELEASE_RUN_S  # the loop keeps at least half the GIL
    clock = RecordingClock()
    monkeypatch.setattr(release, "time", clock)
    monkeypatch.setattr(release, "RELEASE_RUN_S", 0.0)
    finish(release_in_background([long_list(10 * RELEASE_SLICE)]))
    assert len(clock.rests) >= 9 and set(clock.rests) == {release.RELEASE_REST_S}

    clock.rests.clear()
    frames: Any = None
    for _ in range(6 * RELEASE_SLICE):
        frames = CallK(frames, None, [None], 1, None, ())
    roots = [frames]
    frames = None  # only the roots hold the chain
    finish(release_in_background(roots))
    assert len(clock.rests) >= 5

    clock.rests.clear()
    finish(release_in_background([[Marker() for _ in range(4 * release.RELEASE_PACE_ITEMS)]]))
    assert len(clock.rests) >= 3


def test_a_long_python_list_is_freed_a_slice_at_a_time_and_one_held_elsewhere_is_left_whole(monkeypatch: Any) -> None:
    """The parse of a records line (a Python list of millions of lists) was listed with
    ``gc.get_referents`` in one call of some 80 ms; it is now cut a slice at a time. A list held
    from elsewhere is never cut."""
    import gc

    from omega_core.lang import release

    listed: list[int] = []
    real_referents = gc.get_referents

    def recording(*objects: Any) -> list[Any]:
        listed.extend(len(obj) for obj in objects if type(obj) is list)
        return real_referents(*objects)

    monkeypatch.setattr(release.gc, "get_referents", recording)
    marker = Marker()
    seen = weakref.ref(marker)
    line = {"records": [["pair", number, ["r", 1, number]] for number in range(10 * RELEASE_SLICE)] + [[marker]]}
    marker = None
    shared = [[number] for number in range(3 * RELEASE_SLICE)]
    roots = [line, shared]
    line = None  # type: ignore[assignment]
    finish(release_in_background(roots))
    assert seen() is None  # freed by the thread (nothing here held it)
    assert 0 < max(listed) <= RELEASE_SLICE  # the dict was listed; the long list never whole
    assert len(shared) == 3 * RELEASE_SLICE and shared[-1] == [3 * RELEASE_SLICE - 1]
