"""Objects decoded by one restore of shared states, handed to the next ones (``DecodeCache``).

Only objects no program can change are shared between machines: pairs (there is no ``set-car!``),
strings, closures and oracle procedures of the top level (no environment), when everything they
reach is such an object too (``immutable_graph``). Everything else (environments, hash tables,
promises, continuations, frames, and whatever reaches one) is decoded afresh by every restore, so
running one restored machine never changes another.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable
from typing import Any, Protocol

from omega_core.lang.values import (
    NIL,
    UNASSIGNED,
    UNSPECIFIED,
    Closure,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    Symbol,
)


class LineAddressedReader(Protocol):
    """A ``restore_shared.StoreReader`` that can also name a capture's lines for good: ``line_of(c)``
    is a hashable identity of capture ``c``'s stored lines that changes whenever their bytes do
    (``replay_sidecar_read``: their byte offset and CRC-32), or None for a capture that cannot be
    named so (not stored yet). What a ``DecodeCache`` keys its objects by."""

    def line_of(self, capture: int) -> "Hashable | None": ...


DECODE_CACHE_OBJECTS = 200_000
"""Objects a ``DecodeCache`` keeps (the first kept dropped first): at ~150 bytes an entry,
about 30 MB at most; a goto's restore of a typical state finds all but its new objects there."""

_LEAF_TYPES: frozenset[type] = frozenset({int, float, bool, str, type(None), Symbol, type(NIL), type(UNSPECIFIED),
                                          type(UNASSIGNED), Primitive, MachinePrimitive})
"""Values nothing can change and that every machine shares already (numbers, strings, symbols,
constants, the primitives, which are one table for the whole process)."""


class DecodeCache:
    """Objects decoded from one append-only store, handed to every later restore from it.

    A restore decodes every live object of its state, even those the previous restore already
    decoded (a goto to a nearby seq shares almost all of them). Only objects no program can change
    are kept: pairs (there is no ``set-car!``), strings, and closures or oracle procedures of the
    top level (no environment), when everything they reach is such an object too. Environments,
    hash tables, promises, continuations and frames change as the machine runs, so each restore
    gets its own copy of those, and of anything that reaches one. Keys are (identity of the
    capture's lines, ``LineAddressedReader.line_of``; position of the record in them): the same
    bytes always decode to the same objects, whatever process wrote them.
    """

    def __init__(self, max_objects: int = DECODE_CACHE_OBJECTS) -> None:
        self.max_objects = max_objects
        self._objects: dict[tuple[Hashable, int], Any] = {}
        self._lock = threading.Lock()
        self.hits = 0
        """Objects handed out from here (tests and benches read it)."""

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: tuple[Hashable, int]) -> Any:
        """The object at ``key``, or None (one dict read: restores look up every object)."""
        obj = self._objects.get(key)
        if obj is not None:
            self.hits += 1
        return obj

    def put(self, entries: list[tuple[tuple[Hashable, int], Any]]) -> None:
        """Keep ``entries``; the oldest kept go first past the bound (first in, first out: a
        lookup costs no bookkeeping)."""
        with self._lock:
            objects = self._objects
            for key, obj in entries:
                objects[key] = obj
            excess = len(objects) - self.max_objects
            if excess > 0:
                for key in list(itertools.islice(objects, excess)):
                    del objects[key]

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()


def immutable_children(obj: Any) -> tuple[Any, ...] | None:
    """What ``obj`` refers to, if ``obj`` itself can never change; None if it can (or is unknown)."""
    kind = type(obj)
    if kind is Pair:
        return (obj.car, obj.cdr)
    if kind is Closure or kind is OracleProc:
        return () if obj.env is None else None  # its code (compiled nodes) is never changed
    return None


def immutable_graph(root: Any, verdicts: dict[int, bool]) -> bool:
    """Whether nothing reachable from ``root`` can change (a work list: lists of any length)."""
    stack = [root]
    visiting: set[int] = set()
    while stack:
        obj = stack[-1]
        key = id(obj)
        if key in verdicts:
            stack.pop()
            continue
        children = immutable_children(obj)
        if children is None:
            verdicts[key] = False
            stack.pop()
            continue
        waiting = [child for child in children
                   if type(child) not in _LEAF_TYPES and id(child) not in verdicts]
        if waiting and key not in visiting:
            visiting.add(key)
            stack.extend(waiting)
            continue
        verdicts[key] = all(type(child) in _LEAF_TYPES or verdicts.get(id(child), False) for child in children)
        stack.pop()
    return verdicts[id(root)]
