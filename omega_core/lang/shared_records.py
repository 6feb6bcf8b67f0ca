"""How one object becomes a record of a shared state, and how a value becomes its JSON form (an
inline value or a reference to a record): the hot loop of a capture, apart from the capture's
bookkeeping (``serialize_shared.SharedEncoder``, which mixes ``RecordEncoding`` in: its slicing,
payload, overlay and pruning), and the type tables a capture's cost estimate (``capture_walk``)
and a restore (``restore_shared``) read too. See ``serialize_shared`` for the format.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

from omega_core.lang import frames as fr
from omega_core.lang.address_table import AddressTable
from omega_core.lang.builtins import PRELUDE_UNITS, is_builtin_value
from omega_core.lang.nodes import Node, Unit
from omega_core.lang.numtext import JSON_INT_BITS, int_to_text
from omega_core.lang.value_size import held_bytes
from omega_core.lang.values import (
    NIL,
    UNASSIGNED,
    UNSPECIFIED,
    Closure,
    Continuation,
    HashTable,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    Promise,
    Symbol,
)

BOX_MIN_CHARS = 256
"""Strings at least this long are stored once by identity (a record), not inline at each use."""
FIXED_FORMS_MAX = 65536
"""At most this many cached encodings of code nodes and primitives (then the cache starts over)."""
INLINE_ENV = "E"
"""Tag of an environment written inside the record of the frame that first reached it."""
_REF, _NODE, _SYMBOL, _CLOSURE, _OTHER = range(5)
_CATEGORY: dict[type, int] = {list: _REF, Pair: _REF, Promise: _REF, HashTable: _REF, Continuation: _REF,
                              OracleProc: _REF, fr.ChoicePoint: _REF, Symbol: _SYMBOL, Closure: _CLOSURE}
_CATEGORY.update({cls: _REF for cls in fr.FRAME_TYPES.values()})
_FRAME_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    cls: (lambda obj, names=cls.FIELDS: tuple(getattr(obj, name) for name in names)) if len(cls.FIELDS) != 1
    else (lambda obj, name=cls.FIELDS[0]: (getattr(obj, name),))
    for cls in fr.FRAME_TYPES.values()
}
_FRAME_FIELDS.update({cls: operator.attrgetter(*cls.FIELDS) for cls in fr.FRAME_TYPES.values() if len(cls.FIELDS) > 1})
FRAME_ENV_AT: dict[type, int] = {cls: cls.FIELDS.index("env") if "env" in cls.FIELDS else -1
                                 for cls in fr.FRAME_TYPES.values()}
"""Position of a frame's ``env`` among its ``FIELDS`` (-1: none); its record holds it at 3 + that."""
_INT_LIMIT = 1 << JSON_INT_BITS


def inline_env_address(frame_position: int) -> int:
    """The position part of the address of the environment inlined in record ``frame_position``
    (negative: it never collides with a record's own position, and needs no record of its own)."""
    return -1 - frame_position


def _categorize(kind: type) -> int:
    """How ``enc`` treats a type first met (compiled nodes are many subclasses)."""
    category = _NODE if issubclass(kind, Node) else _OTHER
    _CATEGORY[kind] = category
    return category

