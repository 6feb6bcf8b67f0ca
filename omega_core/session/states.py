"""Checkpoint states kept out of the index, in an append-only file ``<name>.states.ndjson``.

Why: OmegaLLM rewrites its whole index (every state inline) at each checkpoint, so saving costs more
the longer the session is. Here a new state is one appended line and the index holds only a small
reference to it, so adding a checkpoint never rewrites old states.

Format: one line per state, ``{"stateId":ID,"state":VALUE}`` (compact JSON). A reference, as stored
in ``index["states"][ID]``, is ``{"file":"<name>.states.ndjson","offset":N}``: the file name (in the
same directory as the index, so a copied index still finds it) and the byte offset of the line.
The file is a cache like the index: a damaged or missing state is rebuilt by replaying the log.
The name does not end in ``.jsonl`` on purpose (see names.SessionPaths).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from omega_core.session.atomic import FILE_MODE, dumps_compact
from omega_core.session.errors import CorruptIndex, storage_error
from omega_core.session.log_reader import BLOCK_SIZE
from omega_core.session.names import STATES_SUFFIX
from omega_core.session.records_line import loads_records
from omega_core.session.warn import warn

__all__ = ["StateStore", "is_state_ref", "read_state_ref", "load_state"]

_sync = getattr(os, "fdatasync", os.fsync)

LINE_PIECE_BYTES = 1 << 20
"""A line is read this much at a time (``read_line_at``): one ``readline`` of a line of four
million records (130 MB) held the GIL 140 ms while it gathered the line."""


def is_state_ref(value: Any) -> bool:
    """True for ``{"file": str, "offset": int}`` (our reference), False for an inline state."""
    return (isinstance(value, dict) and value.keys() == {"file", "offset"}
            and isinstance(value["file"], str) and isinstance(value["offset"], int)
            and not isinstance(value["offset"], bool))


def _check_ref_file(directory: Path, ref: dict[str, Any]) -> Path:
    """The file a reference names, refused unless it is a plain states file name in ``directory``."""
    name = ref["file"]
    if (not name.endswith(STATES_SUFFIX) or name.startswith(".") or "/" in name or "\\" in name
            or "\x00" in name):
        raise CorruptIndex(f"state reference names a file {name!r} that is not a states file", directory)
    return directory / name


def read_line_at(f: Any, path: Path, offset: int) -> dict[str, Any]:
    """The JSON object on the line starting at byte ``offset`` of the open file ``f``."""
    if offset < 0:
        raise CorruptIndex(f"state reference to negative offset {offset} in {path}", path)
    if offset > 0:
        f.seek(offset - 1)
        if f.read(1) != b"\n":
            raise CorruptIndex(f"state reference to byte {offset} of {path} is not a line start", path)
    else:
        f.seek(0)
    pieces = [f.readline(LINE_PIECE_BYTES)]  # a long line (a capture's records): a bounded piece at a time
    while len(pieces[-1]) == LINE_PIECE_BYTES and not pieces[-1].endswith(b"\n"):
        pieces.append(f.readline(LINE_PIECE_BYTES))
    entry = _parse_line(pieces[0] if len(pieces) == 1 else pieces) if pieces[-1].endswith(b"\n") else None
    if entry is None:
        raise CorruptIndex(f"no complete line at byte {offset} of {path}; states will be rebuilt "
                           "by replaying the log", path)
    return entry


def _parse_line(raw: bytes | list[bytes]) -> dict[str, Any] | None:
    """A line's JSON object, or None; a long one (a capture's records) read a value at a time
    (``records_line``)."""
    try:
        value = loads_records(raw)
    except ValueError:  # UnicodeDecodeError too
        return None
    return value if isinstance(value, dict) else None


def _read_line_at(f: Any, path: Path, offset: int) -> dict[str, Any]:
    entry = read_line_at(f, path, offset)
    if "state" not in entry:
        raise CorruptIndex(f"no complete state at byte {offset} of {path}; it will have to be rebuilt "
                           "by replaying the log", path)
    return entry


def read_state_ref(directory: Path, ref: dict[str, Any]) -> tuple[str | None, Any]:
    """(stateId, state) that ``ref`` points at, reading one line of the named file."""
    path = _check_ref_file(Path(directory), ref)
    try:
        with open(path, "rb") as f:
            entry = _read_line_at(f, path, ref["offset"])
    except FileNotFoundError as exc:
        raise CorruptIndex(f"states file {path} is missing; states will be rebuilt from the log", path) from exc
    except OSError as exc:
        raise storage_error("read", path, exc) from exc
    return entry.get("stateId"), entry["state"]


def load_state(directory: Path, value: Any) -> Any:
    """The state an index entry stands for: followed if it is a reference, as is if it is inline
    (OmegaLLM's indexes hold their states inline)."""
    return read_state_ref(directory, value)[1] if is_state_ref(value) else value


class StateStore:
    """Appends states to one states file and reads them back by reference. One writer per file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.repair_warning: str | None = None
        self._dirty = False
        self._reader: Any = None
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                               FILE_MODE)
        except OSError as exc:
            raise storage_error("open", self.path, exc) from exc
        try:
            self._size = os.fstat(self._fd).st_size
            self._cut_torn_tail()
        except OSError as exc:
            os.close(self._fd)
            raise storage_error("open", self.path, exc) from exc

    def _cut_torn_tail(self) -> None:
        """Drop bytes after the last newline (a write cut by a crash) so new lines start clean."""
        if self._size == 0 or os.pread(self._fd, 1, self._size - 1) == b"\n":
            return
        pos = self._size
        keep = 0
        while pos > 0:
            step = min(BLOCK_SIZE, pos)
            pos -= step
            nl = os.pread(self._fd, step, pos).rfind(b"\n")
            if nl >= 0:
                keep = pos + nl + 1
                break
        os.ftruncate(self._fd, keep)
        self.repair_warning = f"states file {self.path}: cut off a torn last line ({self._size - keep} bytes)"
        self._size = keep
        warn(self.repair_warning)

    @property
    def size(self) -> int:
        return self._size

    @property
    def needs_fsync(self) -> bool:
        return self._dirty

    def append(self, state_id: str, state: Any) -> dict[str, Any]:
        """Write one state with one write; return the reference to store in the index."""
        return {"file": self.path.name, "offset": self.append_line({"stateId": state_id, "state": state})}

    def append_line(self, entry: dict[str, Any]) -> int:
        """Write one JSON line with one write; return its offset."""
        return self.append_text(dumps_compact(entry))

    def append_text(self, text: str) -> int:
        """Write one line (``text``: one JSON object, no newline) with one write; return its offset.
        A line without ``stateId`` (the records of a shared state) is skipped by readers looking
        for states."""
        try:
            data = (text + "\n").encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates in Omega strings: \u escapes, as dumps_compact
            data = (json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=True) + "\n").encode("utf-8")
        offset = self._size
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError as exc:
            if written:
                try:
                    os.ftruncate(self._fd, offset)
                except OSError:
                    pass  # the torn line is cut when the file is next opened
            raise storage_error("append to", self.path, exc) from exc
        self._size += len(data)
        self._dirty = True
        return offset

    def append_pieces(self, pieces: list[str]) -> int:
        """Write one line given as pieces of text (together: one JSON object, no newline), each
        encoded and written on its own; return its offset. Why: a line of a 16 MiB string encoded
        in one call held the GIL for 15 ms, and a server writes states from a worker thread while
        its loop serves others. A failed write cuts the line off (as ``append_text``)."""
        if len(pieces) == 1:
            return self.append_text(pieces[0])
        offset = self._size
        written = 0
        try:
            for piece in pieces:
                data = piece.encode("utf-8")
                view = memoryview(data)
                done = 0
                while done < len(data):
                    done += os.write(self._fd, view[done:])
                written += done
            written += os.write(self._fd, b"\n")
        except (OSError, UnicodeEncodeError) as exc:
            try:  # part of the line may be out (``written`` does not count a piece cut short)
                os.ftruncate(self._fd, offset)
            except OSError:
                pass  # the torn line is cut when the file is next opened
            if isinstance(exc, UnicodeEncodeError):  # lone surrogates: the whole line, with escapes
                return self.append_text("".join(pieces))
            raise storage_error("append to", self.path, exc) from exc
        self._size += written
        self._dirty = True
        return offset

    def read_line(self, offset: int) -> dict[str, Any]:
        """The JSON object on the line at ``offset`` of this file (any kind of line)."""
        try:
            if self._reader is None:
                self._reader = open(self.path, "rb")
            return read_line_at(self._reader, self.path, offset)
        except OSError as exc:
            raise storage_error("read", self.path, exc) from exc

    def read(self, ref: dict[str, Any]) -> Any:
        """The state a reference points at (in this file, or in another states file beside it)."""
        if not is_state_ref(ref):
            raise CorruptIndex(f"not a state reference: {str(ref)[:80]}", self.path)
        if ref["file"] != self.path.name:
            return read_state_ref(self.path.parent, ref)[1]
        try:
            if self._reader is None:
                self._reader = open(self.path, "rb")
            return _read_line_at(self._reader, self.path, ref["offset"])["state"]
        except OSError as exc:
            raise storage_error("read", self.path, exc) from exc

    def fsync(self) -> None:
        """Force appended states to the disk; call it before writing an index that refers to them."""
        if self._fd >= 0 and self._dirty:
            self._dirty = False
            try:
                _sync(self._fd)
            except OSError as exc:
                raise storage_error("sync", self.path, exc) from exc

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
