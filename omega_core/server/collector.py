"""The backend's sharing of the interpreter: short young collections, full ones only when idle, and
a short GIL switch interval.

A full collection walks every live object that start-up did not freeze, holding the GIL the whole
time: about 0.2-0.4 microseconds per object here, so 0.5-1 s while one session holds a deep stack or
a list of millions of pairs (measured by ``bench/isolation.py``: the endless recursion's and the
list doubling's longest stalls were full collections). Whoever triggers it, every client waits.
Python's own policy runs one every few million allocations once the old generation grew by a
quarter, which is exactly while a bomb grows its heap. So in the backend:

- young collections stay automatic but small (``GC_THRESHOLDS``): a middle-generation pass walks at
  most ``t0 * (t1 + 1)`` = 7,500 objects, about 0.5-2 ms; the total work per object is the same as
  with larger thresholds (each survivor is walked once per young generation);
- full collections never start by themselves. The old generation is *settled* instead, once
  ``SETTLE_AFTER`` middle collections promoted objects into it (at most 7,500 each): during a
  session's run (``collect_young``) it is frozen as it is (``gc.freeze``, a constant-time move),
  when no session computes (the idle check) it is collected first, which walks only what was
  promoted since the last settling (the loop's own objects, a few thousand). Either way the old
  generation never holds more than about 15,000 unfrozen objects. Waiting for an idle moment to
  collect it instead let it grow to hundreds of thousands of objects while clients kept sending
  (``bench/isolation.py``: a 91 ms pause after a session of 68,680 defines; over a list bomb's
  heap 2-15 s); collecting it during runs too cost a deep recursion half its time again (its
  frames are walked once more before they die);
- the price of freezing: cyclic garbage among frozen objects waits for the deep collection
  (``gc.unfreeze`` then a full one) that ``collect_when_idle`` runs when no session computes,
  every ``DEEP_COLLECTION_EVERY_S`` or sooner once the pool evicted sessions (an evicted session's
  objects may hold each other), if enough was allocated since the last one. It walks the whole
  heap, about 60 ns an object (116 ms for two million): when the sessions' estimated size passes
  ``DEEP_COLLECTION_MAX_HEAP_BYTES`` it waits until no client is connected, since every client
  would wait for it (a session holding four million pairs: half a second). Reference counting
  frees everything else at once, frozen or not; an unloaded session's values are taken apart
  by the release thread (``lang.release.release_session_values``), cycles and all.

The loop gives up the GIL in every ``select``; when a worker thread (``:session save``, an index
write, the freeing of a huge stack) runs Python code meanwhile, the loop gets the GIL back only when
the worker is asked to drop it, after the switch interval: 5 ms by default, and several hand-overs
per request (read, answer, write) made another client's ping wait 15-20 ms while a big save ran.
``SWITCH_INTERVAL_S`` makes each hand-over short.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Callable

import anyio

GC_THRESHOLDS = (2_500, 2, 1_000_000_000)
"""Young (2,500 allocations) and middle (every 2nd young) collections; the third number is the
count of middle collections after which Python would try a full one: never (``collect_when_idle``)."""
SETTLE_AFTER = 2
"""Middle collections after which the old generation is collected and frozen (``settle_old_generation``):
at most ``t0 * (t1 + 1) * 2`` = 15,000 objects promoted since the last settling: a walk of a few milliseconds when collected."""
FULL_COLLECTION_AFTER = 400
"""Middle collections (about 2 million allocations) after which a deep collection may be worth its pause."""
IDLE_CHECK_S = 1.0
"""How often the backend looks whether a settling or a deep collection is due (one wake-up a second when idle)."""
YOUNG_COLLECTION_EVERY_S = 0.01
"""How often, in computing time, a session's run forces a young (or a due middle) collection."""
DEEP_COLLECTION_MAX_HEAP_BYTES = 64 * 1024 * 1024
"""Sessions' estimated size (``SessionManager.memory_estimate``) past which a deep collection
(about 60 ns an object: some 50 ms for this much in small objects) waits for a moment with no
client connected. An estimate, because counting the frozen objects (``gc.get_freeze_count``)
walks them all: 300 ms a call with a session of four million pairs loaded."""
DEEP_COLLECTION_EVERY_S = 600.0
"""How often (when idle) the frozen heap is collected too, if no eviction asked for it sooner."""
SWITCH_INTERVAL_S = 0.0005
"""How long a thread may keep the GIL while another waits for it (Python's default is 5 ms)."""


