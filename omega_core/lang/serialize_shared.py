"""Structurally shared machine states: each object is written once, later states refer to it.

Why: a periodic checkpoint in a deep recursion used to re-encode the whole stack (quadratic in the
depth) and a big value was rewritten by every full capture. Here a session keeps one
``SharedEncoder`` whose captures form a growing store of records:

* An object (pair, environment, closure, frame, promise, hash table, long string ...) gets an
  *address* ``(c, n)`` the first time a capture reaches it: ``c`` is the capture's number (the seq
  of its checkpoint, unique in a session's log forever) and ``n`` its position in that capture's
  ``records`` list. References are ``["r", c, n]``: they say where the record is, so nothing has
  to be looked up to find an object's first version.
* Objects already addressed are only referenced; a capture encodes the registers, the globals
  changed since the last capture, the objects new since then, and new *versions* of addressed
  objects mutated in place (reported by the machine's write barriers on its ``GlobalTable``):
  its cost follows what changed, never the size of the state or the depth of the stack.
* The *overlay* says, per state, where the latest version of each rewritten object and of each
  global is. It changes only when something is rewritten or (re)defined; each capture stores its
  changes and a link to the previous capture that had some, and every so often a full snapshot of
  the overlay (when the changes since the last snapshot pass half its size, or 256 links), so a
  restore reads a bounded chain of small state bodies and the snapshots cost amortized O(changes).

Format ``omega-delta/4`` (a body): ``seq``, ``root`` (registers, counters, and ``globals``: the
globals changed here, ``["x"]`` for removed ones), ``records`` (list), ``rewrites``
(``"c.n"`` -> record), ``units`` (unit id -> source, for units first met here; a code reference is
``["c", unit, node, c]``), ``ov`` (``snap`` or ``prev`` + ``rw``). A frame's record holds its
environment inline (``["E", *slots]``, address ``(c, -1 - n)`` for the frame at ``(c, n)``) when
no record reached that environment before: one record per frame of a deep stack, not two
(``/3``, still read, has no inline environments). Encoding and decoding use
explicit work lists only: no nesting depth reaches the host stack.

This module is a capture's bookkeeping (slices, big strings in pieces, payload, overlay, pruning);
how each object becomes a record, and each value its JSON form, is ``shared_records``.
"""

from __future__ import annotations

import array
import itertools
import json
import sys
import time
from typing import Any, Iterator

from omega_core.lang.address_table import AddressTable
from omega_core.lang.builtins import base_globals, is_builtin_value
from omega_core.lang.nodes import Unit
from omega_core.lang.printer import write_string
from omega_core.lang.serialize import _COUNTERS, _REGISTERS, _readable
from omega_core.lang.gc_pause import gc_paused
from omega_core.lang.shared_records import RecordEncoding
from omega_core.lang.value_size import held_bytes

FORMAT = "omega-delta/4"
READABLE_FORMATS = ("omega-delta/3", FORMAT)
"""``/3`` is ``/4`` without inline environments: the decoder reads both."""
CHUNK_RECORDS = 256
"""Records encoded (and turned into JSON text) between two looks at the clock."""
STRING_PIECE_CHARS = 65536
"""A string record longer than this is turned into JSON text this many characters at a time, with
a look at the clock between pieces, and its text stays in pieces (``finish``: the payload is then a
list): one JSON call over a 16 MiB string held the server's loop (and the GIL) for 90-190 ms, and so
did every join or UTF-8 encoding of the whole text. A piece costs about 0.3 ms. JSON escapes each
character on its own (``ensure_ascii=False``), so the pieces concatenated are exactly the text of
the whole string: the format does not change."""
PAYLOAD_JOIN_MAX_CHUNKS = 64
"""A payload of more chunks (16,384 records) stays a list of pieces too: the join and the two
concatenations around it copied 40 MB in one go after a 2-million-pair capture (100 ms)."""
PRUNE_SCAN_PIECE = 16384
"""Places of the table's order compacted between two looks at the clock in ``prune_steps`` (a fast
sequential copy; the other loops there look every 1,024 addresses: each look-up may miss the
processor's caches)."""
SNAPSHOT_LINKS = 256
"""At most this many overlay links between snapshots: bounds what a restore reads."""
PRUNE_MIN = 4096
PRUNE_MIN_BYTES = 64 * 1024 * 1024
"""A prune settles ``value_bytes`` once this much may be garbage (or twice what was kept)."""
DELETED = ["x"]

Address = tuple[int, int]

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)



