"""Plain JSON data -> machine state: the decoding half of ``serialize`` (format ``omega-state/1``,
described there).

Its own module because reading a state and writing one share only the format's names
(``FORMAT``, the registers and counters, ``StateFormatError``): a reader changing one side finds
all of it in one place. The shared-state restore (``restore_shared``) fills its objects with the
pieces here (``fill_record``, ``empty_object``, ``decode_plain``, ``restore_machine_fields``).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from omega_core.lang import frames as fr
from omega_core.lang.builtins import PRELUDE_UNITS, fresh_globals, primitive_table
from omega_core.lang.compiler import compile_unit
from omega_core.lang.equality import hash_key
from omega_core.lang.nodes import Unit
from omega_core.lang.numtext import text_to_int
from omega_core.lang.reader import read_all
from omega_core.lang.serialize import _COUNTERS, _REGISTERS, FORMAT, StateFormatError
from omega_core.lang.values import (
    NIL,
    UNASSIGNED,
    UNSPECIFIED,
    Closure,
    Continuation,
    HashTable,
    OracleProc,
    Pair,
    Promise,
    Symbol,
)


class _Decoder:
    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateFormatError(f"not an Omega machine state (expected format {FORMAT!r})")
        self.data = data
        heap = data["heap"]
        if not isinstance(heap, dict):
            raise StateFormatError("malformed machine state: heap is not an object")
        self.heap_data: list[Any] = list(heap.values())
        self.index_of: dict[int, int] = {int(name): position for position, name in enumerate(heap)}
        self.objects: list[Any] = [None] * len(self.heap_data)
        self.units: dict[str, Unit] = {}
        self.primitives = primitive_table()
        self.builtins = fresh_globals()

    def unit(self, unit_id: str) -> Unit:
        unit = self.units.get(unit_id) or PRELUDE_UNITS.get(unit_id)
        if unit is None:
            source = self.data["units"].get(unit_id)
            if source is None:
                raise StateFormatError(f"state refers to unknown code unit {unit_id!r}")
            if isinstance(source, str):
                forms = read_all(source).forms
                if len(forms) != 1:
                    raise StateFormatError(f"code unit {unit_id!r} does not hold exactly one form")
                datum = forms[0]
            else:
                datum = self.dec(source["datum"])
            unit = compile_unit(datum, unit_id)
            self.units[unit_id] = unit
        return unit

    def dec(self, value: Any) -> Any:
        if type(value) is not list:
            return value
        tag = value[0]
        if tag == "r":
            return self.objects[self.index_of[value[1]]]
        if tag == "c":
            return self.unit(value[1]).nodes[value[2]]
        if tag == "t":
            return tuple(self.dec(item) for item in value[1:])
        return decode_plain(value, self.primitives, self.builtins)

    def allocate(self) -> None:
        """First pass: an empty object per heap record, so references can be resolved in any order."""
        for index, record in enumerate(self.heap_data):
            obj = empty_object(record)
            if obj is None:
                raise StateFormatError(f"unknown heap record {record[0]!r}")
            self.objects[index] = obj

    def fill(self) -> None:
        dec = self.dec
        tables = []
        for obj, record in zip(self.objects, self.heap_data):
            tag = record[0]
            if tag == "hash":  # keys are hashed by content: fill them once every pair is filled
                tables.append((obj, record))
                continue
            fill_record(obj, record, dec)
        for obj, record in tables:
            for key_data, value_data in record[1]:
                key = dec(key_data)
                obj.table[hash_key(key)] = dec(value_data)
                obj.keys[hash_key(key)] = key


def load_state(data: dict[str, Any]) -> Any:
    """Rebuild a machine from ``dump_state`` data; it continues exactly where the original was."""
    from omega_core.errors import OmegaError
    from omega_core.lang.machine import Machine

    try:
        decoder = _Decoder(data)
        decoder.allocate()
        decoder.fill()
        root = data["root"]
        globals_table = fresh_globals()
        for name in root.get("removed_builtins", []):
            globals_table.pop(name, None)
        for name, value in root["globals"].items():
            globals_table[name] = decoder.dec(value)
        machine = Machine(globals_table)
        restore_machine_fields(machine, {name: decoder.dec(root[name]) for name in _REGISTERS}, root)
        machine.undo.decode(root.get("undo"), decoder.dec)
    except StateFormatError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, OmegaError) as problem:
        raise StateFormatError(f"malformed machine state: {problem!r}") from None
    return machine


def restore_machine_fields(machine: Any, registers: dict[str, Any], root: dict[str, Any]) -> None:
    """Set a restored machine's decoded ``registers`` and the plain fields of its state's ``root``
    (status, pending effect, error, output, counters): shared by full and shared-state restores."""
    from omega_core.errors import OmegaError
    from omega_core.lang.machine import Status

    for name, value in registers.items():
        setattr(machine, name, value)
    machine.effect_args = list(machine.effect_args or ())
    machine.status = Status(root["status"])
    machine.effect_op = root["effect_op"]
    error = root.get("error")
    if error is not None:
        machine.error = OmegaError(error["message"])
        machine.error.code = error["code"]
    machine.output = [root["output"]] if root.get("output") else []
    for name in _COUNTERS:
        setattr(machine, name, root[name])


def loads_state(text: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError as problem:
        raise StateFormatError(f"machine state is not JSON ({problem})") from None
    return load_state(data)


def fill_record(obj: Any, record: list[Any], dec: Callable[[Any], Any]) -> None:
    """Fill ``obj`` (allocated empty) from its heap record, any tag but ``hash`` (whose keys are
    hashed by content, so tables are filled last by the caller). Shared by the whole-state decoder
    here and the shared-states decoder (``restore_shared``)."""
    tag = record[0]
    if tag == "pair":
        obj.car = dec(record[1])
        obj.cdr = dec(record[2])
    elif tag == "env":
        obj[:] = [dec(item) for item in record[1:]]
    elif tag == "clo":
        obj.lam, obj.env, obj.builtin_name = dec(record[1]), dec(record[2]), record[3]
    elif tag == "prom":
        obj.node, obj.env, obj.thunk = dec(record[1]), dec(record[2]), dec(record[3])
        obj.forced, obj.value = record[4], dec(record[5])
    elif tag == "cont":
        obj.frames, obj.delimited = dec(record[1]), record[2]
    elif tag == "oracle":
        obj.lam, obj.env = dec(record[1]), dec(record[2])
    elif tag == "cp":
        for name, item in zip(fr.ChoicePoint.FIELDS, record[1:]):
            setattr(obj, name, dec(item))
    else:
        obj.next = dec(record[2])
        for name, item in zip(type(obj).FIELDS, record[3:]):
            setattr(obj, name, dec(item))


def empty_object(record: list[Any]) -> Any:
    """An empty object of ``record``'s kind, filled later by ``fill_record`` (so references resolve
    in any order); None for a tag that is not an object record. Shared with ``restore_shared``."""
    tag = record[0]
    if tag == "pair":
        return Pair(None, None)
    if tag == "env":
        return [None] * (len(record) - 1)
    if tag == "clo":
        return Closure(None, None)
    if tag == "prom":
        return Promise()
    if tag == "hash":
        return HashTable()
    if tag == "cont":
        return Continuation(None)
    if tag == "oracle":
        return OracleProc(None, None)
    if tag == "cp":
        return fr.ChoicePoint(None, 0, None, None, None, None)
    if tag == "k":
        cls = fr.FRAME_TYPES.get(record[1])
        if cls is None:
            raise StateFormatError(f"unknown frame type {record[1]!r}")
        return cls.__new__(cls)
    return None


def decode_plain(value: list[Any], primitives: dict[str, Any], builtins: dict[str, Any]) -> Any:
    """A tagged value that refers to no heap record or code unit (symbols, constants, decimals,
    big integers, primitives, builtins). Shared by the whole-state decoder here and the
    shared-states decoder (``restore_shared``), which add their own reference and unit tags."""
    tag = value[0]
    if tag == "y":
        return Symbol.intern(value[1])
    if tag == "n":
        return NIL
    if tag == "u":
        return UNSPECIFIED
    if tag == "a":
        return UNASSIGNED
    if tag == "f":
        return float(value[1])
    if tag == "i":
        return text_to_int(value[1])
    if tag == "p":
        return primitives[value[1]]
    if tag == "b":
        return builtins[value[1]]
    raise StateFormatError(f"unknown value tag {tag!r}")
