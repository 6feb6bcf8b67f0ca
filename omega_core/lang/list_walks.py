"""Primitives that walk a whole list or structure (``length``, ``list-ref``, ``equal?``), run in
pieces inside their one step.

Each is one step, as always (step counts are part of recorded sessions), but a list of millions of
pairs took that step a second or more (``(length l)`` of 4 million pairs: 1.1 s), and every other
client of the backend waited. Here each is a generator that yields after every ``WALK_PIECE``
items; the machine (``Machine.walk_piece``) ends its slice there, inside the step, its ``node``
register a ``WalkInProgress``, exactly as the list copy does (``list_copy``: the pieces count no
step, no state is ever captured inside a step, a stopped command drops the piece with its
registers). A short list never yields, and costs one generator more than a plain function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator

from omega_core.lang.primitives import _checks as check
from omega_core.lang.primitives.lists import _out_of_range
from omega_core.lang.values import NIL, Pair, is_eqv

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.lang.machine import Machine

WALK_PIECE = 8_192
"""Pairs (or compared items) walked between two turns of the host: about a millisecond."""

Walk = Generator[None, None, Any]
"""A walk: yields between pieces, returns the primitive's value."""


class WalkInProgress:
    """The ``node`` register while a walking primitive's step is between two pieces: dispatched
    like a node, it walks the next piece. Never captured (see ``list_copy``)."""

    __slots__ = ("walk",)

    def __init__(self, walk: Walk) -> None:
        self.walk = walk

    def ev(self, machine: "Machine") -> None:
        machine.walk_piece(self.walk)


def length_walk(lst: Any) -> Walk:
    count = 0
    current = lst
    while True:
        for _ in range(WALK_PIECE):
            if type(current) is not Pair:
                if current is not NIL:
                    raise check.type_error("length", "a proper list", lst)
                return count
            count += 1
            current = current.cdr
        yield


def _drop_walk(who: str, lst: Any, n: Any) -> Walk:
    """The list after its first ``n`` pairs; a short list is an index error with its length."""
    count = check.index(who, n)
    current = lst
    left = count
    while left:
        for _ in range(min(left, WALK_PIECE)):
            if type(current) is not Pair:
                if current is not NIL:
                    raise check.type_error(who, "a proper list", lst)
                raise _out_of_range(who, count, lst)
            current = current.cdr
        left -= min(left, WALK_PIECE)
        if left:
            yield
    return current


def list_ref_walk(lst: Any, n: Any) -> Walk:
    rest = yield from _drop_walk("list-ref", lst, n)
    if type(rest) is not Pair:
        if rest is not NIL:
            raise check.type_error("list-ref", "a proper list", lst)
        raise _out_of_range("list-ref", n, lst)
    return rest.car


def equal_walk(a: Any, b: Any) -> Walk:
    """``equal?``: lists element by element, atoms as ``eqv?`` (an explicit stack: any depth)."""
    pending = [(a, b)]
    while pending:
        for _ in range(WALK_PIECE):
            if not pending:
                return True
            x, y = pending.pop()
            if type(x) is Pair and type(y) is Pair:
                if x is y:  # the same list: equal, whatever it holds (no need to walk it)
                    continue
                pending.append((x.cdr, y.cdr))
                pending.append((x.car, y.car))
            elif not is_eqv(x, y):
                return False
        yield
    return True


WALKS = {"length": length_walk, "list-ref": list_ref_walk, "equal?": equal_walk}
"""The walking primitives by name (``MachinePrimitive`` op ``walk``): their plain functions in
``primitives`` stay for the host's own use (``length`` in error messages)."""

