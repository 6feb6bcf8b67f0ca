"""Generated step code with the values it was made for as constants, not closure cells.

Why: the code ``fastcall.py`` and ``fused.py`` generate is one template per shape; each node's
function is made by calling the template's factory with that node's values (its operands, the
lambda written in, the primitives checked ...), which the function then reads from closure cells.
CPython 3.11 copies every cell of a function into its frame at each call (``COPY_FREE_VARS``: a
reference count taken) and drops them at its return: ``(+ (fib ...) (fib ...))``'s code reads 28
of them, about 5% of ``fib``'s instructions. A constant costs nothing per call.

How: ``with_constants`` rewrites a copy of the function's code object: each ``LOAD_DEREF`` of a
free variable becomes a ``LOAD_CONST`` of its cell's value, appended to the code's constants, the
``COPY_FREE_VARS`` at its start a ``NOP``; the instructions keep their sizes and places, so the
exception table and line table stay right. Each node then has its own code object (their
adaptive specialisation no longer shared with other nodes of the shape).

Why it is exact: the cells are never written after the factory returned (the generated code
assigns none: a ``STORE_DEREF`` would make the function be left as it is), so a constant holds
what the cell held at every read; mutable values (the global cache's list) are the same object.
Any bytecode this does not know (another Python version, a cell variable, a free variable read
through an ``EXTENDED_ARG``)
leaves the function unchanged: the same behaviour, only the cells' cost.
"""

from __future__ import annotations

import dis
import sys
import types
from typing import Any, Callable

_SUPPORTED = sys.version_info[:2] == (3, 11)
_LOAD_DEREF = dis.opmap.get("LOAD_DEREF")
_LOAD_CONST = dis.opmap["LOAD_CONST"]
_COPY_FREE_VARS = dis.opmap.get("COPY_FREE_VARS")
_NOP = dis.opmap["NOP"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_UNKNOWN = frozenset(dis.opmap[name] for name in ("STORE_DEREF", "DELETE_DEREF", "LOAD_CLOSURE",
                                                  "LOAD_CLASSDEREF", "MAKE_CELL") if name in dis.opmap)
"""Instructions after which the rewrite is not sure of its reading: the function is kept."""


_REWRITTEN: dict[int, tuple[types.CodeType, bytes | None]] = {}
"""By ``id`` of a template's code object (kept, so the ``id`` stays its own): its instructions
rewritten, or None when they cannot be. Every function a factory makes shares its code object:
the instructions are read once per template, each node's copy differs only in its constants."""


def _at(raw: bytearray, operation: int | None) -> list[int]:
    """The offsets of the instructions ``operation`` in ``raw`` (instructions start at even
    offsets; an odd one is an argument that happens to have that value). Searched in C: a loop
    over every instruction in Python took a millisecond per template."""
    found: list[int] = []
    if operation is None:
        return found
    at = raw.find(operation)
    while at != -1:
        if at % 2 == 0:
            found.append(at)
        at = raw.find(operation, at + 1)
    return found


def _rewritten(code: types.CodeType, cells: int) -> bytes | None:
    """``code``'s instructions with each read of its ``cells`` free variables a ``LOAD_CONST`` of
    constant ``len(co_consts) + i``, or None when its bytecode is not as expected."""
    base = len(code.co_consts)
    if code.co_cellvars or len(code.co_freevars) != cells or base + cells > 256:  # an argument fits a byte
        return None
    raw = bytearray(code.co_code)
    if any(_at(raw, operation) for operation in _UNKNOWN):
        return None
    first_free = code.co_nlocals  # localsplus: the locals, then (no cell variables) the free variables
    for at in _at(raw, _LOAD_DEREF):
        index = raw[at + 1] - first_free
        if not 0 <= index < cells or (at >= 2 and raw[at - 2] == _EXTENDED_ARG):
            return None  # not a free variable, or one past the 256th local
        raw[at], raw[at + 1] = _LOAD_CONST, base + index
    for at in _at(raw, _COPY_FREE_VARS):
        raw[at], raw[at + 1] = _NOP, 0
    return bytes(raw)


def with_constants(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (generated, its free variables all read-only cells) with each free variable
    read as a constant; ``function`` itself when it has none or its code is not as expected."""
    code = function.__code__
    closure = function.__closure__
    if not _SUPPORTED or not closure:
        return function
    known = _REWRITTEN.get(id(code))
    if known is None or known[0] is not code:
        known = _REWRITTEN[id(code)] = (code, _rewritten(code, len(closure)))
    instructions = known[1]
    if instructions is None:
        return function
    constants = code.co_consts + tuple(cell.cell_contents for cell in closure)
    rewritten = code.replace(co_code=instructions, co_consts=constants, co_freevars=())
    return types.FunctionType(rewritten, function.__globals__, function.__name__, function.__defaults__)


SHARED_UNIT_PREFIX = "prelude:"
"""Units whose nodes get the rewrite: the prelude's, compiled once per process and shared by every
session (``builtins``). Each rewritten function is a code object of its own, about 11 KB per user
function of a few nodes (3,000 small functions run once: 37 -> 71 MB traced): for user code, which
a session may hold by the thousand, that memory is not worth the few percent; the prelude's
``map``, ``filter``, ``fold-left``, ``append`` ... keep it, a fixed few hundred KB."""


def constant_factory(factory: Callable[..., Callable[..., Any]]) -> Callable[..., Callable[..., Any]]:
    """``factory`` (a generated template's: the node, then values -> step function) whose
    functions read their values as constants (``with_constants``) when the node is the prelude's."""

    def make(*values: Any) -> Callable[..., Any]:
        function = factory(*values)
        unit = getattr(values[0], "unit", None) if values else None
        if unit is None or not unit.unit_id.startswith(SHARED_UNIT_PREFIX):
            return function
        return with_constants(function)

    return make
