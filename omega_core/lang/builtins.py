"""The initial global environment: Python primitives, machine primitives and the Omega prelude.

The prelude (``prelude.omega``) is compiled and run once per process; its closures close over the
global scope only (env ``None``) and are immutable, so every new machine shares them through a
copy of one base table instead of re-running the prelude.
"""

from __future__ import annotations

import os
from typing import Any

from omega_core.errors import EvalError
from omega_core.lang.equality import hash_key
from omega_core.lang.nodes import Unit
from omega_core.lang.printer import display_string, short_string, write_string
from omega_core.lang.primitives import all_primitives
from omega_core.lang.values import (
    NIL,
    UNSPECIFIED,
    Closure,
    GlobalTable,
    MachinePrimitive,
    Pair,
    Primitive,
    Promise,
    Symbol,
    is_procedure,
    iter_list,
    list_to_python,
    make_list,
    sym,
    type_name,
)

MACHINE_PRIMITIVES = (
    MachinePrimitive("apply", "apply", 2, None),
    MachinePrimitive("call/cc", "callcc", 1, 1),
    MachinePrimitive("call-with-current-continuation", "callcc", 1, 1),
    MachinePrimitive("force", "force", 1, 1),
    MachinePrimitive("eval", "eval", 1, 1),
    MachinePrimitive("require", "require", 1, 1),
    MachinePrimitive("%reverse-onto", "reverse_onto", 4, 4),
)


def _display(m: Any, value: Any) -> Any:
    m.display(value)
    return UNSPECIFIED


def _newline(m: Any) -> Any:
    m.write_output("\n")
    return UNSPECIFIED


def _error(message: Any, *irritants: Any) -> Any:
    text = message.name + ":" if type(message) is Symbol else display_string(message)
    if irritants:
        text += " " + " ".join(write_string(item) for item in irritants)
    raise EvalError(text)


def _gensym(m: Any, prefix: Any = "g") -> Any:
    m.gensym_counter += 1
    base = prefix.name if type(prefix) is Symbol else display_string(prefix)
    return sym(f"{base}{m.gensym_counter}")


def _stream_cons(head: Any, thunk: Any) -> Any:
    if not is_procedure(thunk):
        raise EvalError(
            f"stream-cons: expected a procedure of no arguments for the tail, got {short_string(thunk)} "
            f"({type_name(thunk)}); use (stream-cons x (lambda () rest)) or (cons-stream x rest)"
        )
    return Pair(head, Promise(thunk=thunk))


def _who(who: Any) -> str:
    return who.name if type(who) is Symbol else str(who)


def _check_list(who: Any, value: Any) -> Any:
    current = value
    while type(current) is Pair:
        current = current.cdr
    if current is not NIL:
        raise EvalError(f"{_who(who)}: expected a list, got {short_string(value)} ({type_name(value)})")
    return value


def _check_lists(who: Any, lists: Any) -> Any:
    for item in iter_list(lists):
        _check_list(who, item)
    return lists


def _any_null(lists: Any) -> Any:
    return any(item is NIL or type(item) is not Pair for item in iter_list(lists))


def _cars(lists: Any) -> Any:
    return make_list([item.car for item in iter_list(lists)])


def _cdrs(lists: Any) -> Any:
    return make_list([item.cdr for item in iter_list(lists)])


def _stream_error(who: Any, value: Any) -> Any:
    if value is NIL:
        raise EvalError(f"{_who(who)}: the stream is empty")
    raise EvalError(f"{_who(who)}: expected a stream, got {short_string(value)} ({type_name(value)})")


def _unspecified() -> Any:
    return UNSPECIFIED


def _hash_set(m: Any, table: Any, key: Any, value: Any) -> Any:
    """``hash-set!`` with the machine's write barrier (incremental state capture needs it) and its
    undo record (a stopped command leaves the table as it was)."""
    from omega_core.lang.primitives.hashes import set_entry, table_of

    h = table_of("hash-set!", table)
    k = hash_key(key)
    m.undo.note_entry(h, k, key)
    set_entry(h, k, key, value)
    m.mark_dirty(h)
    return UNSPECIFIED


_HOST_PRIMITIVES = (
    Primitive("display", _display, 1, 1, needs_machine=True),
    Primitive("newline", _newline, 0, 0, needs_machine=True),
    Primitive("error", _error, 1, None),
    Primitive("gensym", _gensym, 0, 1, needs_machine=True),
    Primitive("stream-cons", _stream_cons, 2, 2),
    Primitive("%check-list", _check_list, 2, 2),
    Primitive("%check-lists", _check_lists, 2, 2),
    Primitive("%any-null?", _any_null, 1, 1),
    Primitive("%cars", _cars, 1, 1),
    Primitive("%cdrs", _cdrs, 1, 1),
    Primitive("%stream-error", _stream_error, 2, 2),
    Primitive("%unspecified", _unspecified, 0, 0),
    Primitive("hash-set!", _hash_set, 3, 3, needs_machine=True),
)

PRELUDE_UNITS: dict[str, Unit] = {}
"""Compiled prelude units by id, so a deserialized state can name prelude nodes."""

_BASE: dict[str, Any] | None = None


def primitive_table() -> dict[str, Any]:
    """Every procedure written in Python (plain and machine-level), by name."""
    table: dict[str, Any] = all_primitives()
    for item in (*_HOST_PRIMITIVES, *MACHINE_PRIMITIVES):
        table[item.name] = item
    return table


def prelude_source() -> str:
    # Next to this module, read directly: importlib.resources would cost every start tempfile,
    # shutil and their imports (``omega --embedded --batch``, bench/cli.py).
    with open(os.path.join(os.path.dirname(__file__), "prelude.omega"), encoding="utf-8") as prelude:
        return prelude.read()


def _build_base() -> dict[str, Any]:
    from omega_core.lang.compiler import compile_unit
    from omega_core.lang.machine import Machine, Status
    from omega_core.lang.reader import read_all

    table = GlobalTable(primitive_table())
    machine = Machine(table)
    for position, datum in enumerate(read_all(prelude_source()).forms):
        unit = compile_unit(datum, f"prelude:{position}")
        PRELUDE_UNITS[unit.unit_id] = unit
        machine.start(unit.root)
        while machine.run(1_000_000) is Status.RUNNING:  # a slice may end early (``slice_break``)
            pass
        if machine.status is not Status.DONE:  # pragma: no cover - a broken prelude
            raise RuntimeError(f"prelude form {position} failed: {machine.error}")
    for name, value in table.items():
        if type(value) is Closure and value.env is None and value.builtin_name is None:
            value.builtin_name = name
    return table


def base_globals() -> dict[str, Any]:
    """The shared table of builtins (do not mutate: copy it with ``fresh_globals``)."""
    global _BASE
    if _BASE is None:
        _BASE = _build_base()
    return _BASE


def fresh_globals() -> dict[str, Any]:
    """A new global table for a new machine (builtins shared, user definitions separate)."""
    return GlobalTable(base_globals())


def builtin_value(name: str) -> Any:
    """The initial value of global ``name`` (used by the serializer to restore builtins)."""
    return base_globals()[name]


def is_builtin_value(name: str, value: Any) -> bool:
    return (_BASE if _BASE is not None else base_globals()).get(name) is value


__all__ = ["fresh_globals", "builtin_value", "is_builtin_value", "primitive_table", "PRELUDE_UNITS",
           "MACHINE_PRIMITIVES", "list_to_python"]
