"""Dropping a huge continuation or huge values without stalling everyone else.

A command stopped at depth (an endless non-tail recursion hitting its budget, an interrupt) leaves
a chain of millions of frames; one stopped while doubling a list leaves a list of millions of
pairs. Dropping the last reference frees the whole structure in one C-level cascade that holds the
GIL for as long as it takes (a 3.46 s ping was measured for a stack, 1.3 s for an 8-million-pair
list). ``release_registers`` hands the machine's registers to a thread that takes them apart:

- a chain (frames linked by ``next``, pairs linked by ``cdr``) is cut into pieces of
  ``RELEASE_SLICE`` links, each freed on its own (about a millisecond);
- any other object is freed one at a time: what it holds is taken first (``gc.get_referents``),
  so freeing it frees nothing else.

Between pieces the thread runs bytecode, so the loop gets the GIL back (the backend's switch
interval is short: ``server.collector``). It also rests (``_Pacer``): after ``RELEASE_RUN_S`` of
work it sleeps ``RELEASE_REST_S``, so it takes at most about half the GIL. Without the rests a
release of a 512 MB list (1.4 s of CPU) competed for the GIL with the loop as an equal: every
request waited behind it at each GIL hand-over, and another client's ping read p99 10-13 ms
(median 1.0 -> 2.8 ms) for the seconds it ran. Only objects that nothing else holds are taken apart,
which ``sys.getrefcount`` tells exactly: anything shared (a global's value, a captured
continuation, a compiled node, a stored state) stays as it is and ends the walk there, and since
nobody else can reach an object only the thread holds, changing it (cutting a chain) is invisible.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any, Callable

from omega_core.lang.values import UNSPECIFIED, Pair

RELEASE_SLICE = 2048
"""Links freed per piece of a chain (about a millisecond)."""
RELEASE_RUN_S = 0.001
"""The release thread works this long between rests (``_Pacer``)."""
RELEASE_REST_S = 0.002
"""... and then sleeps this long, holding no GIL: the loop runs unhindered meanwhile."""
RELEASE_PACE_ITEMS = 256
"""Objects taken apart one by one (``_take_apart``) between looks at the clock."""
_ONLY_OURS = 2
"""``sys.getrefcount`` of an object that only the walk holds: its variable and the call's argument."""
_HELD_BY_LINK = 3
"""... of an object held by one link of an object being taken apart, plus the walk's variable
and the call's argument: nobody else holds it."""
_ATOMS = (int, float, str, bool, bytes, type(None))
_running = 0
_running_lock = threading.Lock()


def releases_running() -> int:
    """Release threads at work now: while one runs, the heap still holds what it frees (a host
    waits with its full garbage collection, which would walk all of it: ``server.collector``)."""
    return _running


def release_registers(machine: Any) -> None:
    """Take the registers of a stopped command (its continuation, environment, value, choice
    points, effect arguments) out of ``machine`` and free them off the caller's thread, in pieces.
    Taken out here, before the thread starts: a register still set when the thread looks would
    count as held elsewhere (and be left to a cascade on the caller's thread)."""
    roots = [machine.k, machine.env, machine.value, machine.choices, machine.effect_args, machine.node]
    machine.k = machine.env = machine.choices = machine.node = None  # a node may be a copy in progress
    machine.value = UNSPECIFIED
    machine.effect_args = []
    release_in_background(roots)


def release_session_values(capture_encoder: Any, global_table: dict[str, Any], roots: list[Any]) -> threading.Thread | None:
    """Free an unloaded session's values off the caller's thread, in pieces. First every entry of
    its capture table (``capture_encoder.addr`` holds each captured object; dropped at once, it
    was one C call of 0.76 s for a session holding four million pairs), referrers first so each
    entry's object is freed alone; then its globals one by one onto the stack (the table dropped
    whole frees a global list in one cascade), then ``roots`` (its machine ...). As
    ``release_in_background``, the caller holds no other reference to them."""

    def empty_tables() -> list[Any]:
        for _ in capture_encoder.prune_steps(RELEASE_RUN_S, forget_all=True):
            time.sleep(RELEASE_REST_S)
        pacer = _Pacer()
        values: list[Any] = []
        while global_table:
            values.append(global_table.popitem()[1])
            if len(values) % RELEASE_PACE_ITEMS == 0:
                pacer.tick()
        return values

    return release_in_background(roots, first=empty_tables)


def release_in_background(roots: list[Any], first: Callable[[], list[Any]] | None = None) -> threading.Thread | None:
    """Free the objects in ``roots`` (and what only they hold) off the caller's thread, in pieces,
    with the objects ``first()`` returns (run there first), if given. The list is emptied; the
    caller must hold no other reference to them (objects held elsewhere are simply left alone).
    Returns the thread (None: nothing to do)."""
    holder = [root for root in roots if root is not None and type(root) not in _ATOMS]
    roots.clear()
    if not holder and first is None:
        return None
    global _running
    with _running_lock:
        _running += 1
    thread = threading.Thread(target=_counted, args=(holder, first), name="omega-release", daemon=True)
    thread.start()
    return thread


