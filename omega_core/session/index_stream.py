"""Loading an index without decoding the machine states OmegaLLM stores in it.

Why: OmegaLLM's index holds a full TypeScript machine state per checkpoint (about 50 KB each; a
48k-event session has 520 MB of them) in a format Omega never restores: Omega rebuilds by replaying
the log. Decoding them cost 9.5 s and over a gigabyte at every open. Here the ``states`` object is
streamed past: each entry's key is read, small values (our references into the states file) are
decoded, and every big value is kept as a ``RawState``, a byte range of the file that is never
decoded, only copied as is if Omega rewrites the index (so OmegaLLM keeps its states).

How, without a JSON parser over 520 MB: OmegaLLM writes its index with ``JSON.stringify(index,
null, 2)``, and Omega writes an index holding raw states the same way (``write_pretty_index``). In
that layout a JSON string never holds a raw newline, so every line's indentation is structural: an
entry of ``states`` starts with a line ``    "<id>": {`` and ends at the first later line that is
exactly four spaces and a ``}``. That line is found with ``bytes.find`` on blocks of the file,
never looking at what is between. An index in any other layout (ours, compact) is decoded whole by
the caller, which is cheap since our states are references.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from omega_core.session.atomic import FILE_MODE, fsync_dir
from omega_core.session.errors import CorruptIndex, StorageError, storage_error
from omega_core.session.warn import warn

__all__ = ["RawState", "RAW_BLOCK_KEY", "load_index_streaming", "has_raw_states", "write_pretty_index", "RAW_STATE_MIN_BYTES"]

RAW_STATE_MIN_BYTES = 4096
"""States entries at least this long are kept as raw byte ranges (ours are refs of ~60 bytes)."""
RAW_BLOCK_KEY = "\x00omegallm-states"
"""Key (no state id can be it) of the RawState holding every ``states`` entry from the first big one
on, as one block: found from the end of the file (``receipts`` follows it), so opening never reads
it at all. Omega writes its own small entries first, then this block."""
TAIL_SEARCH_BYTES = 64 * 1024 * 1024
"""How far from the end the ``receipts`` key is looked for (else entries are walked one by one)."""
_RECEIPTS_KEY = b'\n  "receipts": '
_STATES_CLOSE = b"\n  },"
_STATES_KEY = b'\n  "states": '
_ENTRY_PREFIX = b'    "'
_BLOCK = 1024 * 1024


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class RawState:
    """A states entry left undecoded: bytes ``start`` to ``end`` of the index file ``path``.

    Not a frozen record on purpose: when Omega rewrites the index, the entry moves to a new place in
    the new file and ``write_pretty_index`` updates the objects that the session holds. ``identity``
    (device, inode, size, mtime) is the file's when the range was measured: if the file has been
    replaced since (OmegaLLM rewrote it), the range means nothing and reading it refuses.
    """

    __slots__ = ("path", "start", "end", "identity")

    def __init__(self, path: Path, start: int, end: int, identity: tuple[int, int, int, int]) -> None:
        self.path = path
        self.start = start
        self.end = end
        self.identity = identity

    def __repr__(self) -> str:
        return f"RawState({self.path.name}, {self.start}..{self.end})"

    def check(self) -> None:
        """CorruptIndex unless the file is still the one the range was measured in."""
        try:
            if _identity(os.stat(self.path)) != self.identity:
                raise CorruptIndex(f"index {self.path} was replaced since it was read: its OmegaLLM "
                                   "state cannot be copied", self.path)
        except OSError as exc:
            raise CorruptIndex(f"index {self.path} cannot be read again ({exc.strerror})", self.path) from exc

    def copy_to(self, fd: int) -> int:
        """Append the entry's bytes to the open file ``fd``, a block at a time; return how many."""
        try:
            with open(self.path, "rb") as handle:
                if _identity(os.fstat(handle.fileno())) != self.identity:
                    raise CorruptIndex(f"index {self.path} was replaced while it was copied", self.path)
                handle.seek(self.start)
                remaining = self.end - self.start
                while remaining > 0:
                    block = handle.read(min(_BLOCK, remaining))
                    if not block:
                        raise CorruptIndex(f"index {self.path} is shorter than when it was read", self.path)
                    _write_all(fd, block)
                    remaining -= len(block)
        except OSError as exc:
            raise CorruptIndex(f"index {self.path} cannot be read again ({exc.strerror})", self.path) from exc
        return self.end - self.start

    def read_bytes(self) -> bytes:
        """The entry's JSON text; CorruptIndex if the file is no longer the one measured."""
        try:
            with open(self.path, "rb") as handle:
                if _identity(os.fstat(handle.fileno())) != self.identity:
                    raise CorruptIndex(f"index {self.path} was replaced since it was read: its OmegaLLM "
                                       "state cannot be copied", self.path)
                handle.seek(self.start)
                data = handle.read(self.end - self.start)
        except OSError as exc:
            raise CorruptIndex(f"index {self.path} cannot be read again ({exc.strerror})", self.path) from exc
        if len(data) != self.end - self.start:
            raise CorruptIndex(f"index {self.path} is shorter than when it was read", self.path)
        return data


