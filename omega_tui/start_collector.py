"""The cyclic garbage collector paused while the app starts, and what the start built frozen.

Why: starting the app (Textual's imports, the CSS, the first screen's widgets) makes some 90,000
objects that live as long as the app, and almost no garbage. With the collector on, it walks that
growing heap over and over for nothing: before the first frame, 129 young, 12 middle and one full
collection, 60-130 ms of CPU on a loaded machine, against a budget of 0.3 s from launch to an input
that takes keys (issue 12). ``omega`` (``cli``) pauses it around its imports already; the app also
pauses it for its own imports (``pause_now``, so a process that imports the app directly, such as
``bench/tui.py``, gains the same) and from its ``Load`` event to its first frame.

At the first frame ``resume(freeze=True)`` moves every object alive then to the permanent
generation (``gc.freeze``) before the collector starts again, so later full collections walk only
what was made since: without it each one walks the whole start-up heap on the UI thread (tens of
milliseconds: a late frame after some Enter). What the start left as cyclic garbage (about 2,000
objects, measured) is frozen with it: a bounded, one-time cost, cheaper than a full collection
(50-90 ms) right when the user starts typing.
"""

from __future__ import annotations

import gc


_frozen_once = False
"""Set by the first ``resume(freeze=True)`` of the process: later app starts in the same process
(tests run many) freeze nothing more, so what closed apps left is collected as usual."""


class CollectorPause:
    """One pause of the collector: ``resume`` turns it back on only if this pause turned it off."""

    def __init__(self) -> None:
        self._paused = False

    @classmethod
    def pause_now(cls) -> CollectorPause:
        pause = cls()
        pause.pause()
        return pause

    def pause(self) -> None:
        """Turn the collector off (if it is on; a caller that turned it off keeps it off)."""
        if not self._paused and gc.isenabled():
            gc.disable()
            self._paused = True

    @property
    def paused(self) -> bool:
        return self._paused

    def resume(self, freeze: bool = False) -> None:
        """Turn the collector back on if this pause turned it off; ``freeze``: first move every
        object alive now out of its reach (see the module docstring)."""
        if not self._paused:
            return
        self._paused = False
        global _frozen_once
        if freeze and not _frozen_once:
            _frozen_once = True
            gc.freeze()
        gc.enable()
