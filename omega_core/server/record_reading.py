"""Reading the request record's file (``request_record``): all of it, or only what was appended
since an earlier read.

Why the second: a new backend reads the record before it answers a command, and a full record
(5,000 entries, up to 10,000 lines) takes 20-40 ms of Python, holding the GIL against everything
else the backend does while clients wait for it after a restart. A standby backend
(``backend_process``) reads the file ahead, while the active backend still appends to it; at its
"go" it reads only the lines appended since, which the file being append-only between compactions
makes safe: a compaction replaces the file (a new inode) and a shorter file was rewritten too, and
both mean a full read.
"""

from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Entries = collections.OrderedDict[str, dict[str, Any]]


@dataclass(frozen=True)
class ReadPosition:
    """How far a read got: complete lines seen, bytes consumed (just after the last newline), the
    file's inode (None: there was no file) and whether bytes followed the last newline (a line
    torn by a writer killed mid-write, or one being written)."""

    lines: int = 0
    upto: int = 0
    inode: int | None = None
    torn: bool = False


def read_record(path: Path, entries: Entries, since: ReadPosition | None = None) -> ReadPosition:
    """Add the file's entries to ``entries`` in file order (a later line for the same rid replaces
    the earlier one and moves it last); with ``since`` (a read of the same file), only the lines
    after it, unless the file was replaced or shrank meanwhile: then ``entries`` is emptied and all
    of it is read. A torn last line (a writer killed mid-write) is not consumed: a later read
    starts at it again."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        entries.clear()
        return ReadPosition()
    try:
        info = os.fstat(fd)
        incremental = since is not None and since.inode == info.st_ino and info.st_size >= since.upto
        if not incremental:
            entries.clear()
            since = ReadPosition(inode=info.st_ino)
        assert since is not None
        os.lseek(fd, since.upto, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    complete = data.rfind(b"\n") + 1  # 0: no complete line
    lines = data[:complete].split(b"\n")[:-1] if complete else []
    for entry in parse_lines(lines):
        if isinstance(entry, dict) and isinstance(entry.get("rid"), str):
            entries[entry["rid"]] = entry
            entries.move_to_end(entry["rid"])
    return ReadPosition(since.lines + len(lines), since.upto + complete, info.st_ino, torn=complete < len(data))


def parse_lines(lines: list[bytes]) -> list[Any]:
    """The JSON value of each line that holds one, in order. All lines in one ``json.loads`` (as one
    array: a third of the time of a call per line, which is 20-40 ms for a full record); when that
    fails (a line torn by a crash and continued by the next writer), line by line, skipping
    what does not parse (that request is lost from the record)."""
    present = [raw for raw in lines if raw.strip()]
    try:
        values = json.loads(b"[" + b",".join(present) + b"]")
        if isinstance(values, list) and len(values) == len(present):
            return values
    except (ValueError, UnicodeDecodeError):
        pass
    parsed = []
    for raw in present:
        try:
            parsed.append(json.loads(raw))
        except (ValueError, UnicodeDecodeError):
            continue
    return parsed
