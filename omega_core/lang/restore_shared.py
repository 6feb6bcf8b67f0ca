"""Restoring structurally shared states (``omega-delta/3``, written by ``serialize_shared``).

A restore reads the state's body, rebuilds its overlay (where the latest version of each rewritten
object and global is) from the last snapshot and the links since, then decodes only the objects
the state reaches, lazily, by address; records are read per capture through a ``StoreReader``.
Work lists only: no nesting depth reaches the host stack. The returned encoder already knows the
restored objects' addresses, so capture goes on sharing with what is stored.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterator
from typing import Any, Protocol

from omega_core.lang.builtins import PRELUDE_UNITS, fresh_globals, primitive_table
from omega_core.lang.compiler import compile_unit
from omega_core.lang.equality import hash_key
from omega_core.lang.nodes import Unit
from omega_core.lang.reader import read_all
from omega_core.lang.serialize import _REGISTERS, StateFormatError
from omega_core.lang.serialize_read import decode_plain, empty_object, fill_record, restore_machine_fields
from omega_core.lang.frames import FRAME_TYPES
from omega_core.lang.gc_pause import gc_paused
from omega_core.lang.serialize_shared import (
    DELETED,
    PRUNE_MIN,
    SNAPSHOT_LINKS,
    Address,
    SharedEncoder,
)
from omega_core.lang.shared_records import FRAME_ENV_AT, INLINE_ENV, inline_env_address
from omega_core.lang.restore_cache import DecodeCache, immutable_children, immutable_graph
from omega_core.lang.value_size import held_bytes

OBJECT_CHUNK_BITS = 14
OBJECT_CHUNK = 1 << OBJECT_CHUNK_BITS
OBJECT_CHUNK_MASK = OBJECT_CHUNK - 1
_MISSING = object()
"""A place of ``SharedDecoder.objects`` with no object decoded yet."""


def _place(position: int) -> int:
    """Where the object at ``position`` of a capture is kept: records at even places, the
    environments inlined in frame records (negative positions, ``shared_records``) at odd ones."""
    return position << 1 if position >= 0 else ~position << 1 | 1


UNIT_CACHE_SIZE = 4096
_UNIT_CACHE: dict[tuple[str, str], Unit] = {}
"""Compiled code units by (unit id, source text), shared by restores: reading and compiling a
closure's code was most of a restore (gotos restore the same functions again and again). Sharing is
safe as it is for the prelude's units, which every machine shares: compiled nodes are never changed
by running them, and a unit is keyed by its whole source."""


# --- restoring ---------------------------------------------------------------------------------


class StoreReader(Protocol):
    """How a restore reads the store: ``body(c)`` a capture's state body (records may be left out),
    ``records(c)`` its ``records``/``rewrites``/``units`` (a dict)."""

    def body(self, capture: int) -> dict[str, Any]: ...

    def records(self, capture: int) -> dict[str, Any]: ...


def _overlay_of(body: dict[str, Any], reader: StoreReader) -> tuple[dict[Address, int], dict[str, int], list[dict[str, Any]]]:
    """The overlay as of ``body`` (versions, global_at) and the links walked since the snapshot."""
    chain: list[dict[str, Any]] = []
    current = body
    seen = 0
    while True:
        ov = current.get("ov")
        if not isinstance(ov, dict):
            raise StateFormatError(f"state of capture {current.get('seq')!r} has no overlay")
        snap = ov.get("snap")
        if snap is not None:
            base = snap
            break
        if ov.get("rw") or current["root"].get("globals"):
            chain.append(current)
        previous = ov.get("prev")
        if previous is None:
            base = {"v": [], "g": {}}
            break
        seen += 1
        if seen > 4 * SNAPSHOT_LINKS + 8:
            raise StateFormatError("overlay chain too long (corrupt links)")
        current = reader.body(previous)
    versions: dict[Address, int] = {(a, b): c for a, b, c in base["v"]}
    global_at: dict[str, int] = dict(base["g"])
    for link in reversed(chain):
        capture = link["seq"]
        for key in link["ov"].get("rw", []):
            first, position = key.split(".")
            versions[(int(first), int(position))] = capture
        for name, value in link["root"]["globals"].items():
            if value == DELETED:
                global_at.pop(name, None)
            else:
                global_at[name] = capture
    return versions, global_at, chain


class SharedDecoder:
    """Rebuilds the machine of one state, reading only the records it reaches (lazily, by address)."""

    def __init__(self, reader: StoreReader, cache: DecodeCache | None = None, keep_units: bool = True) -> None:
        self.reader = reader
        self.keep_units = keep_units
        """Compiled units go to the shared ``_UNIT_CACHE`` (a warm-up keeps them only through the
        closures it hands to ``cache``, so it never evicts what restores use)."""
        self.cache = cache if cache is not None and hasattr(reader, "line_of") else None
        self.cached: set[tuple[int, int]] = set()
        """Addresses whose objects came from the cache (already known to be immutable)."""
        self.versions: dict[Address, int] = {}
        self.objects: dict[int, dict[int, list[Any]]] = {}
        """The decoded objects: capture -> chunk number -> ``OBJECT_CHUNK`` objects by place
        (``_place``; ``_MISSING`` where none yet). Not one dict by address: it grew in single
        calls of up to half a second past millions of addresses, and freeing its tuple keys after
        a restore of four million pairs held the GIL 1.3 s (``release`` frees a chunk at a time)."""
        self.order_captures = array.array("q")
        self.order_positions = array.array("q")
        """The addresses in the order they were decoded (referrers before what they refer to): the
        order the encoder's table gets them in, which its prune and release rely on."""
        self.units: dict[str, Unit] = {}
        self.unit_at: dict[str, int] = {}
        self.to_fill: list[tuple[Any, list[Any]]] = []
        self.tables: list[tuple[Any, list[Any]]] = []
        self.primitives = primitive_table()
        self.builtins = fresh_globals()

    def _record_of(self, capture: int, position: int) -> list[Any]:
        version = self.versions.get((capture, position))
        if version is not None and version != capture:
            return self.reader.records(version)["rewrites"][f"{capture}.{position}"]
        if position >= 0:
            return self.reader.records(capture)["records"][position]
        frame_position = inline_env_address(position)  # the mapping is its own inverse
        frame = self.reader.records(capture)["records"][frame_position]
        inline = _inline_env_of(frame)
        if inline is None:
            raise StateFormatError(f"record {capture}.{frame_position} holds no environment for address {capture}.{position}")
        return ["env", *inline[1:]]

    def _with_env_ref(self, capture: int, position: int, record: list[Any]) -> list[Any]:
        """A frame record whose inline environment is replaced by a reference to it (decoded once,
        as its own object: whatever else refers to it gets the same one)."""
        inline_at = _inline_env_slot(record)
        if inline_at < 0:
            return record
        record = list(record)
        record[inline_at] = ["r", capture, inline_env_address(position)]
        return record

    def decoded(self) -> Iterator[tuple[int, int, Any]]:
        """Every (capture, position, object) decoded so far, in the order they were."""
        stored = self._stored
        for capture, position in zip(self.order_captures, self.order_positions):
            yield capture, position, stored(capture, position)

    def _stored(self, capture: int, position: int) -> Any:
        place = _place(position)
        return self.objects[capture][place >> OBJECT_CHUNK_BITS][place & OBJECT_CHUNK_MASK]

    def release(self) -> None:
        """Drop what the decoder holds a chunk at a time (each a short call: the objects live on
        in the machine and the encoder's table)."""
        objects = self.objects
        while objects:
            chunks = objects.popitem()[1]
            while chunks:
                chunks.popitem()
        self.order_captures = array.array("q")
        self.order_positions = array.array("q")

    def _object(self, capture: int, position: int) -> Any:
        place = position << 1 if position >= 0 else ~position << 1 | 1  # _place, written out
        chunks = self.objects.get(capture)
        if chunks is None:
            chunks = self.objects[capture] = {}
        chunk = chunks.get(place >> OBJECT_CHUNK_BITS)
        if chunk is None:
            chunk = chunks[place >> OBJECT_CHUNK_BITS] = [_MISSING] * OBJECT_CHUNK
        slot = place & OBJECT_CHUNK_MASK
        obj = chunk[slot]
        if obj is not _MISSING:
            return obj
        self.order_captures.append(capture)  # every path below decodes it (or fails the restore)
        self.order_positions.append(position)
        cache = self.cache
        if cache is not None and (capture, position) not in self.versions:  # a rewritten object is a mutable one
            line = self.reader.line_of(capture)  # type: ignore[attr-defined]
            if line is not None:
                obj = cache.get((line, position))
                if obj is not None:
                    chunk[slot] = obj
                    self.cached.add((capture, position))
                    return obj
        record = self._record_of(capture, position)
        tag = record[0]
        if tag == "str":
            obj = record[1]
            if type(obj) is not str:
                raise StateFormatError(f"record {capture}.{position}: a string record without a string")
            chunk[slot] = obj
            return obj
        obj = empty_object(record)
        if obj is None:
            raise StateFormatError(f"unknown record {tag!r}")
        if tag == "hash":  # keys are hashed by content: filled once every pair is
            self.tables.append((obj, record))
            chunk[slot] = obj
            return obj
        chunk[slot] = obj
        if tag == "k":
            record = self._with_env_ref(capture, position, record)
        self.to_fill.append((obj, record))
        return obj

    def unit(self, unit_id: str, where: int | None) -> Unit:
        unit = self.units.get(unit_id) or PRELUDE_UNITS.get(unit_id)
        if unit is None:
            if where is None:
                raise StateFormatError(f"state refers to unknown code unit {unit_id!r}")
            source = self.reader.records(where)["units"].get(unit_id)
            if source is None:
                raise StateFormatError(f"state refers to code unit {unit_id!r} missing from capture {where}")
            cached = _UNIT_CACHE.get((unit_id, source)) if isinstance(source, str) else None
            if cached is not None:
                unit = cached
            elif isinstance(source, str):
                forms = read_all(source).forms
                if len(forms) != 1:
                    raise StateFormatError(f"code unit {unit_id!r} does not hold exactly one form")
                unit = compile_unit(forms[0], unit_id)
                if self.keep_units:
                    if len(_UNIT_CACHE) >= UNIT_CACHE_SIZE:
                        try:
                            _UNIT_CACHE.pop(next(iter(_UNIT_CACHE)), None)  # the oldest
                        except (RuntimeError, StopIteration):  # another thread's restore changed it meanwhile
                            pass
                    _UNIT_CACHE[(unit_id, source)] = unit
            else:
                datum = self.dec(source["datum"])
                self.fill_all()
                unit = compile_unit(datum, unit_id)
            self.units[unit_id] = unit
            self.unit_at[unit_id] = where
        return unit

    def dec(self, value: Any) -> Any:
        if type(value) is not list:
            return value
        tag = value[0]
        if tag == "r":
            return self._object(value[1], value[2])
        if tag == "c":
            return self.unit(value[1], value[3] if len(value) > 3 else None).nodes[value[2]]
        if tag == "t":
            return tuple(self.dec(item) for item in value[1:])
        return decode_plain(value, self.primitives, self.builtins)

    def fill_all(self) -> None:
        """Fill every allocated object; filling allocates the objects it reaches (a work list)."""
        dec = self.dec
        to_fill = self.to_fill
        while to_fill:
            obj, record = to_fill.pop()
            fill_record(obj, record, dec)

    def publish(self) -> None:
        """Hand the immutable objects this restore decoded to the cache (see ``DecodeCache``)."""
        cache = self.cache
        if cache is None:
            return
        cached, versions = self.cached, self.versions

        def candidates() -> Iterator[tuple[Address, Any]]:
            for capture, position, obj in self.decoded():
                key = (capture, position)
                if key not in cached and key not in versions and (type(obj) is str or immutable_children(obj) is not None):
                    yield key, obj

        found = list(itertools.islice(candidates(), cache.max_objects + 1))
        if not found or len(found) > cache.max_objects:
            # nothing to add (all found in the cache), or more than the cache keeps: it would keep
            # the last ones only, after a walk of all of them with one table of verdicts (its
            # growth held the GIL 0.2-0.6 s after a restore of millions of pairs)
            return
        line_of = self.reader.line_of  # type: ignore[attr-defined]
        verdicts: dict[int, bool] = {id(self._stored(*key)): True for key in cached}
        entries: list[tuple[tuple[int, int], Any]] = []
        for key, obj in found:
            line = line_of(key[0])
            if line is not None and (type(obj) is str or immutable_graph(obj, verdicts)):
                entries.append(((line, key[1]), obj))
        if entries:
            cache.put(entries)

    def fill_tables(self) -> None:
        """Hash tables last: their keys are hashed by content, so every pair must be filled."""
        tables, self.tables = self.tables, []
        pending_keys: list[tuple[Any, Any, Any]] = []
        for table, record in tables:
            for key_data, value_data in record[1]:
                pending_keys.append((table, self.dec(key_data), self.dec(value_data)))
        self.fill_all()
        for table, key, value in pending_keys:
            hashed = hash_key(key)
            table.table[hashed] = value
            table.keys[hashed] = key


