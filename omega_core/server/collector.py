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
- full collections never start by themselves; ``collect_when_idle`` runs one when no session runs a
  command (and no stopped command's values are being freed) and enough was allocated since the
  last one for cycles to have piled up. A backend that is never idle still collects after
  ``FULL_COLLECTION_MAX_WAIT_S``;
- what survives a full collection is frozen (``gc.freeze``), so the next one walks only what was
  built since, not the whole heap (an idle collection over a heap a list bomb left behind took
  2-15 s). The price: cyclic garbage among frozen objects waits for the deep collection
  (``gc.unfreeze`` then a full one) that ``collect_when_idle`` runs when idle, every
  ``DEEP_COLLECTION_EVERY_S`` or sooner once the pool evicted sessions (an evicted session's
  objects may hold each other). Reference counting frees everything else at once, frozen or not.

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
FULL_COLLECTION_AFTER = 400
"""Middle collections (about 2 million allocations) after which an idle full collection is due."""
IDLE_CHECK_S = 1.0
"""How often the backend looks whether a full collection is due (one wake-up a second when idle)."""
FULL_COLLECTION_MAX_WAIT_S = 600.0
"""A backend busy without a pause for this long collects anyway (cyclic garbage must not pile up forever)."""
YOUNG_COLLECTION_EVERY_S = 0.01
"""How often, in computing time, a session's run forces a young (or a due middle) collection."""
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


def full_collection_due(middle_collections: int, is_busy: bool, since_last_s: float) -> bool:
    """Enough allocated since the last full collection (``middle_collections``: ``gc.get_count()[2]``),
    and nobody computing (or the last one was too long ago)."""
    if middle_collections < FULL_COLLECTION_AFTER:
        return False
    return not is_busy or since_last_s >= FULL_COLLECTION_MAX_WAIT_S


async def collect_when_idle(busy: Callable[[], bool], evictions: Callable[[], int] = lambda: 0) -> None:
    """The backend's full collections (a task on the loop, for the backend's lifetime);
    ``evictions()`` counts the sessions the pool evicted so far."""
    last = last_deep = time.monotonic()
    evicted = evictions()
    while True:
        await anyio.sleep(IDLE_CHECK_S)
        is_busy = busy()
        if full_collection_due(gc.get_count()[2], is_busy, time.monotonic() - last):
            deep_due = evictions() != evicted or time.monotonic() - last_deep >= DEEP_COLLECTION_EVERY_S
            if not is_busy and deep_due:
                gc.unfreeze()
                last_deep = time.monotonic()
                evicted = evictions()
            gc.collect()
            gc.freeze()
            last = time.monotonic()
