"""Reading a session log: lazily by offset, or backwards from the end (see log.py for the format).

``tail`` reads blocks backwards from the end, so the last events of a long log cost the same as
those of a short one. A torn last line (no final newline, or invalid JSON on the last line only) is
what a crash in the middle of a write leaves: readers skip it and ``repair_torn_tail`` cuts it off.
Invalid JSON anywhere else is real damage and raises CorruptLog naming the file and the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from omega_core.session.errors import BadOffset, CorruptLog, storage_error
from omega_core.session.warn import warn

__all__ = ["SessionLogReader", "BLOCK_SIZE", "session_name_of", "parse_object_line"]

BLOCK_SIZE = 64 * 1024  # backward scans read this much at a time
_FORWARD_BLOCK = 1024 * 1024  # forward scans read this much at a time
_FIRST_FORWARD_BLOCK = 16 * 1024  # ... after a first read of this much (a goto replays a few lines)
BULK_TAIL_MIN = 256  # tails of at least this many events decode their lines in one call
_sync = getattr(os, "fdatasync", os.fsync)


def session_name_of(path: Path) -> str:
    return path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name


def parse_object_line(line: bytes) -> dict[str, Any] | None:
    """The JSON object on one line, or None if the line is not one."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _backward_lines(f: Any, end: int) -> Iterator[tuple[int, bytes]]:
    """Complete lines of ``f`` before byte ``end``, last first, as (offset, bytes without newline).

    Bytes after the last newline (a torn or in-progress line) are not a complete line and are
    skipped. Reads blocks of BLOCK_SIZE from the end, so it costs what it yields, not the file size.
    """
    pos = end
    carry = b""  # bytes from pos on that belong to a line whose start is not read yet
    found_newline = False
    while pos > 0:
        size = min(BLOCK_SIZE, pos)
        pos -= size
        f.seek(pos)
        data = f.read(size) + carry
        parts = data.split(b"\n")
        if not found_newline:
            if len(parts) == 1:
                carry = data
                continue
            parts.pop()  # what follows the last newline: torn, in progress, or empty
            found_newline = True
        offsets = [pos]
        for part in parts[:-1]:
            offsets.append(offsets[-1] + len(part) + 1)
        for i in range(len(parts) - 1, 0, -1):
            yield offsets[i], parts[i]
        carry = parts[0]
    if found_newline:
        yield 0, carry


