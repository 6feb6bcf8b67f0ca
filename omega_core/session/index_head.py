"""Reading the head of an index (sessionId, eventCount, checkpoints) without reading its states.

OmegaLLM's index holds a full machine state per checkpoint (50 KB each; 176 MB files exist), but
listing and ``:session checkpoints`` need only the fields written before ``states``. In OmegaLLM's
files and ours (write_index keeps this order) they come first, so a scanner that decodes the
top-level object key by key and stops at ``states`` reads a small prefix of the file.

The scanner grows a text buffer from the file and decodes one value at a time with
``json.JSONDecoder.raw_decode``. The ``checkpoints`` array is decoded element by element, so a long
array never has to be re-decoded from its start when the buffer grows. A value cut by the end of the
buffer is retried after reading more (reads double in size, so retries cost at most about twice the
bytes finally needed).
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_core.session.errors import CorruptIndex, storage_error

__all__ = ["IndexHead", "read_index_head", "STOP_KEYS"]

STOP_KEYS = frozenset({"states", "receipts"})  # big values that the head never needs
_FIRST_READ = 16 * 1024
_MAX_READ = 4 * 1024 * 1024
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class IndexHead:
    """What precedes ``states`` in an index. A field is None when the index does not have it
    before a stop key (an index written by something that orders its keys differently)."""

    session_id: str | None
    event_count: int | None
    checkpoints: tuple[dict[str, Any], ...] | None
    bytes_read: int

    @property
    def complete(self) -> bool:
        """True when eventCount and checkpoints were both found (sessionId is optional)."""
        return self.event_count is not None and self.checkpoints is not None


class _Scanner:
    """A cursor over a JSON text that is read from a file as needed."""

    def __init__(self, f: Any, path: Path) -> None:
        self._f = f
        self._path = path
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0

    def _more(self) -> None:
        """Append the next block of the file to the buffer (doubling with the pending text)."""
        if self.pos > _FIRST_READ and self.pos * 2 > len(self.buf):  # drop what is consumed
            self.buf = self.buf[self.pos:]
            self.pos = 0
        size = min(max(_FIRST_READ, len(self.buf) - self.pos), _MAX_READ)
        block = self._f.read(size)
        self.bytes_read += len(block)
        try:
            self.buf += self._decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            raise self.corrupt(f"invalid UTF-8 ({exc.reason})") from exc
        if not block:
            self.eof = True

    def corrupt(self, what: str) -> CorruptIndex:
        return CorruptIndex(f"index {self._path} is damaged: {what} within its first {self.bytes_read} "
                            "bytes; rebuild it from the log", self._path)

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), without consuming it."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if self.eof:
                return ""
            self._more()

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.corrupt(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self.pos += 1

    def value(self) -> Any:
        """Decode the JSON value at the cursor, reading more of the file while it is cut off."""
        self.peek()
        while True:
            try:
                value, end = self._json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise self.corrupt(f"invalid JSON ({exc.msg})") from exc
                self._more()
                continue
            if end >= len(self.buf) and not self.eof:  # a number may go on in the next block
                self._more()
                continue
            self.pos = end
            return value

    def array_items(self) -> list[Any]:
        """Decode an array element by element (each element is decoded once)."""
        self.expect("[")
        items: list[Any] = []
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value())
            sep = self.peek()
            self.pos += 1
            if sep == "]":
                return items
            if sep != ",":
                raise self.corrupt(f"expected ',' or ']' in an array, found {sep or 'the end of the file'!r}")


def _scan(f: Any, path: Path) -> IndexHead:
    s = _Scanner(f, path)
    fields: dict[str, Any] = {}
    s.expect("{")
    if s.peek() == "}":
        return IndexHead(None, None, None, s.bytes_read)
    while True:
        key = s.value()
        if not isinstance(key, str):
            raise s.corrupt("a key that is not a string")
        s.expect(":")
        if key in STOP_KEYS:
            break
        if key == "checkpoints" and s.peek() == "[":
            fields[key] = s.array_items()
        else:
            fields[key] = s.value()
        if {"sessionId", "eventCount", "checkpoints"} <= fields.keys():
            break
        sep = s.peek()
        s.pos += 1
        if sep == "}":
            break
        if sep != ",":
            raise s.corrupt(f"expected ',' or '}}' after the value of {key!r}")
    session_id = fields.get("sessionId")
    event_count = fields.get("eventCount")
    checkpoints = fields.get("checkpoints")
    if session_id is not None and not isinstance(session_id, str):
        raise s.corrupt("sessionId is not a string")
    if event_count is not None and (not isinstance(event_count, int) or isinstance(event_count, bool)
                                    or event_count < 0):
        raise s.corrupt("eventCount is not a count")
    if checkpoints is not None and (not isinstance(checkpoints, list)
                                    or not all(isinstance(cp, dict) for cp in checkpoints)):
        raise s.corrupt("checkpoints is not a list of objects")
    return IndexHead(session_id, event_count, tuple(checkpoints) if checkpoints is not None else None,
                     s.bytes_read)


def read_index_head(path: Path) -> IndexHead | None:
    """The head of the index at ``path``; None if there is no such file.

    Raises CorruptIndex if the prefix is not JSON of the expected shape, StorageError if the file
    cannot be read.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise storage_error("read", path, exc) from exc
    try:
        with f:
            return _scan(f, path)
    except OSError as exc:
        raise storage_error("read", path, exc) from exc
