"""Cutting a batch file (or a typed entry) into inputs, without loading the language.

Why not ask the reader: ``omega --batch`` through the server must start fast, and importing the
reader pulls in the language package (values, numbers ...) that only the server needs. So this
module scans tokens the way ``omega_core.lang.reader`` does and stops at the same first problem,
without building any data. ``needs_more_input`` must agree with the reader exactly (an entry is
incomplete only when the reader's first complaint is an unclosed list or string); a property test
(tests/tui/test_entries.py) checks that against the real reader on random text.

An entry is either code (complete forms; a form may span lines) or a REPL command: a line starting
with ``:`` between forms.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the thin client's start-up)
if TYPE_CHECKING:
    from collections.abc import Iterator

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+)
  | (?P<comment>;[^\n]*)
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<quote>')
  | (?P<backquote>[`,])
  | (?P<string>")
  | (?P<atom>[^\s()\[\]'`,";]+)
    """,
    re.VERBOSE,
)
"""The reader's token pattern (``omega_core.lang.reader._TOKEN``), kept equal by the property test."""

_CLOSER = {"(": ")", "[": "]"}
_ESCAPES = frozenset('nt\\"r0bf/')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_BOOLEANS = frozenset({"#t", "#f", "#true", "#false"})
DEFAULT_MAX_DEPTH = 10_000
"""The reader's default nesting limit (``read_all``): deeper input is an error, not an open entry."""


class _Stop(Exception):
    """The reader would stop here; ``incomplete`` says whether it is for want of more text."""

    def __init__(self, incomplete: bool) -> None:
        super().__init__()
        self.incomplete = incomplete


class _Frame:
    """An open list while scanning (mutable working state; a plain class, as a dataclass would cost
    the thin client's start-up more than this whole module)."""

    __slots__ = ("opener", "quotes", "items", "dotted", "has_tail")

    def __init__(self, opener: str) -> None:
        self.opener = opener
        self.quotes = 0  # quotes waiting for their datum
        self.items = 0
        self.dotted = False
        self.has_tail = False


def _string_end(text: str, start: int) -> int:
    """Offset after the string literal opening at ``start`` (raises ``_Stop`` where the reader would)."""
    index = start + 1
    while True:
        close = text.find('"', index)
        backslash = text.find("\\", index)
        if close < 0:
            raise _Stop(True)
        if backslash < 0 or close < backslash:
            return close + 1
        if backslash + 1 >= len(text):
            raise _Stop(True)
        escaped = text[backslash + 1]
        if escaped == "u" and _HEX4.fullmatch(text, backslash + 2, backslash + 6):
            code = int(text[backslash + 2: backslash + 6], 16)
            index = backslash + 6
            if 0xD800 <= code <= 0xDBFF and text.startswith("\\u", index) and _HEX4.fullmatch(text, index + 2, index + 6):
                if 0xDC00 <= int(text[index + 2: index + 6], 16) <= 0xDFFF:
                    index += 6
                    continue
            if 0xD800 <= code <= 0xDFFF:
                raise _Stop(False)
            continue
        if escaped not in _ESCAPES:
            raise _Stop(False)
        index = backslash + 2


def _datum(stack: list[_Frame], top_quotes: list[int]) -> None:
    """A complete datum was read: it takes the pending quotes and goes into the open list."""
    if not stack:
        top_quotes[0] = 0
        return
    frame = stack[-1]
    frame.quotes = 0
    if frame.dotted:
        if frame.has_tail:
            raise _Stop(False)
        frame.has_tail = True
    else:
        frame.items += 1


def _scan(text: str, max_depth: int) -> None:
    """Walk ``text`` as the reader does; raise ``_Stop`` at the reader's first complaint."""
    stack: list[_Frame] = []
    top_quotes = [0]
    offset = 0
    length = len(text)
    while offset < length:
        match = _TOKEN.match(text, offset)
        if match is None:  # pragma: no cover - the atom class matches everything else
            raise _Stop(False)
        kind = match.lastgroup
        start, offset = offset, match.end()
        if kind == "ws" or kind == "comment":
            continue
        if kind == "open":
            if len(stack) >= max_depth:
                raise _Stop(False)
            if stack:
                stack[-1].quotes = 0
            else:
                top_quotes[0] = 0
            stack.append(_Frame(match.group()))
        elif kind == "close":
            if not stack:
                raise _Stop(False)
            frame = stack.pop()
            if frame.quotes or match.group() != _CLOSER[frame.opener] or (frame.dotted and not frame.has_tail):
                raise _Stop(False)
            _datum(stack, top_quotes)
        elif kind == "quote":
            if stack:
                stack[-1].quotes += 1
            else:
                top_quotes[0] += 1
        elif kind == "backquote":
            raise _Stop(False)
        elif kind == "string":
            offset = _string_end(text, start)
            _datum(stack, top_quotes)
        else:
            atom = match.group()
            if atom == "." and stack:
                frame = stack[-1]
                if not frame.items or frame.dotted:
                    raise _Stop(False)
                frame.dotted = True
                continue
            if atom.startswith("#") and atom not in _BOOLEANS:
                raise _Stop(False)
            _datum(stack, top_quotes)
    if stack:
        raise _Stop(True)


def needs_more_input(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    """True while ``text`` has an unclosed parenthesis or string (so Enter continues the entry).

    Text with an error before that (a stray ``)``, a bad escape ...) is complete: the error is
    reported when it runs, rather than waiting for lines that cannot fix it.
    """
    try:
        _scan(text, max_depth)
    except _Stop as stop:
        return stop.incomplete
    return False


class Entry(namedtuple("Entry", "text line is_command")):
    """One input of a batch file: code (``is_command`` false) or a REPL command line, with the line
    (from 1) where it starts. A named tuple, not a frozen dataclass: as immutable, and importing
    ``dataclasses`` would cost the thin batch client more than this whole module."""

    __slots__ = ()

    text: str
    line: int
    is_command: bool


def strip_command_comment(line: str) -> str:
    """A command line without a trailing ``; comment`` (a ``;`` after a space, outside quotes), so
    ``:session goto 30   ; back in time`` in a file runs ``:session goto 30``."""
    quote = ""
    previous = " "
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ";" and previous.isspace():
            return line[:index].strip()
        previous = char
    return line.strip()


def iter_entries(text: str) -> Iterator[Entry]:
    """The inputs of a file in order, each with the line (from 1) where it starts."""
    buffer: list[str] = []
    start_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not buffer:
            if line.strip().startswith(":"):
                yield Entry(strip_command_comment(line), number, True)
                continue
            if not line.strip() or line.strip().startswith(";"):
                continue
            start_line = number
        buffer.append(line)
        chunk = "\n".join(buffer)
        if not needs_more_input(chunk):
            yield Entry(chunk, start_line, False)
            buffer = []
    if buffer:
        yield Entry("\n".join(buffer), start_line, False)


def command_json(entry: Entry, output: str) -> str:
    """The ``--json`` line of a REPL command: its text, line, output and error (None when it worked)."""
    error = output[len("error: "):] if output.startswith("error: ") else None
    return json.dumps({"command": entry.text, "line": entry.line, "output": output, "error": error}, ensure_ascii=False)