def _is_big_string(obj: Any) -> bool:
    """Whether ``obj``'s record is encoded in pieces (``SharedEncoder._encode_big_string``)."""
    return type(obj) is str and len(obj) > STRING_PIECE_CHARS


def payload_text(payload: str | list[str]) -> str:
    """The JSON text of a capture's ``payload`` (``SharedEncoder.finish``), whichever form it has."""
    return payload if isinstance(payload, str) else "".join(payload)


def payload_pieces(payload: str | list[str]) -> list[str]:
    """A capture's ``payload`` as a list of pieces of JSON text, to be written one after another."""
    return [payload] if isinstance(payload, str) else payload


class SharedEncoder(RecordEncoding):
    """The capture side of one session's store (see the module doc). Not thread-safe: one user."""

    def __init__(self) -> None:
        self.addr = AddressTable()
        """id(object) -> (capture, position, object): holds the object so its id is not reused."""
        self.unit_at: dict[str, int] = {}
        self.versions: dict[Address, int] = {}
        """Rewritten objects: address -> capture holding the latest version."""
        self.global_at: dict[str, int] = {}
        """User globals: name -> capture whose root holds the latest value."""
        self.chain_prev: int | None = None
        self.changes_since_snapshot = 0
        self.links_since_snapshot = 0
        self.fresh = True
        """No capture yet: the next one writes every global and a snapshot."""
        self.prune_at = PRUNE_MIN
        self.value_bytes = 0
        """What the addressed objects hold (``value_size.held_bytes``): charged as captures address
        objects, settled by ``prune_steps`` (which drops the garbage among them). The session's
        memory budget counts it as what earlier commands keep (``budgets.MemoryMeter.held``)."""
        self.prune_bytes_at = PRUNE_MIN_BYTES
        """``value_bytes`` past which the next capture prunes: bytes charged since the last prune
        may be garbage, so the count is settled once they are as many as it held then."""
        self._body: dict[str, Any] | None = None
        self._rewrites: dict[str, Any] = {}
        self._filled = 0
        self._capture = 0
        self._pending: list[tuple[int, Any]] = []
        self._chunks: list[str | list[str]] = []
        """JSON text of the records so far: a chunk of records, or the pieces of one big string's record."""
        self._string_pieces: list[str] | None = None
        """The pieces of the big string record being encoded (``_encode_big_string``), if any."""
        self._piece_at = 0
        """Characters of that string already encoded."""
        self._units: dict[str, Any] = {}
        self._unit_objects: list[Unit] = []
        self.fixed_forms: dict[int, tuple[Any, Any]] = {}
        """id(node or primitive) -> (it, its JSON form): their encoding never changes, so the hot
        loop looks it up once (the object is held so its id is not reused)."""

    # --- one capture ---------------------------------------------------------------------------

    def capture(self, machine: Any, capture: int) -> dict[str, Any]:
        """The body of capture number ``capture`` (unique, increasing), in one go."""
        self.begin(machine, capture)
        while not self.step(None):
            pass
        return self.finish()

    @property
    def capturing(self) -> bool:
        return self._body is not None

    def begin(self, machine: Any, capture: int) -> None:
        """Start a capture: registers, changed globals and rewritten objects now (small); the new
        objects they reach are encoded by ``step`` calls. The machine must not run until
        ``finish``: the objects still to encode are read as they are then."""
        with gc_paused():
            self._begin(machine, capture)

    def _begin(self, machine: Any, capture: int) -> None:
        self._capture = capture
        self._pending = []
        self._filled = 0
        self._chunks = []
        self._string_pieces = None
        self._units = {}
        self._unit_objects = []
        table = machine.globals
        rewrites: dict[str, Any] = {}
        if not self.fresh:
            for obj in list(table.dirty_objects.values()):
                entry = self.addr.get(id(obj))
                if entry is not None and entry[2] is obj:
                    rewrites[f"{entry[0]}.{entry[1]}"] = self._record(obj)
        root: dict[str, Any] = {name: self.enc(getattr(machine, name)) for name in _REGISTERS if name != "effect_args"}
        root["effect_args"] = self.enc(tuple(machine.effect_args))  # a tuple: no record of the list
        changed: dict[str, Any] = {}
        if self.fresh:
            for name, value in table.items():
                if not is_builtin_value(name, value):
                    changed[name] = self.enc(value)
        else:
            for name in sorted(table.dirty):
                if name in table:
                    changed[name] = self.enc(table[name])
                elif name in self.global_at:
                    changed[name] = DELETED
        root["globals"] = changed
        root["removed_builtins"] = [name for name in base_globals() if name not in table]
        root["status"] = machine.status.value
        root["effect_op"] = machine.effect_op
        error = machine.error
        root["error"] = {"code": error.code, "message": error.message} if error is not None else None
        root["output"] = "".join(machine.output)
        for name in _COUNTERS:
            root[name] = getattr(machine, name)
        root["undo"] = machine.undo.encode(self.enc)  # what the running command would undo (undo.py)
        table.dirty.clear()
        table.dirty_objects.clear()
        self._rewrites = rewrites
        self._body = {"format": FORMAT, "seq": capture, "root": root,
                      "ov": self._overlay_step(capture, rewrites, changed)}

    def step(self, budget_s: float | None) -> bool:
        """Encode new objects for about ``budget_s`` seconds (None: all); True when all are done."""
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        with gc_paused():
            return self._step(deadline)

    def _step(self, deadline: float | None) -> bool:
        pending = self._pending
        record = self._record
        while True:
            while self._filled < len(pending):
                if self._string_pieces is not None or _is_big_string(pending[self._filled]):
                    if not self._encode_big_string(deadline):
                        return False
                    continue
                chunk = []
                charged = 0
                filled = self._filled
                while filled < len(pending) and len(chunk) < CHUNK_RECORDS:  # grows as records reach more
                    obj = pending[filled]
                    if _is_big_string(obj):
                        break  # in pieces of its own, next round
                    chunk.append(record(obj, filled))
                    charged += held_bytes(obj)
                    pending[filled] = None
                    filled += 1
                self._filled = filled
                self.value_bytes += charged
                if chunk:
                    self._chunks.append(_COMPACT.encode(chunk)[1:-1])
                if deadline is not None and time.perf_counter() > deadline:
                    return False
            if not self._unit_objects:
                return True
            while self._unit_objects:
                unit = self._unit_objects.pop()
                datum = unit.datum
                self._units[unit.unit_id] = write_string(datum) if _readable(datum) else {"datum": self.enc(datum)}

    def _encode_big_string(self, deadline: float | None) -> bool:
        """Go on with the record ``["str", TEXT]`` of the big string at ``self._filled``, a piece of
        ``STRING_PIECE_CHARS`` at a time until ``deadline``; True when its record is done."""
        pending = self._pending
        text = pending[self._filled]
        pieces = self._string_pieces
        if pieces is None:
            pieces = self._string_pieces = ['["str","']
            self._piece_at = 0
        while self._piece_at < len(text):
            end = self._piece_at + STRING_PIECE_CHARS
            pieces.append(_COMPACT.encode(text[self._piece_at:end])[1:-1])
            self._piece_at = end
            if deadline is not None and time.perf_counter() > deadline and self._piece_at < len(text):
                return False
        pieces.append('"]')
        self.value_bytes += held_bytes(text)
        self._chunks.append(pieces)
        self._string_pieces = None
        pending[self._filled] = None
        self._filled += 1
        return True

    def finish(self) -> dict[str, Any]:
        """The finished body: ``payload`` is the JSON text of its records, rewrites and units: one
        string, or a list of strings to be written one after the other when the records hold a big
        string (``STRING_PIECE_CHARS``: joining them would be one long call again); None when empty.
        ``payload_text`` reads either."""
        body = self._body
        assert body is not None and self._filled == len(self._pending), "finish() before every step"
        count = len(self._pending)
        body["counts"] = [count, len(self._rewrites), len(self._units)]
        body["payload"] = None if not any(body["counts"]) else self._payload()
        self._body = None
        self._pending, self._chunks, self._units, self._rewrites = [], [], {}, {}
        return body

    def _payload(self) -> str | list[str]:
        tail = '],"rewrites":' + _COMPACT.encode(self._rewrites) + ',"units":' + _COMPACT.encode(self._units) + "}"
        if len(self._chunks) <= PAYLOAD_JOIN_MAX_CHUNKS and all(type(chunk) is str for chunk in self._chunks):
            return '{"records":[' + ",".join(self._chunks) + tail  # type: ignore[arg-type]
        parts: list[str] = ['{"records":[']
        for number, chunk in enumerate(self._chunks):
            if number:
                parts.append(",")
            if type(chunk) is str:
                parts.append(chunk)
            else:
                parts.extend(chunk)
        parts.append(tail)
        return parts

    @property
    def wants_prune(self) -> bool:
        return len(self.addr) > self.prune_at or self.value_bytes > self.prune_bytes_at

    def _overlay_step(self, capture: int, rewrites: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        for key in rewrites:
            first, position = key.split(".")
            self.versions[(int(first), int(position))] = capture
        for name, value in changed.items():
            if value is DELETED:
                self.global_at.pop(name, None)
            else:
                self.global_at[name] = capture
        count = len(rewrites) + len(changed)
        size = len(self.versions) + len(self.global_at)
        if self.fresh or (count and (self.changes_since_snapshot + count >= max(32, size // 2)
                                     or self.links_since_snapshot >= SNAPSHOT_LINKS)):
            self.fresh = False
            self.chain_prev = capture
            self.changes_since_snapshot = self.links_since_snapshot = 0
            return {"snap": {"v": [[a, b, c] for (a, b), c in self.versions.items()], "g": dict(self.global_at)}}
        if not count:
            return {"prev": self.chain_prev}
        step = {"prev": self.chain_prev, "rw": list(rewrites)}
        self.chain_prev = capture
        self.changes_since_snapshot += count
        self.links_since_snapshot += 1
        return step

    def prune(self) -> None:
        """Forget, in one go, objects nothing else holds (see ``prune_steps``)."""
        for _ in self.prune_steps(None):
            pass

    def prune_steps(self, budget_s: float | None, forget_all: bool = False) -> Iterator[None]:
        """Forget objects nothing else holds (garbage: no later state can reach them), yielding
        every ``budget_s`` seconds so a big table is pruned in slices. ``forget_all``: every
        entry, held elsewhere or not (the session is gone: ``lang.release.release_session_values``);
        in this order an entry's object is freed alone, never with a chain behind it.

        Referrers before what they refer to: newest capture first, and within a capture in address
        order (the order encoding reached them from the roots: the table's ``order_ids``), so a
        dead chain (a returned-from stack) goes in one pass. Cyclic garbage stays until the machine
        is next replaced. The search for each capture's first address and the compaction of the
        order pause too (1,024 and ``PRUNE_SCAN_PIECE`` at a time): after a capture of a
        2-million-pair list, a prune in one go held the loop for 0.8 s."""
        table = self.addr
        shards = table.shards
        ids, captures = table.order_ids, table.order_captures
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        total = len(ids)
        kept = bytearray(total)  # 1 where the entry a place stands for stays (not walked by the collector)
        visited = 0
        kept_bytes = 0
        obj: Any = None
        end = total
        while end > 0:
            start = end - 1
            block = captures[start]
            while start > 0 and captures[start - 1] == block:  # the capture's first address
                start -= 1
                if deadline is not None and not start % 1024 and time.perf_counter() > deadline:
                    yield None
                    deadline = time.perf_counter() + budget_s  # type: ignore[operator]
            for place in range(start, end):
                key = ids[place]
                shard = shards[key >> 4 & 8191]  # address_table: ID_SHIFT, SLOT_MASK
                entry = shard.get(key)
                if entry is None or entry[0] != block:
                    continue  # pruned, or the id now names an object of a later capture
                obj = entry[2]
                entry = None
                if forget_all or sys.getrefcount(obj) <= 3:  # the table's entry, ``obj``, the call's argument
                    del shard[key]
                else:
                    kept_bytes += held_bytes(obj)
                    kept[place] = 1
                obj = None
                visited += 1
                if deadline is not None and not visited % 1024 and time.perf_counter() > deadline:
                    yield None
                    deadline = time.perf_counter() + budget_s  # type: ignore[operator]
            end = start
        kept_ids, kept_captures = array.array("Q"), array.array("Q")
        for piece in range(0, total, PRUNE_SCAN_PIECE):
            stop = min(total, piece + PRUNE_SCAN_PIECE)
            kept_ids.extend(itertools.compress(ids[piece:stop], kept[piece:stop]))
            kept_captures.extend(itertools.compress(captures[piece:stop], kept[piece:stop]))
            if deadline is not None and time.perf_counter() > deadline:
                yield None
                deadline = time.perf_counter() + budget_s  # type: ignore[operator]
        kept_ids.extend(ids[total:])  # added by a capture during a pause (none today: kept all the same)
        kept_captures.extend(captures[total:])
        table.order_ids, table.order_captures = kept_ids, kept_captures
        self.prune_at = max(PRUNE_MIN, 2 * len(table))
        self.settle_value_bytes(kept_bytes)

    def settle_value_bytes(self, kept_bytes: int) -> None:
        """``kept_bytes`` is what the addressed objects hold now (after a prune or a restore)."""
        self.value_bytes = kept_bytes
        self.prune_bytes_at = max(PRUNE_MIN_BYTES, 2 * kept_bytes)

    # --- encoding ------------------------------------------------------------------------------