def tune_garbage_collector() -> None:
    """Freeze what start-up built (modules, builtins, prelude: never garbage, never walked again),
    set the backend's thresholds and its GIL switch interval."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def collect_young() -> None:
    """A young collection now, or a middle one when due. Python (3.11) counts every freed object
    against the young generation's count of new ones, so while a command frees old objects as fast
    as it builds new ones (a list copy consuming its temporary copy, a release thread freeing a
    stopped command's values) the automatic young collection never comes and the young
    generation grows to a million objects, walked at once later (0.1-0.4 s pauses measured while a
    list doubled). ``Backend.run_cooperative`` calls this every ``YOUNG_COLLECTION_EVERY_S`` of
    computation, which bounds the young generations by what that time can build; it costs a few
    tens of microseconds when they are small."""
    if gc.isenabled():
        gc.collect(1 if gc.get_count()[1] >= GC_THRESHOLDS[1] else 0)
        settle_old_generation(collect=False)


class _Promotions:
    """What the settlings counted: middle collections since the last deep collection (how much
    was allocated), and the old generation's count at the last freeze (``gc.freeze`` does not
    reset it; a collection of the old generation does)."""

    def __init__(self) -> None:
        self.since_deep = 0
        self.frozen_at = 0

    def since_settled(self) -> int:
        count = gc.get_count()[2]
        if count < self.frozen_at:  # the old generation was collected since
            self.frozen_at = 0
        return count - self.frozen_at


_promotions = _Promotions()


def settle_old_generation(collect: bool) -> bool:
    """Once ``SETTLE_AFTER`` middle collections promoted objects into the old generation, freeze
    it, collected first if ``collect`` and that walk is short (no more than ``SETTLE_AFTER``
    middle collections' worth: many short commands between two idle checks can promote far
    more than one run's ``collect_young`` lets through); whether it did."""
    promoted = _promotions.since_settled()
    if not gc.isenabled() or promoted < SETTLE_AFTER:
        return False
    _promotions.since_deep += promoted
    if collect and promoted <= SETTLE_AFTER:
        gc.collect(2)
    gc.freeze()
    _promotions.frozen_at = gc.get_count()[2]
    return True


def deep_collection_due(promoted_since_deep: int, is_busy: bool, evicted: bool, since_deep_s: float,
                        heap_bytes: int = 0, clients_connected: bool = False) -> bool:
    """Nobody computing, enough allocated since the last deep collection (``promoted_since_deep``
    middle collections), a heap small enough to walk while clients wait (or none connected), and
    sessions were evicted or the last one is ``DEEP_COLLECTION_EVERY_S`` old."""
    if is_busy or promoted_since_deep < FULL_COLLECTION_AFTER:
        return False
    if clients_connected and heap_bytes > DEEP_COLLECTION_MAX_HEAP_BYTES:
        return False
    return evicted or since_deep_s >= DEEP_COLLECTION_EVERY_S


async def collect_when_idle(busy: Callable[[], bool], evictions: Callable[[], int] = lambda: 0,
                            clients_connected: Callable[[], bool] = lambda: False,
                            heap_bytes: Callable[[], int] = lambda: 0) -> None:
    """The backend's old-generation collections (a task on the loop, for the backend's lifetime):
    settling whatever the sessions do, a deep collection when idle; ``evictions()`` counts the
    sessions the pool evicted so far."""
    last_deep = time.monotonic()
    evicted = evictions()
    while True:
        await anyio.sleep(IDLE_CHECK_S)
        is_busy = busy()
        settle_old_generation(collect=not is_busy)
        if deep_collection_due(_promotions.since_deep + _promotions.since_settled(), is_busy, evictions() != evicted,
                               time.monotonic() - last_deep, heap_bytes(), clients_connected()):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            _promotions.since_deep = _promotions.frozen_at = 0
            last_deep = time.monotonic()
            evicted = evictions()