class _NotPretty(Exception):
    """The index is not in the two-space layout: the caller decodes it whole."""


class _File:
    """Reads and searches an open file by absolute offsets through one window of it.

    The window slides forward only when a search or read runs past its end, so each byte of the
    file is read (and copied) about once, however many entries a window holds."""

    def __init__(self, handle: Any, size: int) -> None:
        self.handle = handle
        self.size = size
        self.start = 0
        self.data = b""

    def _cover(self, start: int, end: int) -> None:
        """Make the window hold bytes ``start`` to ``end`` (as many as the file has)."""
        window_end = self.start + len(self.data)
        end = min(end, self.size)
        if self.start <= start and end <= window_end:
            return
        want = max(end - start, _BLOCK)
        if self.start <= start < window_end:  # keep the part already read
            keep = self.data[start - self.start:]
            self.handle.seek(window_end)
            self.data = keep + self.handle.read(want - len(keep))
        else:
            self.handle.seek(start)
            self.data = self.handle.read(want)
        self.start = start

    def read(self, start: int, end: int) -> bytes:
        self._cover(start, end)
        return self.data[start - self.start:end - self.start]

    def line(self, start: int) -> bytes:
        """The line at ``start`` with its newline (without one at the end of the file)."""
        end = self.find(b"\n", start)
        return self.read(start, self.size if end < 0 else end + 1)

    def find(self, pattern: bytes, start: int) -> int:
        """Offset of the first ``pattern`` at or after ``start``; -1 if none."""
        position = start
        self._cover(position, position + len(pattern))
        while True:
            found = self.data.find(pattern, position - self.start)
            if found >= 0:
                return self.start + found
            window_end = self.start + len(self.data)
            if window_end >= self.size:
                return -1
            position = max(position, window_end - (len(pattern) - 1))
            self._cover(position, position + _BLOCK)


