"""The cyclic collector paused while a capture or a restore builds many objects (``gc_paused``).

Split from ``serialize_shared``: restores, captures and the sidecar's warm-up all pause the
collector, and the pause is shared by every thread of the process (see ``gc_paused``).
"""

from __future__ import annotations

import gc
import threading
import time

YOUNG_FREEZE_AT = 200_000
"""Objects built with the collector paused past which they are frozen (``gc_paused``)."""
FREEZE_AFTER_S = 0.02
"""A pause of the collector this long is followed by a freeze whatever the count says (``gc_paused``)."""

_pause_lock = threading.Lock()
_pauses = 0
_enabled_before_pauses = False
_paused_since = 0.0


class gc_paused:
    """Context manager: no cyclic collection inside (restored as it was on exit).

    What was built inside stays in the young generation, and the next young collection walks all
    of it at once, holding the GIL: after the restore of a state of four million pairs, 1-2 s
    during which every client of a server waited. So the objects are frozen on the way out
    (``gc.freeze``, a constant-time move) when there are many (``YOUNG_FREEZE_AT``) or the pause
    was long (``FREEZE_AFTER_S``): Python counts objects freed against those built, and while a
    release thread freed an unloaded session's four million pairs, a restore building as many
    ended with a small count, froze nothing, and the next young collection walked everything it
    built (5.7 s). A restored state is live data, which a young collection would only have moved
    to the old generation, and what a server froze is still collected when it is idle
    (``server.collector``: a deep collection unfreezes first). Reference counting frees frozen
    objects as any other.

    Pauses of several threads overlap as one: the collector comes back (and the freeze is
    decided) when the last one ends (a short capture slice on the loop ending first turned the
    collector back on in the middle of a restore in a worker thread)."""

    def __enter__(self) -> None:
        global _pauses, _enabled_before_pauses, _paused_since
        with _pause_lock:
            if _pauses == 0:
                _enabled_before_pauses = gc.isenabled()
                _paused_since = time.perf_counter()
                gc.disable()
            _pauses += 1

    def __exit__(self, *exc: object) -> None:
        global _pauses
        with _pause_lock:
            _pauses -= 1
            if _pauses or not _enabled_before_pauses:
                return
            if gc.get_count()[0] >= YOUNG_FREEZE_AT or time.perf_counter() - _paused_since >= FREEZE_AFTER_S:
                gc.freeze()
            gc.enable()
