"""The cyclic garbage collector paused while the app starts, and what the start built frozen.

Why: starting the app (Textual's imports, the CSS, the first screen's widgets) makes some 60,000
objects that live as long as the app, and almost no garbage. With the collector on, it walks that
growing heap over and over for nothing: before the first frame, about 130 young, 12 middle and one
full collection (the full one alone 25-55 ms on a loaded machine), against a budget of 0.3 s from
launch to an input that takes keys (issue 12).

A pause alone does not save that work: every object made meanwhile waits in the youngest
generation, and the first collection after the pause walks them all (and moves them on to be walked
again). So each pause ends with ``gc.freeze``: what is alive then moves to the permanent generation,
which no collection walks. The app pauses the collector for its own imports (modules live for ever;
``omega`` pauses it around its imports too, but a process that imports the app directly, such as
``bench/tui.py``, gains the same) and from its ``Load`` event to its first frame; after that, full
collections walk only what was made since the start, not the start-up heap (tens of milliseconds on
the UI thread each: a late frame after some Enter). What the start left as cyclic garbage (about
2,000 objects, measured) is frozen with it: a bounded, one-time cost, cheaper than a full
collection (50-90 ms) right when the user starts typing. Only the first start of a process freezes
(``first_start``): tests run many apps in one process, and what a closed app left must stay
collectable.
"""

from __future__ import annotations

import gc


_started_once = False


def first_start() -> bool:
    """True the first time it is asked in this process (the app's first start freezes; later ones,
    in tests, do not)."""
    global _started_once
    first, _started_once = not _started_once, True
    return first


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
        """``freeze``: move every object alive now out of the collector's reach (see the module
        docstring; also when the caller had turned it off, as ``omega`` does around its imports);
        then turn the collector back on if this pause turned it off."""
        if freeze:
            gc.freeze()
        if self._paused:
            self._paused = False
            gc.enable()
