"""Reading a replay sidecar's captures for restores (``replay_sidecar``), fast on first and later use.

A goto on an OmegaLLM session restores a sidecar state whose live values were captured by many
earlier captures (a global redefined 100 inputs ago lives in that input's capture): a restore
reads the state line and records line of each. Three things keep that cheap:

* the lines are read through 64 KB blocks of the file (one read for the many small nearby lines
  a restore needs, not four system calls a line);
* what restores share is kept per file in this process (``FileCaches``, one per ``generation``
  of the file, the random token of its key line): parsed state bodies, parsed records lines and
  decoded immutable objects (``restore_cache.DecodeCache``), all keyed by a capture's identity:
  the offset of its state line and the CRC-32 of its two lines (``capture_crc``). The sidecar is
  only ever appended to, and other bytes at an offset (a file rewritten in place) have another
  CRC, so a cached value is only ever used for the bytes it was read from.
* an open warms those caches once (``warm_caches``), as OmegaLLM parses its states at open.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_core.errors import OmegaError
from omega_core.lang import restore_shared
from omega_core.lang.restore_cache import DecodeCache
from omega_core.lang.serialize import StateFormatError
from omega_core.lang.serialize_shared import FORMAT as SHARED_FORMAT
from omega_core.lang.gc_pause import gc_paused
from omega_core.lang.serialize_shared import payload_pieces
from omega_core.session.checkpoint_restore import state_id_of
from omega_core.session.records_line import loads_records

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.session.replay_sidecar import ReplaySidecar

BODY_CACHE_SIZE = 8192
"""State bodies kept parsed between restores: a restore reads the body of every capture that
holds the latest value of a live global, and gotos read the same ones again and again."""
RECORDS_CACHE_BYTES = 16 * 1024 * 1024
"""Parsed records lines kept between restores, by the size of their text (mutable objects, such
as hash tables, are decoded from them at every restore). With the decode cache (about 30 MB at
most) and FILE_CACHES_KEPT files, the caches stay under a few hundred MB in the worst case."""
FILE_CACHES_KEPT = 4
"""Sidecar files whose caches outlive the sessions that read them (a session opened again, as the
TUI and the server do, finds them warm)."""
BLOCK_BYTES = 64 * 1024
"""Reads of the sidecar for one restore: the captures it needs are mostly near each other."""

_EMPTY_RECORDS: dict[str, Any] = {"records": [], "rewrites": {}, "units": {}}
Identity = tuple[int, int]
"""(offset of a capture's state line, ``capture_crc`` of its lines)."""
_REC_AT_END = re.compile(rb',"rec":(\d+|null)\}\}\n\Z')
"""How ``CheckpointStates.flush`` ends a state line: the offset of its records line, or null."""


def capture_crc(state_line: bytes, records_line: tuple[int, bytes] | None, state_id: str) -> int | None:
    """CRC-32 of a capture's records line then its state line (each with its newline): with the
    state line's offset, what names the capture's bytes in the caches (``FileCaches``), so a file
    replaced under the same name by other bytes never finds another capture's objects. None if the
    state line names records other than ``records_line`` (offset, bytes) or cannot be read so."""
    match = _REC_AT_END.search(state_line)
    if match is None:
        return None
    if match.group(1) == b"null":
        return zlib.crc32(state_line)
    if (records_line is None or records_line[0] != int(match.group(1))
            or not records_line[1].startswith(b'{"recordsOf":' + json.dumps(state_id).encode() + b",")):
        return None
    return zlib.crc32(state_line, zlib.crc32(records_line[1]))


@dataclass
class FileCaches:
    """What restores from one sidecar file (one generation of it) share in this process. Mutable
    on purpose: caches, each bounded."""

    bodies: collections.OrderedDict[Identity, dict[str, Any]] = field(default_factory=collections.OrderedDict)
    """Parsed state bodies by the identity of their capture (stored captures only)."""
    records: collections.OrderedDict[Identity, tuple[int, dict[str, Any]]] = field(default_factory=collections.OrderedDict)
    """(text size, parsed records line) by the identity of their capture."""
    records_bytes: int = 0
    decoded: DecodeCache = field(default_factory=DecodeCache)
    lock: threading.Lock = field(default_factory=threading.Lock)
    warmed: bool = False
    """``warm_caches`` ran (once per file generation and process)."""

    def body(self, line: Identity) -> dict[str, Any] | None:
        with self.lock:
            body = self.bodies.get(line)
            if body is not None:
                self.bodies.move_to_end(line)
            return body

    def keep_body(self, line: Identity, body: dict[str, Any]) -> None:
        with self.lock:
            self.bodies[line] = body
            if len(self.bodies) > BODY_CACHE_SIZE:
                self.bodies.popitem(last=False)

    def records_at(self, line: Identity) -> dict[str, Any] | None:
        with self.lock:
            entry = self.records.get(line)
            if entry is None:
                return None
            self.records.move_to_end(line)
            return entry[1]

    def keep_records(self, line: Identity, size: int, records: dict[str, Any]) -> None:
        with self.lock:
            if line in self.records:
                return
            self.records[line] = (size, records)
            self.records_bytes += size
            while self.records_bytes > RECORDS_CACHE_BYTES and len(self.records) > 1:
                _, (dropped, _) = self.records.popitem(last=False)
                self.records_bytes -= dropped


_FILE_CACHES: collections.OrderedDict[tuple[str, str], FileCaches] = collections.OrderedDict()
_FILE_CACHES_LOCK = threading.Lock()


def caches_of(path: Path, generation: str | None) -> FileCaches:
    """The caches of the sidecar ``path`` as written under ``generation`` (the random token of its
    key line: a file replaced by another gets a new one); private ones for a file without one."""
    if generation is None:
        return FileCaches()
    key = (str(path.resolve()), generation)
    with _FILE_CACHES_LOCK:
        caches = _FILE_CACHES.get(key)
        if caches is None:
            caches = _FILE_CACHES[key] = FileCaches()
            while len(_FILE_CACHES) > FILE_CACHES_KEPT:
                _FILE_CACHES.popitem(last=False)
        else:
            _FILE_CACHES.move_to_end(key)
        return caches


class _Blocks:
    """Whole lines of one open file, read through BLOCK_BYTES blocks (kept for one restore)."""

    def __init__(self, handle: Any, path: Path) -> None:
        self.handle = handle
        self.path = path
        self.blocks: dict[int, bytes] = {}

    def _block(self, index: int) -> bytes:
        block = self.blocks.get(index)
        if block is None:
            self.handle.seek(index * BLOCK_BYTES)
            block = self.blocks[index] = self.handle.read(BLOCK_BYTES)
        return block

    def line_at(self, offset: int) -> bytes:
        """The complete line starting at byte ``offset`` (without its newline)."""
        if offset < 0:
            raise StateFormatError(f"line at negative offset {offset} of {self.path}")
        if offset > 0:
            before = offset - 1
            block = self._block(before // BLOCK_BYTES)
            at = before % BLOCK_BYTES
            if at >= len(block) or block[at] != 0x0A:
                raise StateFormatError(f"byte {offset} of {self.path} is not the start of a line")
        parts: list[bytes] = []
        position = offset
        while True:
            index, start = divmod(position, BLOCK_BYTES)
            block = self._block(index)
            if start >= len(block):
                raise StateFormatError(f"the line at byte {offset} of {self.path} is cut short")
            end = block.find(b"\n", start)
            if end >= 0:
                parts.append(block[start:end])
                return b"".join(parts)
            parts.append(block[start:])
            position = (index + 1) * BLOCK_BYTES

    def object_at(self, offset: int) -> tuple[dict[str, Any], int]:
        """The JSON object on the line at ``offset`` and the length of that line."""
        line = self.line_at(offset)
        try:
            value = loads_records(line)
        except (ValueError, UnicodeDecodeError) as problem:
            raise StateFormatError(f"the line at byte {offset} of {self.path} is not JSON ({problem})") from None
        if not isinstance(value, dict):
            raise StateFormatError(f"the line at byte {offset} of {self.path} is not a JSON object")
        return value, len(line)


class SidecarReader:  # a restore_cache.LineAddressedReader
    """Reads captures of one sidecar for one restore: pending ones from memory, stored ones from its
    file through the file's caches."""

    def __init__(self, sidecar: "ReplaySidecar") -> None:
        self.sidecar = sidecar
        self.caches: FileCaches = sidecar.caches
        self.blocks: _Blocks | None = None
        self.pending_records: dict[int, dict[str, Any]] = {}
        self.seen_records: dict[int, dict[str, Any]] = {}
        self.seen_bodies: dict[int, dict[str, Any]] = {}
        self.lines: dict[int, Identity | None] = {}
        self.bytes_read = 0
        """Bytes of records lines read from the file (not from the caches)."""

    def __enter__(self) -> "SidecarReader":
        self.sidecar.store.complete()
        self.blocks = _Blocks(open(self.sidecar.path, "rb"), self.sidecar.path)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.blocks is not None:
            self.blocks.handle.close()
            self.blocks = None

    def line_of(self, capture: int) -> Identity | None:
        """The identity of ``capture``'s stored lines (None if it is not stored, or its lines do
        not read as ``flush`` writes them: then it is read, never cached)."""
        lines = self.lines
        if capture in lines:
            return lines[capture]
        offset = self._offset_of(capture)
        identity = None
        if offset is not None:
            crc = self.sidecar.line_crcs.get(offset)
            if crc is None and self.blocks is not None:  # appended since the sidecar was loaded
                crc = self._crc_at(offset, state_id_of(capture))
                if crc is not None:
                    self.sidecar.line_crcs[offset] = crc
            identity = (offset, crc) if crc is not None else None
        lines[capture] = identity
        return identity

    def _offset_of(self, capture: int) -> int | None:
        store = self.sidecar.store
        state_id = state_id_of(capture)
        ref = store.refs.get(state_id)
        offset = ref.get("offset") if isinstance(ref, dict) and state_id not in store.pending else None
        return offset if isinstance(offset, int) else None

    def _crc_at(self, offset: int, state_id: str) -> int | None:
        assert self.blocks is not None
        try:
            state_line = self.blocks.line_at(offset) + b"\n"
            match = _REC_AT_END.search(state_line)
            records_line = None
            if match is not None and match.group(1) != b"null":
                at = int(match.group(1))
                records_line = (at, self.blocks.line_at(at) + b"\n")
        except StateFormatError:
            return None
        return capture_crc(state_line, records_line, state_id)

    def body(self, capture: int) -> dict[str, Any]:
        known = self.seen_bodies.get(capture)  # asked again for each global and record it holds
        if known is None:
            known = self.seen_bodies[capture] = self._body(capture)
        return known

    def _body(self, capture: int) -> dict[str, Any]:
        state_id = state_id_of(capture)
        pending = self.sidecar.store.pending.get(state_id)
        if pending is not None:
            return pending
        offset = self._offset_of(capture)
        if offset is None:
            raise StateFormatError(f"no stored state {state_id!r} in {self.sidecar.path}")
        identity = self.line_of(capture)
        body = self.caches.body(identity) if identity is not None else None
        if body is not None:
            return body
        assert self.blocks is not None, "read inside `with SidecarReader(...)`"
        entry, _ = self.blocks.object_at(offset)
        body = entry.get("state")
        if entry.get("stateId") != state_id or not isinstance(body, dict):
            raise StateFormatError(f"state {state_id!r} not found at byte {offset} of {self.sidecar.path}")
        if body.get("format") != SHARED_FORMAT or body.get("seq") != capture:
            raise StateFormatError(f"capture {capture} is not a shared state of this sidecar")
        if identity is not None:
            self.caches.keep_body(identity, body)
        return body

    def records(self, capture: int) -> dict[str, Any]:
        known = self.seen_records.get(capture)  # the decoder asks once per object: answer from here
        if known is None:
            known = self.seen_records[capture] = self._records(capture)
        return known

    def _records(self, capture: int) -> dict[str, Any]:
        body = self.body(capture)
        if "payload" in body:  # captured, not flushed yet
            parsed = self.pending_records.get(capture)
            if parsed is None:
                payload = body["payload"]
                parsed = loads_records(payload_pieces(payload)) if payload is not None else _EMPTY_RECORDS
                self.pending_records[capture] = parsed
            return parsed
        offset = body.get("rec")
        if offset is None:
            return _EMPTY_RECORDS
        if not isinstance(offset, int):
            raise StateFormatError(f"capture {capture}: records offset {offset!r} is not a byte offset")
        identity = self.line_of(capture)
        records = self.caches.records_at(identity) if identity is not None else None
        if records is not None:
            return records
        assert self.blocks is not None, "read inside `with SidecarReader(...)`"
        records, size = self.blocks.object_at(offset)
        if records.get("recordsOf") != state_id_of(capture):
            raise StateFormatError(f"records of capture {capture} not found at byte {offset} of {self.sidecar.path}")
        self.bytes_read += size
        if identity is not None:
            self.caches.keep_records(identity, size, records)
        return records


WARM_BYTES = 16 * 1024 * 1024
"""Records a sidecar's warm-up reads at most (newest captures first): about 200k events of a
session like bench/omegallm.py's."""
WARM_UNITS = 4096
"""Code units a warm-up compiles at most (compiling is most of its work: about 70 us a function,
so 0.3 s at most on an idle core: the newest 60k events of a session like the bench's)."""
_WARM_TAGS = frozenset({"pair", "clo", "oracle", "str"})


def warm_caches(sidecar: "ReplaySidecar", budget_bytes: int = WARM_BYTES) -> int:
    """Decode once, when a session with a sidecar is opened, the immutable objects of its captures
    (newest first) into the file's caches; return how many the caches hold then.

    OmegaLLM answers a goto from states it parsed at open; this is Omega's equivalent on a file a
    hundred times smaller. Without it the first goto to a region of a long session pays for every
    value it had not seen yet: a state's live globals were captured by as many earlier captures
    (a function defined 400 inputs ago lives in that input's capture), each a line to read and a
    function to compile, about 30 ms for 100 globals. The work is bounded by ``budget_bytes`` of
    records, WARM_UNITS functions compiled and the decode cache's size, counted, never timed, and
    done once per file generation in this process. Its compiled code is kept only by the closures
    it caches, so it never evicts what restores use from the compiled-code cache. The sidecar is
    a cache: anything unreadable ends the warm-up, and restores read what it left out.
    """
    caches = sidecar.caches
    if caches.warmed or not sidecar.seqs:
        return len(caches.decoded)
    caches.warmed = True
    captures = sorted(sidecar.seqs, reverse=True)
    try:
        with gc_paused(), SidecarReader(sidecar) as reader:
            decoder = restore_shared.SharedDecoder(reader, caches.decoded, keep_units=False)
            for capture in captures:
                if reader.line_of(capture) is None:
                    continue
                records = reader.records(capture)
                for position, record in enumerate(records.get("records", ())):
                    if type(record) is list and record and record[0] in _WARM_TAGS:
                        decoder.dec(["r", capture, position])
                while decoder.to_fill or decoder.tables:
                    decoder.fill_all()
                    decoder.fill_tables()
                if (reader.bytes_read >= budget_bytes or len(decoder.objects) >= caches.decoded.max_objects
                        or len(decoder.units) >= WARM_UNITS):
                    break
            decoder.publish()
    except (StateFormatError, ValueError, KeyError, IndexError, TypeError, AttributeError, OSError, OmegaError):
        pass  # a damaged capture: nothing is published (objects may be half filled); restores meet it
        # (and fall back) on their own
    return len(caches.decoded)
