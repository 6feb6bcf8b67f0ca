"""The list copy under ``append`` and ``reverse`` (``%reverse-onto``), in pieces shorter than a step.

One ``%reverse-onto`` step moves up to ``REVERSE_CHUNK_PAIRS`` pairs: that number sets the step
counts of ``append`` and ``reverse``, which recorded sessions replay to, so it stays. But 16,384
pairs take 4-7 ms here, and 10-20 ms in a backend whose heap a list bomb filled (each pair read is
a cache miss): every other client waited that long for each step of a list doubling. So a step is
cut into pieces of ``REVERSE_PIECE_PAIRS``; after each piece but the last the machine ends its
slice *inside* the step, its ``node`` register a ``ReverseInProgress`` holding where the copy is.

Such a point is never a step boundary, and only step boundaries are ever seen from outside:
- it is counted as no step (the dispatch that stops there gives its step back), so every step
  count, and every slice end a step count asks for, is what it was;
- a host captures states only at step counts it asked for (``SessionRecorder``), which a
  piece never reaches: the step ends, and is counted, in a later slice;
- a host stopping the command (budget, interrupt) drops the registers, the piece included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_core.lang import budgets
from omega_core.lang.values import NIL, Pair, Symbol

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.lang.machine import Machine

REVERSE_CHUNK_PAIRS = 16_384
"""Pairs one ``%reverse-onto`` step copies. It stays at 16,384 although the step is long: the chunk
sets the step count of ``append``/``reverse``, and step counts are part of every recorded session
(periodic checkpoints, a goto's replay to a step), so changing it would make old logs replay to
other points. ``REVERSE_PIECE_PAIRS`` is what bounds the time the machine keeps the host."""

REVERSE_PIECE_PAIRS = 2_048
"""Pairs copied before the machine gives the host a turn inside a step: under a millisecond on a
loaded machine. A power of two dividing ``REVERSE_CHUNK_PAIRS``."""


class ReverseInProgress:
    """The ``node`` register while a ``%reverse-onto`` step is between two pieces: dispatched like
    a node, it copies the next piece. Never captured (see the module's docstring)."""

    __slots__ = ("who", "original", "current", "acc", "copied")

    def __init__(self, who: Any, original: Any, current: Any, acc: Any, copied: int) -> None:
        self.who = who
        self.original = original
        self.current = current
        self.acc = acc
        self.copied = copied

    def ev(self, machine: "Machine") -> None:
        machine.reverse_piece(self.who, self.original, self.current, self.acc, self.copied)


def copy_piece(machine: "Machine", who: Any, original: Any, current: Any, acc: Any, copied: int) -> bool:
    """Move the next piece of ``current`` onto ``acc`` for the step that has ``copied`` pairs
    copied. Returns True when the machine must end its slice now: inside the step (its ``node`` a
    ``ReverseInProgress``; the caller gives the dispatch's step back), or at the end of a full
    chunk (``value`` set; the next slice goes on from there)."""
    room = min(REVERSE_PIECE_PAIRS, REVERSE_CHUNK_PAIRS - copied)
    moved = room
    new_pair = object.__new__  # a pair without its ``__init__`` call: a fifth of the copy's time
    for index in range(room):
        if type(current) is not Pair:
            moved = index
            break
        pair = new_pair(Pair)
        pair.car = current.car
        pair.cdr = acc
        acc = pair
        current = current.cdr
    copied += moved
    name = who.name if type(who) is Symbol else str(who)
    if type(current) is not Pair and current is not NIL:
        from omega_core.lang.primitives._checks import type_error  # error path only

        raise type_error(name, "a proper list", original)
    if moved == room and copied < REVERSE_CHUNK_PAIRS and current is not NIL:
        machine.node = ReverseInProgress(who, original, current, acc, copied)
        return True
    machine.value = Pair(current, acc)
    machine.node = None
    if copied == REVERSE_CHUNK_PAIRS:
        machine.reserve(budgets.list_bytes(copied), name)
        return True
    return False
