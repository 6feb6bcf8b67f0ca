"""What the next capture of a machine would write, counted before deciding to capture it.

A periodic checkpoint after a command built a long list would write one record per new pair
(about 10 us each): ``CheckpointStates.propose_capture`` first counts the objects the capture would
write, up to an allowance, and declines the capture past it. Counting walks only objects the
session's ``SharedEncoder`` has not addressed yet, from the roots a capture starts at, with an
explicit work list (no recursion), so it costs a small part of what the capture would.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang import frames as fr
from omega_core.lang.builtins import is_builtin_value
from omega_core.lang.serialize import _REGISTERS
from omega_core.lang.serialize_shared import SharedEncoder
from omega_core.lang.shared_records import (
    _CATEGORY,
    _CLOSURE,
    _FRAME_FIELDS,
    _REF,
    BOX_MIN_CHARS,
    FRAME_ENV_AT,
    _categorize,
)
from omega_core.lang.values import Closure, Continuation, HashTable, OracleProc, Pair, Promise, Symbol

VISITS_PER_COUNTED = 2
"""How many items of the work list one ``walk_new_objects`` call may take per object it may count."""


def new_object_roots(encoder: SharedEncoder, machine: Any) -> list[Any]:
    """Where the next capture of ``machine`` starts encoding: its registers, the values of
    the globals changed since the last capture (all user globals before the first one) and
    the objects mutated in place (they are written again, with whatever new they reach)."""
    roots: list[Any] = [getattr(machine, name) for name in _REGISTERS if name != "effect_args"]
    roots.append(tuple(machine.effect_args))
    table = machine.globals
    if encoder.fresh:
        roots.extend(value for name, value in table.items() if not is_builtin_value(name, value))
    else:
        roots.extend(table[name] for name in table.dirty if name in table)
        roots.extend(table.dirty_objects.values())
    return roots


def walk_new_objects(encoder: SharedEncoder, work: list[Any], seen: set[int], count: int) -> tuple[int, bool]:
    """Count objects the next capture would write as records (not yet addressed, reached
    from ``work``), at most ``count`` of them: (counted, whether the walk is finished).
    ``work`` and ``seen`` carry the walk over between calls (the caller walks in slices).
    What a capture would cost, found for a small part of that cost: a capture after a
    command built a long list writes one record per pair (about 10 us each), which a
    periodic capture may decline (``CheckpointStates.propose_capture``). An environment
    first reached by a frame is written inside the frame's record, so it is not counted,
    as encoding does not write it as a record of its own. Explicit work list: no recursion.

    One call also stops after ``VISITS_PER_COUNTED`` times ``count`` items taken from ``work``:
    a deep stack's frames are counted once each, but their fields (numbers, None, code) are
    visited too, and one call of 4,096 counted frames held the server's loop for 10-35 ms. The
    count the caller adds up is the same (``finished`` is False while ``work`` has items left),
    so whether the capture is taken does not change."""
    shards = encoder.addr.shards  # looked up as address_table.AddressTable.get does, without the call
    counted = 0
    visits_left = VISITS_PER_COUNTED * count
    while work and counted < count and visits_left > 0:
        visits_left -= 1
        obj = work.pop()
        kind = type(obj)
        if kind is Pair:  # down a list's spine in one loop: the common case, kept cheap
            while True:
                key = id(obj)
                if key in seen:
                    break
                seen.add(key)
                entry = shards[key >> 4 & 8191].get(key)
                if entry is not None and entry[2] is obj:
                    break
                counted += 1
                car = obj.car
                if type(car) is not int and car is not None and type(car) is not Symbol:
                    work.append(car)
                obj = obj.cdr
                if type(obj) is not Pair or counted >= count:
                    work.append(obj)
                    break
            continue
        if kind is int or kind is bool or obj is None or kind is float or kind is Symbol:
            continue
        if kind is str:
            key = id(obj)
            if len(obj) >= BOX_MIN_CHARS and key not in seen:
                seen.add(key)
                entry = shards[key >> 4 & 8191].get(key)
                counted += entry is None or entry[2] is not obj
            continue
        if kind is tuple:
            work.extend(obj)
            continue
        category = _CATEGORY.get(kind)
        if category is None:
            category = _categorize(kind)
        if category != _REF and category != _CLOSURE:
            continue
        if category == _CLOSURE and obj.builtin_name is not None and is_builtin_value(obj.builtin_name, obj):
            continue
        key = id(obj)
        if key in seen:
            continue
        seen.add(key)
        entry = shards[key >> 4 & 8191].get(key)
        if entry is not None and entry[2] is obj:
            continue  # written already: what it reaches was written with it (or is a root)
        getter = _FRAME_FIELDS.get(kind)
        if getter is not None:
            counted += 1
            fields = getter(obj)
            env_at = FRAME_ENV_AT[kind]
            if env_at >= 0 and type(fields[env_at]) is list and id(fields[env_at]) not in seen:
                env = fields[env_at]  # written inside this frame's record
                entry = encoder.addr.get(id(env))
                if entry is None or entry[2] is not env:
                    seen.add(id(env))
                    work.extend(env)
            work.append(obj.next)
            work.extend(fields)
            continue
        counted += 1
        if kind is Pair:
            work.append(obj.cdr)
            work.append(obj.car)
        elif kind is list:
            work.extend(obj)
        elif kind is Closure or kind is OracleProc:
            work.append(obj.env)
        elif kind is Promise:
            work.extend((obj.env, obj.thunk, obj.value))
        elif kind is HashTable:
            work.extend(obj.keys.values())
            work.extend(obj.table.values())
        elif kind is Continuation:
            work.append(obj.frames)
        elif kind is fr.ChoicePoint:
            work.extend(getattr(obj, name) for name in fr.ChoicePoint.FIELDS)
    return counted, not work
