"""Long steps let other sessions run meanwhile: the turns a primitive's loop gives away.

A few primitives do work proportional to their data in one step: walking a list (``length``,
``list?``, ``member``, ``assoc``, ``list-ref``, ``last``, ``equal?``, ``apply``'s spread),
building one (``take``, ``string-split``, ``hash-keys``, ``list``), printing one (``display``).
A step is the machine's unit (step counts are recorded and replayed to), so it cannot be cut; on a
list of millions of pairs it lasts a second or more. The server runs slices in one thread
(``server.machine_thread``), so the event loop stays free meanwhile, but every other session's
slices would wait for that step.

So such loops call ``take_turn()`` every ``TURN_EVERY`` elements (about a millisecond of work),
and the host may run other sessions' waiting slices right there, in the middle of the long step
(``MachineThread.lend_turn``; a slice only touches its own session's machine, and the one whose
step is paused is not touched: its command waits for its own slice). Outside the server's
machine thread (a batch run, a replay in a worker thread) a turn costs one attribute read.
"""

from __future__ import annotations

from typing import Callable

TURN_EVERY = 8192
"""Elements a long loop handles between two turns: 1 to 4 ms of walking a list in a backend whose
heap is full (each pair a cache miss), a few hundred microseconds otherwise."""


class _Turns:
    __slots__ = ("hook",)

    def __init__(self) -> None:
        self.hook: Callable[[], None] | None = None


_turns = _Turns()


def install(hook: Callable[[], None] | None) -> None:
    """Set what a turn does (the server's machine thread; ``None``: nothing)."""
    _turns.hook = hook


def take_turn() -> None:
    """Called by a long loop every ``TURN_EVERY`` elements: let the host run others' work now."""
    hook = _turns.hook
    if hook is not None:
        hook()
