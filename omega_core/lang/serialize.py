"""Machine state <-> plain JSON data, losslessly, at any point of an evaluation.

Format ``omega-state/1``::

    {"format": "omega-state/1", "root": {register: value ...}, "heap": [record ...],
     "units": {unit id: source text or encoded datum}}

Values are encoded inline when they have no identity (numbers, strings, booleans, symbols as
``["y", name]``, the empty list ``["n"]`` ...) and as ``["r", i]`` references into ``heap`` when they
do (pairs, environments, closures, promises, hash tables, continuations, frames, choice points), so
sharing and mutation survive a round trip: two closures over one environment still share it. The heap
is flat (one record per object, children by reference), so neither encoding nor decoding recurses and
a 100,000-frame continuation or a 1,000,000-element list is no problem. Code is named as
``["c", unit id, node index]``; a unit is stored once as the source text it was compiled from and
recompiled on load (compilation is deterministic). Builtins are stored by name.

This module writes states; reading them back is ``serialize_read``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from omega_core.lang import frames as fr
from omega_core.lang.builtins import PRELUDE_UNITS, base_globals, is_builtin_value
from omega_core.lang.nodes import Node, Unit
from omega_core.lang.numtext import JSON_INT_BITS, int_to_text
from omega_core.lang.printer import write_string
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

FORMAT = "omega-state/1"
_REGISTERS = ("node", "env", "value", "k", "choices", "effect_args")
_COUNTERS = ("steps", "gensym_counter", "unit_counter")
_PLAIN_SYMBOL = re.compile(r"[^\s()\[\]'`,\";#\d+\-.][^\s()\[\]'`,\";]*\Z|[+\-]\Z|\.\.\.\Z|[+\-][^\s()\[\]'`,\";\d.][^\s()\[\]'`,\";]*\Z")


class StateFormatError(ValueError):
    """Serialized data that is not a state this version can read."""


# --- encoding --------------------------------------------------------------------------------


class _Encoder:
    """Encodes reachable objects once each. ``object_ids`` names objects: by default a fresh
    counter per dump; ``StableIds`` keeps names across dumps so unchanged records can be skipped."""

    def __init__(
        self,
        object_ids: "StableIds | None" = None,
        known_units: set[str] | None = None,
        skip_clean_known: bool = False,
    ) -> None:
        self.object_ids = object_ids
        self.skip_clean_known = skip_clean_known
        """Incremental mode: an object named by an earlier capture and not mutated since is
        referenced, not encoded again (mutations are reported through the write barriers)."""
        self.seen: dict[int, int] = {}
        self.reached: dict[int, tuple[int, Any]] = {}
        self.heap: dict[str, Any] = {}
        self.pending: list[tuple[int, Any]] = []
        self.units: dict[str, Any] = {}
        self.unit_objects: list[Unit] = []
        self.known_units = known_units if known_units is not None else set()

    def ref(self, obj: Any) -> list[Any]:
        key = id(obj)
        index = self.seen.get(key)
        if index is None:
            if self.skip_clean_known:
                known = self.object_ids.known(obj)  # type: ignore[union-attr]
                if known is not None:
                    self.seen[key] = known
                    return ["r", known]
            index = self.object_ids.id_of(obj) if self.object_ids is not None else len(self.seen)
            self.seen[key] = index
            self.reached[key] = (index, obj)
            self.pending.append((index, obj))
        return ["r", index]

    def force(self, obj: Any) -> None:
        """Encode ``obj`` again even if it is known (it was mutated in place)."""
        key = id(obj)
        if key in self.seen and key in self.reached:
            return
        index = self.object_ids.id_of(obj) if self.object_ids is not None else len(self.seen)
        self.seen[key] = index
        self.reached[key] = (index, obj)
        self.pending.append((index, obj))

    def enc(self, value: Any) -> Any:
        kind = type(value)
        if kind is int and value.bit_length() > JSON_INT_BITS:  # JSON readers cap integer digits
            return ["i", int_to_text(value)]
        if kind is int or kind is str or kind is bool or value is None:
            return value
        if kind is float:
            return value if math.isfinite(value) else ["f", repr(value)]
        if kind is Symbol:
            return ["y", value.name]
        if value is NIL:
            return ["n"]
        if value is UNSPECIFIED:
            return ["u"]
        if value is UNASSIGNED:
            return ["a"]
        if kind is Primitive or kind is MachinePrimitive:
            return ["p", value.name]
        if kind is Closure and value.builtin_name is not None and is_builtin_value(value.builtin_name, value):
            return ["b", value.builtin_name]
        if isinstance(value, Node):
            self.unit(value.unit)
            return ["c", value.unit.unit_id, value.idx]
        if kind is tuple:
            return ["t", *[self.enc(item) for item in value]]
        return self.ref(value)

    def unit(self, unit: Unit) -> None:
        if unit.unit_id in self.units or unit.unit_id in PRELUDE_UNITS or unit.unit_id in self.known_units:
            return
        self.units[unit.unit_id] = None  # placeholder: encoded in drain (may add heap records)
        self.unit_objects.append(unit)

    def record(self, obj: Any) -> list[Any]:
        kind = type(obj)
        enc = self.enc
        if kind is Pair:
            return ["pair", enc(obj.car), enc(obj.cdr)]
        if kind is list:
            return ["env", *[enc(item) for item in obj]]
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
        if isinstance(obj, fr.Frame):
            return ["k", kind.__name__, enc(obj.next), *[enc(getattr(obj, name)) for name in kind.FIELDS]]
        raise TypeError(f"cannot serialize {kind.__name__}")

    def drain(self) -> None:
        while self.pending or self.unit_objects:
            while self.pending:
                index, obj = self.pending.pop()
                self.heap[str(index)] = self.record(obj)
            while self.unit_objects:
                unit = self.unit_objects.pop()
                self.units[unit.unit_id] = self.datum(unit.datum)

    def datum(self, datum: Any) -> Any:
        """Source text when it reads back to the same datum, else the encoded datum."""
        if _readable(datum):
            return write_string(datum)
        return {"datum": self.enc(datum)}


def _readable(datum: Any) -> bool:
    pending = [datum]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is Pair:
            pending.append(item.car)
            pending.append(item.cdr)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is Symbol:
            if not _PLAIN_SYMBOL.match(item.name) or item.name == "null":
                return False
        elif not (kind is int or kind is str or kind is bool or item is NIL):
            return False
    return True


DELETED = ["x"]
"""In an incremental root's globals: this global no longer exists."""


