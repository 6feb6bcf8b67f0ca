"""Dropping a huge continuation without stalling everyone else.

A command stopped at depth (an endless non-tail recursion hitting its budget, an interrupt) leaves
a chain of millions of frames. Dropping the last reference frees the whole chain in one C-level
cascade that holds the GIL for seconds (a 3.46 s ping was measured). ``release_in_background``
hands the chain to a thread that cuts it into pieces of ``RELEASE_SLICE`` frames and frees one
piece at a time: between pieces the thread runs bytecode, so the loop gets the GIL back.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

RELEASE_SLICE = 2048
"""Frames freed per piece (about a millisecond)."""
RELEASE_MIN_FRAMES = 4096
"""Shorter chains are dropped where they are (not worth a thread)."""
_OWNED_REFS = 3
"""References to a frame that only its predecessor holds, as ``sys.getrefcount`` sees it while
the walk looks at it: the predecessor's ``next``, the walk's variable, the call's argument."""


def release_in_background(frame: Any) -> None:
    """Free the chain of frames from ``frame`` (linked by ``next``) off the caller's thread, in
    pieces. The caller must drop its own references right after (the machine's register)."""
    if frame is None:
        return
    probe, length = frame, 0
    while probe is not None and length < RELEASE_MIN_FRAMES:
        probe = getattr(probe, "next", None)
        length += 1
    probe = None
    if length < RELEASE_MIN_FRAMES:
        return
    holder = [frame]
    frame = None
    threading.Thread(target=_free_in_pieces, args=(holder,), name="omega-release", daemon=True).start()


def _free_in_pieces(holder: list[Any]) -> None:
    """Walk the chain, cutting it after every ``RELEASE_SLICE`` frames that nothing else holds
    and freeing what is above the cut. A frame held from elsewhere (a captured continuation, a
    stored state) ends the walk: it and what it reaches stay alive anyway."""
    frame = holder.pop()
    while frame is not None:
        head = frame
        last = frame
        for _ in range(RELEASE_SLICE):
            following = getattr(last, "next", None)
            if following is None or sys.getrefcount(following) > _OWNED_REFS:
                following = None
                head = frame = last = None  # the rest is shared or ends here: drop it as it is
                return
            last = following
            following = None
        frame = last.next
        last.next = None  # cut: ``head`` to ``last`` is a piece of RELEASE_SLICE + 1 frames
        head = last = None