class SessionLogReader:
    """Reads a session log. Holds an open file; use it as a context manager or call close()."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = session_name_of(self.path)
        try:
            self._f = open(self.path, "rb")
        except OSError as exc:
            raise storage_error("read", self.path, exc) from exc

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> SessionLogReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def size(self) -> int:
        """Current size of the file in bytes."""
        return os.fstat(self._f.fileno()).st_size

    def complete_size(self) -> int:
        """Bytes up to the end of the last complete line (a torn or in-progress line excluded)."""
        size = self.size()
        pos = size
        while pos > 0:
            step = min(BLOCK_SIZE, pos)
            pos -= step
            self._f.seek(pos)
            newline = self._f.read(step).rfind(b"\n")
            if newline >= 0:
                return pos + newline + 1
        return 0

    def _corrupt(self, what: str, offset: int, line: int | None) -> CorruptLog:
        where = f"line {line} (byte {offset})" if line is not None else f"the line at byte {offset}"
        return CorruptLog(f"session log {self.path} is damaged: {what} at {where}; the lines after it "
                          f"cannot be trusted (run :session repair {self.name} to keep a backup and cut the "
                          "log before that line, or restore the file from a backup)",
                          self.path, line, offset)

    def header(self) -> dict[str, Any]:
        """The header line (``type: "session"``) as a dict; CorruptLog if there is none."""
        self._f.seek(0)
        first = self._f.readline()
        event = parse_object_line(first) if first.endswith(b"\n") else None
        if event is None or event.get("type") != "session":
            raise CorruptLog(f"session log {self.path} has no valid header line "
                             '(expected {"type":"session",...} on line 1)', self.path, 1, 0)
        return event

    def _forward_lines(self, start: int) -> Iterator[tuple[int, bytes, bool, bool]]:
        """(offset, line, complete, is_last) for each line from ``start``, one line of lookahead."""
        self._f.seek(start)
        pos = start
        carry = b""
        held: tuple[int, bytes] | None = None
        size = _FIRST_FORWARD_BLOCK  # doubled up to _FORWARD_BLOCK: a replay of a few inputs reads little
        while True:
            block = self._f.read(size)
            size = min(2 * size, _FORWARD_BLOCK)
            if not block:
                break
            data = carry + block
            parts = data.split(b"\n")
            carry = parts.pop()
            for part in parts:
                if held is not None:
                    yield held[0], held[1], True, False
                held = (pos, part)
                pos += len(part) + 1
        if carry:
            if held is not None:
                yield held[0], held[1], True, False
            yield pos, carry, False, True
        elif held is not None:
            yield held[0], held[1], True, True

    def iter_events(self, start_offset: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (byte_offset, event) lazily from ``start_offset`` (a line start) to the end.

        The header is not yielded (read it with header()). A torn last line is skipped silently;
        a broken line before the last raises CorruptLog naming the file and the line number (line
        numbers are known when starting at 0; otherwise the byte offset is named). So do seqs that
        do not count up by one (lines lost or duplicated mid-log): checked on the lines read anyway.
        """
        if start_offset > 0:
            self._f.seek(start_offset - 1)
            if self._f.read(1) != b"\n":
                raise BadOffset(f"byte {start_offset} of {self.path} is not the start of a line "
                                "(the index may be stale; rebuild it from the log)", self.path)
        line_no: int | None = 1 if start_offset == 0 else None
        expected: int | None = 0 if start_offset == 0 else None  # from a checkpoint: its own seq
        for offset, raw, complete, is_last in self._forward_lines(start_offset):
            if not complete:
                return  # torn or still being written
            if raw.strip():
                event = parse_object_line(raw)
                if event is None:
                    if is_last:
                        return
                    raise self._corrupt("invalid JSON", offset, line_no)
                if not (offset == 0 and event.get("type") == "session"):
                    seq = event.get("seq")
                    if isinstance(seq, int) and not isinstance(seq, bool):
                        if expected is not None and seq != expected:  # one compare: reads nothing more
                            what = f"duplicate seq {seq}" if seq < expected else f"seq gap (seq {expected} to {seq - 1} missing)"
                            raise self._corrupt(what, offset, line_no)
                        expected = seq + 1
                    yield offset, event
            if line_no is not None:
                line_no += 1

    def read_event_at(self, byte_offset: int) -> dict[str, Any]:
        """The event on the line starting at ``byte_offset`` (e.g. a checkpoint's ``byteOffset``)."""
        if byte_offset < 0:
            raise BadOffset(f"byte offset {byte_offset} is negative ({self.path})", self.path)
        if byte_offset > 0:
            self._f.seek(byte_offset - 1)
            if self._f.read(1) != b"\n":
                raise BadOffset(f"byte {byte_offset} of {self.path} is not the start of a line "
                                "(the index may be stale; rebuild it from the log)", self.path)
        else:
            self._f.seek(0)
        raw = self._f.readline()
        event = parse_object_line(raw) if raw.endswith(b"\n") else None
        if event is None:
            raise BadOffset(f"no complete event at byte {byte_offset} of {self.path} "
                            "(the index may be stale; rebuild it from the log)", self.path)
        return event

    def tail(self, n: int, end: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """The last ``n`` events (offset, event), oldest first, read backwards from the end.

        ``end`` limits the scan to the first ``end`` bytes (a size seen earlier by fstat). Cost is
        proportional to the bytes of those n lines, not to the file's size.
        """
        if n <= 0:
            return []
        end = self.size() if end is None else end
        if n >= BULK_TAIL_MIN:
            bulk = self._tail_bulk(n, end)
            if bulk is not None:
                return bulk
        found: list[tuple[int, dict[str, Any]]] = []
        last = True
        for offset, raw in _backward_lines(self._f, end):
            if not raw.strip():
                last = False
                continue
            event = parse_object_line(raw)
            if event is None:
                if last:  # a torn last line: skip it, as the forward reader does
                    last = False
                    continue
                raise self._corrupt("invalid JSON", offset, None)
            last = False
            if offset == 0 and event.get("type") == "session":
                break
            found.append((offset, event))
            if len(found) >= n:
                break
        found.reverse()
        return found

    def _tail_bulk(self, n: int, end: int) -> list[tuple[int, dict[str, Any]]] | None:
        """``tail`` for many events: the lines are decoded with one ``json.loads`` of them all as an
        array (a full ``:session trace`` of 48k events spent most of its time in 48k separate
        calls). None if any line is not a JSON object (a torn last line, damage): the line-by-line
        path then says which and where."""
        pos = end
        blocks: list[bytes] = []
        newlines = 0
        size = BLOCK_SIZE
        while pos > 0 and newlines <= n + 1:  # read back until n + 1 complete lines are in
            size = min(size * 2, pos)
            pos -= size
            self._f.seek(pos)
            block = self._f.read(size)
            blocks.append(block)
            newlines += block.count(b"\n")
        blocks.reverse()
        data = b"".join(blocks)
        last_newline = data.rfind(b"\n")
        if last_newline < 0:
            return []
        parts = data[:last_newline].split(b"\n")  # what follows the last newline is torn or in progress
        offset = pos
        if pos > 0:  # the first part is the end of a line that starts before pos
            offset += len(parts[0]) + 1
            parts = parts[1:]
        lines: list[tuple[int, bytes]] = []
        for raw in parts:
            if raw.strip():
                lines.append((offset, raw))
            offset += len(raw) + 1
        if len(lines) <= n and pos > 0:
            return None  # blank lines took the place of events: the line-by-line path reads on
        lines = lines[-(n + 1):]  # one more: it may be the header
        if not lines:
            return []
        try:
            events = json.loads(b"[" + b",".join(raw for _, raw in lines) + b"]")
        except (ValueError, UnicodeDecodeError):
            return None
        if len(events) != len(lines) or not all(type(event) is dict for event in events):
            return None
        found = list(zip((offset for offset, _ in lines), events))
        if found[0][0] == 0 and found[0][1].get("type") == "session":
            found.pop(0)
        return found[-n:]

    def next_seq(self, end: int | None = None) -> int:
        """The seq the next event gets: last event's seq + 1 (0 for an empty log); reads the tail only."""
        last = self.tail(1, end)
        if not last:
            return 0
        seq = last[0][1].get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise self._corrupt("an event without an integer seq", last[0][0], None)
        return seq + 1

    def repair_torn_tail(self) -> str | None:
        """Cut off a torn last line; return a warning to log, or None if the tail was sound.

        A last line without its newline that is nevertheless a complete JSON object only lacks the
        newline: the newline is added instead, so no complete event is ever thrown away. Reads only
        the end of the file.
        """
        size = self.size()
        if size == 0:
            return None
        self._f.seek(size - 1)
        ends_with_newline = self._f.read(1) == b"\n"
        scan_end = size - 1 if ends_with_newline else size
        start = 0
        pos = scan_end
        while pos > 0:  # find the start of the last line
            step = min(BLOCK_SIZE, pos)
            pos -= step
            self._f.seek(pos)
            chunk = self._f.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                start = pos + nl + 1
                break
        self._f.seek(start)
        last = self._f.read(scan_end - start)
        if not last.strip() or parse_object_line(last) is not None:
            if ends_with_newline:
                return None
            self._write_fixup(lambda fd: os.write(fd, b"\n"))
            warning = f"session '{self.name}': added the missing newline after the last line at byte {start}"
        else:
            self._write_fixup(lambda fd: os.ftruncate(fd, start))
            warning = f"session '{self.name}': cut off a torn last line ({size - start} bytes) at byte {start}"
        warn(warning)
        return warning

    def _write_fixup(self, action: Any) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                action(fd)
                _sync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error("repair", self.path, exc) from exc


def events_since(path: Path, first_seq: int, index: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """The log's events from ``first_seq`` on (the part a lagging ``index`` does not cover), read
    from the last checkpoint line ``index`` places before ``first_seq`` (else from the start)."""
    start = 0
    for checkpoint in (index or {}).get("checkpoints", []):
        seq, offset = checkpoint.get("seq"), checkpoint.get("byteOffset")
        if isinstance(seq, int) and isinstance(offset, int) and seq < first_seq and offset > start:
            start = offset
    with SessionLogReader(path) as reader:
        for _, event in reader.iter_events(start):
            seq = event.get("seq")
            if isinstance(seq, int) and seq >= first_seq:
                yield event