def encode_machine(encoder: _Encoder, machine: Any, global_names: Any = None) -> dict[str, Any]:
    """The root record of a machine (registers, user globals, counters); fills ``encoder``.

    ``global_names``: encode only these globals (an incremental capture); None: all of them.
    """
    root: dict[str, Any] = {name: encoder.enc(getattr(machine, name)) for name in _REGISTERS}
    root["effect_args"] = encoder.enc(tuple(machine.effect_args))
    table = machine.globals
    if global_names is None:
        root["globals"] = {name: encoder.enc(value) for name, value in table.items() if not is_builtin_value(name, value)}
    else:
        root["globals"] = {
            name: encoder.enc(table[name]) if name in table else DELETED
            for name in sorted(global_names)
            if not (name in table and is_builtin_value(name, table[name]))
        }
    root["removed_builtins"] = [name for name in base_globals() if name not in table]
    root["status"] = machine.status.value
    root["effect_op"] = machine.effect_op
    root["error"] = (
        {"code": machine.error.code, "message": machine.error.message} if machine.error is not None else None
    )
    root["output"] = "".join(machine.output)
    for name in _COUNTERS:
        root[name] = getattr(machine, name)
    root["undo"] = machine.undo.encode(encoder.enc)  # what the running command would undo (undo.py)
    encoder.drain()
    return root


def dump_state(machine: Any) -> dict[str, Any]:
    """Encode a machine's whole state as JSON-compatible data."""
    encoder = _Encoder()
    root = encode_machine(encoder, machine)
    return {"format": FORMAT, "root": root, "heap": encoder.heap, "units": encoder.units}


class StableIds:
    """Object names that persist across dumps of one evolving machine (for delta encoding).

    Holds a strong reference to each named object, so an ``id()`` cannot be reused while named;
    ``retain_only`` drops objects a dump no longer reached (garbage), so nothing leaks.
    """

    def __init__(self) -> None:
        self.names: dict[int, tuple[int, Any]] = {}
        self.next_name = 1

    def id_of(self, obj: Any) -> int:
        entry = self.names.get(id(obj))
        if entry is not None and entry[1] is obj:
            return entry[0]
        name = self.next_name
        self.next_name += 1
        self.names[id(obj)] = (name, obj)
        return name

    def known(self, obj: Any) -> int | None:
        entry = self.names.get(id(obj))
        return entry[0] if entry is not None and entry[1] is obj else None

    def retain_only(self, reached: dict[int, tuple[int, Any]]) -> None:
        self.names = dict(reached)


class DeltaEncoder:
    """Encodes successive states of one machine, each as what changed since the previous capture.

    A full capture encodes everything reachable. An incremental one encodes the registers, the
    globals defined or set since the last capture, the objects mutated in place (both reported by
    the machine's write barriers on its ``GlobalTable``) and any object not named before; objects
    named earlier and untouched are only referenced. So its cost follows the change, not the size
    of the state. ``encode`` returns ``(root, records, new_units)``; a state is rebuilt by merging
    the captures since the last full one, oldest first (``merge_chain``).
    """

    def __init__(self) -> None:
        self.ids = StableIds()
        self.known_units: set[str] = set()
        self.last_records: dict[str, int] = {}
        """Kept for the memory estimate: names of the records captured so far."""

    def encode(self, machine: Any, full: bool = False) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        table = machine.globals
        if full:
            self.known_units = set()
            encoder = _Encoder(self.ids, self.known_units)
            root = encode_machine(encoder, machine)
            self.ids.retain_only(encoder.reached)
            self.last_records = {name: 0 for name in encoder.heap}
        else:
            encoder = _Encoder(self.ids, self.known_units, skip_clean_known=True)
            for obj in list(table.dirty_objects.values()):
                if self.ids.known(obj) is not None:
                    encoder.force(obj)
            root = encode_machine(encoder, machine, set(table.dirty))
            for name in encoder.heap:
                self.last_records[name] = 0
        root["full"] = full
        table.dirty.clear()
        table.dirty_objects.clear()
        self.known_units.update(encoder.units)
        return root, encoder.heap, encoder.units


def merge_chain(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``dump_state``-shaped state from captures ordered oldest (a full one) to newest."""
    heap: dict[str, Any] = {}
    units: dict[str, Any] = {}
    global_values: dict[str, Any] = {}
    for body in bodies:
        heap.update(body["records"])
        units.update(body["units"])
        root = body["root"]
        if root.get("full", True):
            global_values = dict(root["globals"])
        else:
            for name, value in root["globals"].items():
                if value == DELETED:
                    global_values.pop(name, None)
                else:
                    global_values[name] = value
    newest = dict(bodies[-1]["root"])
    newest["globals"] = global_values
    return {"format": FORMAT, "root": newest, "heap": heap, "units": units}


def dumps_state(machine: Any) -> str:
    return json.dumps(dump_state(machine), separators=(",", ":"), ensure_ascii=False)