def _inline_env_slot(record: list[Any]) -> int:
    """Where a frame record holds an inline environment, or -1."""
    cls = FRAME_TYPES.get(record[1]) if len(record) > 1 else None
    if cls is None:
        return -1
    slot = FRAME_ENV_AT[cls] + 3
    if slot < 3 or slot >= len(record):
        return -1
    value = record[slot]
    return slot if type(value) is list and value and value[0] == INLINE_ENV else -1


def _inline_env_of(record: list[Any]) -> list[Any] | None:
    if not record or record[0] != "k":
        return None
    slot = _inline_env_slot(record)
    return record[slot] if slot >= 0 else None


def restore_shared(body: dict[str, Any], reader: StoreReader,
                   cache: DecodeCache | None = None) -> tuple[Any, SharedEncoder]:
    """The machine of state ``body`` and an encoder that already knows its objects (so the next
    capture of that machine writes only what changes from here). ``cache``: immutable objects
    shared with other restores from the same store (used if ``reader`` has ``line_of``)."""
    with gc_paused():
        return _restore(body, reader, cache)


def _restore(body: dict[str, Any], reader: StoreReader, cache: DecodeCache | None) -> tuple[Any, SharedEncoder]:
    from omega_core.errors import OmegaError
    from omega_core.lang.machine import Machine

    try:
        versions, global_at, chain = _overlay_of(body, reader)
        decoder = SharedDecoder(reader, cache)
        decoder.versions = versions
        root = body["root"]
        globals_table = fresh_globals()
        for name in root.get("removed_builtins", []):
            globals_table.pop(name, None)
        values_by_capture: dict[int, dict[str, Any]] = {}
        for name, capture in global_at.items():
            holder = values_by_capture.get(capture)
            if holder is None:
                holder = values_by_capture[capture] = reader.body(capture)["root"]["globals"]
            globals_table[name] = decoder.dec(holder[name])
        registers = {name: decoder.dec(root[name]) for name in _REGISTERS}
        undo = decoder.dec(root.get("undo"))  # the stopped command's journal (undo.py); filled below
        while decoder.to_fill or decoder.tables:
            decoder.fill_all()
            decoder.fill_tables()
        machine = Machine(globals_table)
        restore_machine_fields(machine, registers, root)
        machine.undo.decode(undo, lambda decoded: decoded)
        decoder.publish()
    except StateFormatError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, OmegaError) as problem:
        raise StateFormatError(f"malformed machine state: {problem!r}") from None
    encoder = SharedEncoder()
    encoder.fresh = False
    table = encoder.addr
    value_bytes = 0
    for capture, position, obj in decoder.decoded():
        table.add(id(obj), (capture, position, obj))
        value_bytes += held_bytes(obj)
    decoder.release()
    encoder.prune_at = max(PRUNE_MIN, 2 * len(table))
    encoder.settle_value_bytes(value_bytes)
    encoder.unit_at = dict(decoder.unit_at)
    encoder.versions = versions
    encoder.global_at = global_at
    ov = body["ov"]
    has_changes = "snap" in ov or bool(ov.get("rw")) or bool(root.get("globals"))
    encoder.chain_prev = body["seq"] if has_changes else ov.get("prev")
    encoder.links_since_snapshot = len(chain)
    encoder.changes_since_snapshot = sum(len(link["ov"].get("rw", [])) + len(link["root"]["globals"]) for link in chain)
    return machine, encoder