class RecordEncoding:
    """The record and value encoding of ``SharedEncoder`` (a mixin: these are its fields)."""

    addr: AddressTable
    fixed_forms: dict[int, tuple[Any, Any]]
    unit_at: dict[str, int]
    value_bytes: int
    _capture: int
    _pending: list[Any]
    _units: dict[str, Any]
    _unit_objects: list[Unit]

    def ref(self, obj: Any) -> list[Any]:
        key = id(obj)
        entry = self.addr.shards[key >> 4 & 8191].get(key)  # address_table: ID_SHIFT, SLOT_MASK
        if entry is not None and entry[2] is obj:
            return ["r", entry[0], entry[1]]
        return self._address(key, obj)

    def _address(self, key: int, obj: Any) -> list[Any]:
        """Address ``obj`` (id ``key``, not addressed yet) in this capture: ``AddressTable.add``
        written out (once per new object)."""
        position = len(self._pending)
        self._pending.append(obj)
        capture = self._capture
        table = self.addr
        table.shards[key >> 4 & 8191][key] = (capture, position, obj)
        table.order_ids.append(key)
        table.order_captures.append(capture)
        return ["r", capture, position]

    def enc(self, value: Any) -> Any:
        """The JSON form of ``value``: inline if it has no identity, else a reference (this is the
        hot loop of capture: the common kinds are tested first, by exact type)."""
        kind = type(value)
        if kind is int:  # past the JSON digit guard an integer is written as digit text (numtext)
            return value if value.bit_length() <= JSON_INT_BITS else ["i", int_to_text(value)]
        if kind is bool or value is None:
            return value
        category = _CATEGORY.get(kind)
        if category is None:
            category = _categorize(kind)
        if category == _REF:
            key = id(value)
            entry = self.addr.shards[key >> 4 & 8191].get(key)  # address_table: ID_SHIFT, SLOT_MASK
            if entry is not None and entry[2] is value:
                return ["r", entry[0], entry[1]]
            return self._address(key, value)
        if category == _NODE:
            fixed = self.fixed_forms.get(id(value))
            if fixed is not None and fixed[0] is value:
                return fixed[1]
            unit = value.unit
            unit_id = unit.unit_id
            where = self.unit_at.get(unit_id)
            if where is None:
                if unit_id in PRELUDE_UNITS:
                    return self._fix(value, ["c", unit_id, value.idx])
                where = self.unit_at[unit_id] = self._capture
                self._units[unit_id] = None
                self._unit_objects.append(unit)
            return self._fix(value, ["c", unit_id, value.idx, where])
        if category == _SYMBOL:
            return ["y", value.name]
        if kind is str:
            return value if len(value) < BOX_MIN_CHARS else self.ref(value)
        if kind is tuple:
            return ["t", *[self.enc(item) for item in value]]
        if category == _CLOSURE:
            if value.builtin_name is not None and is_builtin_value(value.builtin_name, value):
                return ["b", value.builtin_name]
            return self.ref(value)
        if kind is float:
            return value if math.isfinite(value) else ["f", repr(value)]
        if value is NIL:
            return ["n"]
        if value is UNSPECIFIED:
            return ["u"]
        if value is UNASSIGNED:
            return ["a"]
        if kind is Primitive or kind is MachinePrimitive:
            return self._fix(value, ["p", value.name])
        return self.ref(value)

    def _fix(self, obj: Any, form: list[Any]) -> list[Any]:
        """Remember ``form`` as the encoding of ``obj`` for good (records only read it: sharing
        one list among records is safe)."""
        if len(self.fixed_forms) >= FIXED_FORMS_MAX:
            self.fixed_forms.clear()
        self.fixed_forms[id(obj)] = (obj, form)
        return form

    def _frame_record(self, obj: Any, kind: type, fields: tuple[Any, ...], position: int | None) -> list[Any]:
        """``["k", type, next, *fields]`` with the common field kinds (small integers, None,
        objects already addressed, code nodes) encoded inline: this is most of a deep stack's
        capture. An environment no record has reached yet is written inside the frame's record
        (``["E", *slots]``) under the address ``(capture, inline_env_address(position))``, so a
        frame costs one record, not two; anything reaching that environment later refers to it
        there (``restore_shared`` decodes it from the frame's record)."""
        addr = self.addr
        shards = addr.shards
        fixed_get = self.fixed_forms.get
        enc = self.enc
        env_slot = FRAME_ENV_AT[kind] + 3 if position is not None else -1
        out: list[Any] = ["k", kind.__name__]
        for value in (obj.next, *fields):
            value_kind = type(value)
            if value_kind is int and -_INT_LIMIT < value < _INT_LIMIT or value is None:
                out.append(value)
                continue
            key = id(value)
            entry = shards[key >> 4 & 8191].get(key)  # address_table: ID_SHIFT, SLOT_MASK
            if entry is not None and entry[2] is value:
                out.append(["r", entry[0], entry[1]])
                continue
            fixed = fixed_get(id(value))
            if fixed is not None and fixed[0] is value:
                out.append(fixed[1])
                continue
            if value_kind is list and len(out) == env_slot:
                addr.add(key, (self._capture, inline_env_address(position), value))  # type: ignore[arg-type]
                self.value_bytes += held_bytes(value)
                out.append([INLINE_ENV, *[item if type(item) is int and -_INT_LIMIT < item < _INT_LIMIT
                                          or item is None else enc(item) for item in value]])
                continue
            if value_kind is tuple:  # CallK's values so far: mostly small numbers
                out.append(["t", *[item if type(item) is int and -_INT_LIMIT < item < _INT_LIMIT
                                   or item is None else enc(item) for item in value]])
                continue
            out.append(enc(value))
        return out

    def _record(self, obj: Any, position: int | None = None) -> list[Any]:
        """The record of ``obj``; ``position``: its place in this capture's records (None for a
        rewrite, which never inlines an environment)."""
        kind = type(obj)
        enc = self.enc
        getter = _FRAME_FIELDS.get(kind)
        if getter is not None:
            return self._frame_record(obj, kind, getter(obj), position)
        if kind is list:
            return ["env", *[enc(item) for item in obj]]
        if kind is Pair:
            return ["pair", enc(obj.car), enc(obj.cdr)]
        if kind is str:
            return ["str", obj]
        if kind is Closure:
            return ["clo", enc(obj.lam), enc(obj.env), obj.builtin_name]
        if kind is Promise:
            return ["prom", enc(obj.node), enc(obj.env), enc(obj.thunk), obj.forced, enc(obj.value)]
        if kind is HashTable:
            return ["hash", [[enc(obj.keys[key]), enc(value)] for key, value in obj.table.items()]]
        if kind is Continuation:
            return ["cont", enc(obj.frames), obj.delimited]
        if kind is OracleProc:
            return ["oracle", enc(obj.lam), enc(obj.env)]
        if kind is fr.ChoicePoint:
            return ["cp", *[enc(getattr(obj, name)) for name in fr.ChoicePoint.FIELDS]]
        raise TypeError(f"cannot serialize {kind.__name__}")