def _decode(data: bytes, path: Path, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptIndex(f"index {path} is damaged: {what} is not valid JSON; rebuild it from the log",
                           path) from exc


def _entry(file: _File, path: Path, pos: int, identity: tuple[int, int, int, int],
           small_only: bool) -> tuple[str, Any, int] | None:
    """(key, value, offset after the entry's last line) for the ``states`` entry starting at ``pos``;
    None if ``small_only`` and the entry is big (its end is not within RAW_STATE_MIN_BYTES)."""
    line = file.line(pos)
    if not line.startswith(_ENTRY_PREFIX):
        raise _NotPretty
    try:
        text = line.decode("utf-8")
        key, key_end = json.JSONDecoder().raw_decode(text, 4)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _NotPretty from exc
    rest = text[key_end:].lstrip()
    if not isinstance(key, str) or not rest.startswith(":"):
        raise _NotPretty
    value_text = rest[1:].strip()
    if value_text not in ("{", "["):  # the whole value is on this line
        return key, _decode(value_text.rstrip(",").encode("utf-8"), path, f"state {key!r}"), pos + len(line)
    closer = b"\n    }" if value_text == "{" else b"\n    ]"
    value_start = pos + len(line.rstrip()) - 1  # the opening bracket ends the line
    if small_only:
        file.read(pos, pos + len(line) + RAW_STATE_MIN_BYTES)  # bring the next bytes into the window
        window_offset = pos + len(line) - 1 - file.start
        found = file.data.find(closer, window_offset, window_offset + RAW_STATE_MIN_BYTES)
        if found < 0:
            return None
        close = file.start + found
    else:
        close = file.find(closer, pos + len(line) - 1)
    if close < 0:
        raise CorruptIndex(f"index {path} is damaged: state {key!r} is not closed; rebuild it from the log", path)
    value_end = close + len(closer)
    if value_end - value_start < RAW_STATE_MIN_BYTES:
        value: Any = _decode(file.read(value_start, value_end), path, f"state {key!r}")
    else:
        value = RawState(path, value_start, value_end, identity)
    return key, value, value_end + len(file.line(value_end))


def _states_end_from_tail(file: _File, states_at: int) -> int:
    """Where the last entry of ``states`` ends (the ``\n`` of its closing line ``  },``), found from
    the end of the file by the key that follows states in OmegaLLM's files and ours, ``receipts``;
    -1 if there is none (the caller then walks the entries one by one)."""
    size = file.size
    if size - states_at < 16:
        return -1
    lowest = max(states_at, size - TAIL_SEARCH_BYTES)
    end = size
    while end > lowest:  # look for the receipts key backwards, a block at a time
        start = max(lowest, end - _BLOCK)
        file.handle.seek(start)
        block = file.handle.read(min(size, end + len(_RECEIPTS_KEY)) - start)
        found = block.rfind(_RECEIPTS_KEY)
        if found >= 0:
            key_at = start + found
            if key_at <= states_at or file.read(key_at - len(_STATES_CLOSE), key_at) != _STATES_CLOSE:
                return -1
            return key_at - len(_STATES_CLOSE)
        end = start
    return -1


def _scan(handle: Any, path: Path) -> dict[str, Any]:
    identity = _identity(os.fstat(handle.fileno()))
    file = _File(handle, identity[2])
    states_at = file.find(_STATES_KEY, 0)
    if states_at < 0:
        raise _NotPretty
    head_text = file.read(0, states_at).rstrip()
    head = _decode(head_text.rstrip(b",") + b"\n}", path, "the part before states")
    if not isinstance(head, dict):
        raise _NotPretty
    pos = states_at + len(_STATES_KEY)
    first = file.line(pos).rstrip()
    states: dict[str, Any] = {}
    if first.startswith(b"{}"):
        after = pos + 2
    elif first == b"{":
        pos += len(file.line(pos))
        small_only = True
        while True:
            line = file.line(pos)
            if line.startswith(b"  }"):
                after = pos + 3
                break
            if not line:
                raise CorruptIndex(f"index {path} is damaged: states is not closed; rebuild it from the log", path)
            entry = _entry(file, path, pos, identity, small_only)
            if entry is None:  # the first big entry: the rest of states is one block, never read
                block_end = _states_end_from_tail(file, states_at)
                if block_end > pos:
                    states[RAW_BLOCK_KEY] = RawState(path, pos, block_end, identity)
                    after = block_end + 4
                    break
                small_only = False  # another layout of the tail: walk the entries one by one
                continue
            key, value, pos = entry
            states[key] = value
    else:
        raise _NotPretty
    tail = file.read(after, identity[2]).strip()
    rest: Any = {}
    if tail.startswith(b","):
        rest = _decode(b"{" + tail[1:], path, "the part after states")
    elif tail != b"}":
        raise CorruptIndex(f"index {path} is damaged: unexpected text after states; rebuild it from the log", path)
    if not isinstance(rest, dict):
        raise _NotPretty
    index = dict(head)
    index["states"] = states
    index.update(rest)
    return index


def load_index_streaming(path: Path) -> dict[str, Any] | None:
    """The index at ``path`` with big states entries left as RawState; None if it is not in the
    two-space layout (the caller decodes it whole). Raises CorruptIndex for damage it sees, OSError
    if the file cannot be read."""
    with open(path, "rb") as handle:
        try:
            return _scan(handle, Path(path))
        except _NotPretty:
            return None


def has_raw_states(index: dict[str, Any]) -> bool:
    states = index.get("states")
    return isinstance(states, dict) and any(isinstance(value, RawState) for value in states.values())


def write_pretty_index(path: Path, index: dict[str, Any], fsync: bool = True) -> None:
    """Write ``index`` (already in key order) in OmegaLLM's two-space layout, copying each RawState's
    bytes as they are; then point those RawState objects at their place in the new file.

    Atomic as ``atomic.atomic_write_bytes`` (temp file, fsync, rename, directory fsync), but
    streamed: the raw states (520 MB in a 48k-event session) are copied a block at a time, never
    held in memory. A RawState whose file has been replaced meanwhile is left out with a logged
    warning: it is OmegaLLM's cache of its own machine (Omega never reads it), so leaving it out
    loses nothing acknowledged; OmegaLLM rebuilds such a state itself.
    """
    path = Path(path)
    states = index.get("states") or {}
    skeleton_states: dict[str, Any] = {key: value for key, value in states.items() if not isinstance(value, RawState)}
    ordered = [key for key, value in states.items() if isinstance(value, RawState) and key != RAW_BLOCK_KEY]
    if isinstance(states.get(RAW_BLOCK_KEY), RawState):
        ordered.append(RAW_BLOCK_KEY)  # last: it may only be followed by the end of states
    raws: list[tuple[str, RawState]] = []
    for key in ordered:
        raw = states[key]
        try:
            raw.check()
        except CorruptIndex as problem:
            warn(f"{problem.message}; left out of the rewritten index")
            continue
        skeleton_states[key] = f"\x00raw:{len(raws)}"
        raws.append((key, raw))
    skeleton = {**index, "states": skeleton_states}
    try:
        text = json.dumps(skeleton, indent=2, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(skeleton, indent=2, ensure_ascii=True, allow_nan=False)
    pieces: list[bytes | RawState] = []
    rest = text
    for number, (key, raw) in enumerate(raws):
        marker = json.dumps(f"\x00raw:{number}")
        if key == RAW_BLOCK_KEY:  # the whole entry line is replaced by the block of entries
            marker = "    " + json.dumps(key) + ": " + marker
        before, found, rest = rest.partition(marker)
        if not found:  # pragma: no cover - a bug, never user input
            raise RuntimeError(f"raw state marker {number} missing from the index text")
        pieces += [before.encode("utf-8"), raw]
    pieces.append((rest + "\n").encode("utf-8"))
    placed = _write_pieces_atomically(path, pieces, fsync)
    identity = _identity(os.stat(path))
    for raw, start, end in placed:
        raw.path, raw.start, raw.end, raw.identity = path, start, end, identity


def _write_pieces_atomically(path: Path, pieces: list[bytes | RawState],
                             fsync: bool) -> list[tuple[RawState, int, int]]:
    """Replace ``path`` by the concatenation of ``pieces`` (RawStates copied from their files);
    return where each RawState landed. StorageError (the old file intact) if the OS refuses, or if
    a raw state's file changed while it was copied."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    placed: list[tuple[RawState, int, int]] = []
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        size = 0
        for piece in pieces:
            if isinstance(piece, RawState):
                length = piece.copy_to(fd)
                placed.append((piece, size, size + length))
                size += length
            else:
                _write_all(fd, piece)
                size += len(piece)
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except (OSError, CorruptIndex) as exc:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise storage_error("write", path, exc) from exc
        raise StorageError(f"could not write {path}: {exc}", path) from exc
    if fsync:
        fsync_dir(path.parent)
    return placed


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