def _counted(stack: list[Any], first: Callable[[], list[Any]] | None) -> None:
    global _running
    try:
        if first is not None:
            more = first()
            first = None
            stack.extend(more)
            more.clear()
        _take_apart(stack)
    finally:
        with _running_lock:
            _running -= 1


class _Pacer:
    """Rests the release thread after each ``RELEASE_RUN_S`` of work (see the module's text)."""

    __slots__ = ("_since",)

    def __init__(self) -> None:
        self._since = time.perf_counter()

    def tick(self) -> None:
        if time.perf_counter() - self._since >= RELEASE_RUN_S:
            time.sleep(RELEASE_REST_S)
            self._since = time.perf_counter()


def _take_apart(stack: list[Any]) -> None:
    """Free what ``stack`` holds, one piece at a time (the thread's only job)."""
    pacer = _Pacer()
    items = 0
    while stack:
        items += 1
        if items % RELEASE_PACE_ITEMS == 0:
            pacer.tick()
        item = stack.pop()
        if sys.getrefcount(item) > _ONLY_OURS:
            continue  # held elsewhere: dropping our reference frees nothing
        if type(item) is Pair:
            _free_pairs(item, stack, pacer)
        elif getattr(item, "next", None) is not None and hasattr(type(item), "FIELDS"):
            _free_frames(item, stack, pacer)
        elif type(item) is list and len(item) > RELEASE_SLICE:
            # a long list (the parse of a records line: four million items) a slice at a time:
            # its referents listed at once were one call of some 80 ms
            tail = item[-RELEASE_SLICE:]
            del item[-RELEASE_SLICE:]
            stack.append(item)  # the rest, taken up again once this slice is freed
            stack.extend(part for part in tail if type(part) not in _ATOMS)
            tail = None
        elif gc.is_tracked(item):
            stack.extend(part for part in gc.get_referents(item) if type(part) not in _ATOMS)
        item = None  # freed here: what it held is on the stack (or shared)


def _free_pairs(head: Any, stack: list[Any], pacer: _Pacer) -> None:
    """Free a list of pairs only we hold, ``RELEASE_SLICE`` pairs at a time. A pair held from
    elsewhere ends the walk (it and what follows stay alive); an element that is itself a
    structure only this list holds goes on the stack, so freeing its pair frees nothing more."""
    while head is not None:
        last = head
        for _ in range(RELEASE_SLICE):
            element = last.car
            if type(element) not in _ATOMS and sys.getrefcount(element) == _HELD_BY_LINK:
                stack.append(element)
            element = None
            following = last.cdr
            if type(following) is not Pair or sys.getrefcount(following) > _HELD_BY_LINK:
                if type(following) not in _ATOMS and sys.getrefcount(following) == _HELD_BY_LINK:
                    stack.append(following)  # an improper tail only we hold
                following = None
                head = last = None  # the rest is shared or ends here: this piece is freed as it is
                return
            last = following
            following = None
        rest = last.cdr
        last.cdr = None  # cut: ``head`` to ``last`` is a piece of RELEASE_SLICE + 1 pairs
        head = last = None
        head = rest
        rest = None
        pacer.tick()


def _free_frames(frame: Any, stack: list[Any], pacer: _Pacer) -> None:
    """Free a chain of frames only we hold (linked by ``next``), ``RELEASE_SLICE`` at a time. A
    frame's field that only it holds and that may be big (its environment, a list) goes on the
    stack first, so freeing the frame frees nothing more. A frame held from elsewhere (a captured
    continuation, a stored state) ends the walk."""
    while frame is not None:
        head = frame
        last = frame
        for _ in range(RELEASE_SLICE):
            _keep_fields(last, stack)
            following = getattr(last, "next", None)
            if following is None or sys.getrefcount(following) > _HELD_BY_LINK:
                following = None
                head = frame = last = None  # the rest is shared or ends here: drop it as it is
                return
            last = following
            following = None
        frame = last.next
        last.next = None  # cut: ``head`` to ``last`` is a piece of RELEASE_SLICE + 1 frames
        head = last = None
        pacer.tick()


_HOLDERS = (list, tuple, Pair)
"""Fields of a frame that may hold a big structure: its environment (a list), the values of a
call's evaluated operands (a tuple), a list."""


def _keep_fields(frame: Any, stack: list[Any]) -> None:
    """Put the environment, operand and list fields that only ``frame`` holds on the stack."""
    for name in type(frame).FIELDS:
        value = getattr(frame, name, None)
        if type(value) in _HOLDERS and sys.getrefcount(value) == _HELD_BY_LINK:
            stack.append(value)
        value = None
