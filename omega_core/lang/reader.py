"""Reads Omega source text into data (lists of ``Pair``, symbols, numbers, strings ...).

The reader is iterative (an explicit stack), so deeply nested input cannot overflow Python's stack;
nesting beyond ``max_depth`` is refused with a clear error instead. Every error names the line and
column where the problem is, counted from 1, because that is what a user needs to find it.
Positions of list forms are kept in ``ReadResult.positions`` (keyed by ``id`` of the first pair) so
the compiler can point at the offending form too, with the span of text each was read from, so that
error messages quote code as it was written (``source.SourcePositions``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterator

from omega_core.errors import ReadError
from omega_core.lang.numtext import text_to_int
from omega_core.lang.source import SourcePositions
from omega_core.lang.values import NIL, Pair, sym

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
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?\Z")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "r": "\r", "0": "\0", "b": "\b", "f": "\f", "/": "/"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_CLOSER = {"(": ")", "[": "]"}

QUOTE = sym("quote")


@dataclass
class ReadResult:
    """The forms of one text, in order, with the (line, column) where each form starts."""

    forms: list[Any] = field(default_factory=list)
    starts: list[tuple[int, int]] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    positions: SourcePositions = field(default_factory=SourcePositions)
    """The positions of every form's lists (all forms together)."""
    form_positions: list[SourcePositions] = field(default_factory=list)
    """The positions of each form's own lists: a form compiled alone copies only its own (one
    table for a whole file made compiling each of its forms copy all of them: quadratic)."""


class ReadFailure(ReadError):
    """A ``ReadError`` that also carries what was read before it and where reading may resume."""

    def __init__(self, error: ReadError, partial: ReadResult, resume_offset: int) -> None:
        super().__init__(error.bare_message, error.line, error.column)
        self.partial = partial
        self.resume_offset = resume_offset
        self.unclosed: bool = getattr(error, "unclosed", False)
        """The text ended inside an open list: a REPL should read another line, not fail."""


class _Frame:
    """An open list being read: its items, an optional dotted tail and where it opened."""

    __slots__ = ("items", "tail", "dot_at", "opener", "line", "column", "quotes", "quotes_before", "offset")

    def __init__(self, opener: str, line: int, column: int, quotes_before: list[Any], offset: int = 0) -> None:
        self.offset = offset
        self.quotes_before = quotes_before
        self.items: list[Any] = []
        self.tail: Any = None
        self.dot_at: tuple[int, int] | None = None
        self.opener = opener
        self.line = line
        self.column = column
        self.quotes: list[tuple[int, int, int]] = []


def parse_atom(text: str) -> Any:
    """An atom's value: a number, boolean, ``null`` or a symbol."""
    if _INTEGER.match(text):
        return text_to_int(text) if len(text) > 4000 else int(text)
    if _DECIMAL.match(text):
        return float(text)
    if text == "#t" or text == "#true":
        return True
    if text == "#f" or text == "#false":
        return False
    if text == "null":
        return NIL
    return sym(text)


class _Reader:
    def __init__(self, text: str, max_depth: int, first_line: int = 1) -> None:
        self.text = text
        self.max_depth = max_depth
        self.line_base = first_line - 1
        self.line_starts = [0]
        for match in re.finditer("\n", text):
            self.line_starts.append(match.end())

    def where(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.line_starts, offset) - 1  # the last line starting at or before it
        return index + 1 + self.line_base, offset - self.line_starts[index] + 1

    def error(self, message: str, offset: int) -> ReadError:
        line, column = self.where(offset)
        return ReadError(message, line, column)

    def read_string(self, start: int) -> tuple[str, int]:
        """Read a string literal whose opening quote is at ``start``; return value and end."""
        text = self.text
        parts: list[str] = []
        index = start + 1
        while True:
            close = text.find('"', index)
            backslash = text.find("\\", index)
            if close < 0:
                raise self.error("unterminated string (missing closing \")", start)
            if backslash < 0 or close < backslash:
                parts.append(text[index:close])
                return "".join(parts), close + 1
            parts.append(text[index:backslash])
            if backslash + 1 >= len(text):
                raise self.error("unterminated string (missing closing \")", start)
            escaped = text[backslash + 1]
            if escaped == "u" and _HEX4.fullmatch(text, backslash + 2, backslash + 6):
                code = int(text[backslash + 2 : backslash + 6], 16)
                index = backslash + 6
                if 0xD800 <= code <= 0xDBFF and text.startswith("\\u", index) and _HEX4.fullmatch(text, index + 2, index + 6):
                    low = int(text[index + 2 : index + 6], 16)
                    if 0xDC00 <= low <= 0xDFFF:  # a surrogate pair, as JSON writes non-BMP characters
                        parts.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        index += 6
                        continue
                if 0xD800 <= code <= 0xDFFF:
                    raise self.error("\\u escape of a lone surrogate (not a character; write the character itself)", backslash)
                parts.append(chr(code))
                continue
            if escaped not in _ESCAPES:
                raise self.error(
                    f'unknown escape "\\{escaped}" in string (use \\n \\t \\\\ \\" or \\uXXXX)', backslash
                )
            parts.append(_ESCAPES[escaped])
            index = backslash + 2

    def read(self, offset: int = 0) -> ReadResult:
        """Read all forms from ``offset``; on bad input raise ``ReadFailure`` (partial result,
        resume point) so a caller can report the error and go on with the next form."""
        result = ReadResult(positions=SourcePositions(self.text))
        try:
            for _ in self.forms(result, offset):
                pass
            return result
        except ReadFailure:
            raise
        except ReadError as error:
            raise ReadFailure(error, result, self.resume_after(error)) from None

    def resume_after(self, error: ReadError) -> int:
        """Where to go on after an error: the next line that starts with "(" past the bad form."""
        line_index = error.line - 1 - self.line_base
        error_offset = self.line_starts[line_index] + error.column - 1 if line_index < len(self.line_starts) else len(self.text)
        if getattr(error, "stray_close", False):
            return error_offset + 1
        anchor = self.top_start + 1 if getattr(error, "unclosed", False) else max(error_offset, self.top_start + 1)
        found = self.text.find("\n(", anchor)
        return len(self.text) if found < 0 else found + 1

    def forms(self, result: ReadResult, offset: int) -> Iterator[None]:
        """Read forms from ``offset`` into ``result``, yielding after each one (a caller may run a
        form before the next is read: reading a 1 MB input at once held the backend for 2 s)."""
        self.stack: list[_Frame] = []
        self.top_start = offset
        self.current = SourcePositions(self.text)
        return self._read_loop(result, offset)

    def _read_loop(self, result: ReadResult, offset: int) -> Iterator[None]:
        text = self.text
        stack = self.stack
        pending_quotes: list[tuple[int, int, int]] = []  # quotes at top level waiting for a datum
        length = len(text)
        while offset < length:
            match = _TOKEN.match(text, offset)
            if match is None:  # pragma: no cover - the atom class matches everything else
                raise self.error(f"unexpected character {text[offset]!r}", offset)
            kind = match.lastgroup
            start = offset
            offset = match.end()
            if kind == "ws" or kind == "comment":
                continue
            if not stack and not pending_quotes:
                self.top_start = start
            datum: Any
            if kind == "open":
                if len(stack) >= self.max_depth:
                    raise self.error(
                        f"input nested deeper than {self.max_depth} levels "
                        "(raise [language] max_read_depth if you need more)",
                        start,
                    )
                line, column = self.where(start)
                quotes = stack[-1].quotes if stack else pending_quotes
                # quotes that preceded this list apply to it when it closes
                stack.append(_Frame(match.group(), line, column, list(quotes), start))
                quotes.clear()
                continue
            if kind == "close":
                if not stack:
                    stray = self.error(
                        f"unexpected \"{match.group()}\" with no open parenthesis (remove it)", start
                    )
                    stray.stray_close = True  # type: ignore[attr-defined]
                    raise stray
                frame = stack.pop()
                if frame.quotes:
                    raise self.error("quote (') with nothing after it", start)
                expected = _CLOSER[frame.opener]
                if match.group() != expected:
                    raise self.error(
                        f"\"{match.group()}\" closes \"{frame.opener}\" opened at line "
                        f"{frame.line}, column {frame.column} (expected \"{expected}\")",
                        start,
                    )
                if frame.dot_at is not None and frame.tail is None:
                    raise self.error("expected a datum after \".\"", start)
                tail = frame.tail if frame.dot_at is not None else NIL
                datum = tail
                for item in reversed(frame.items):
                    datum = Pair(item, datum)
                if type(datum) is Pair:
                    self.current[id(datum)] = (frame.line, frame.column)
                    self.current.spans[id(datum)] = (frame.offset, offset)
                datum = self._apply_quotes(datum, frame.quotes_before, self.current, offset)
                if self._emit(datum, stack, result, frame.line, frame.column, offset):
                    yield
                continue
            if kind == "quote":
                quotes = stack[-1].quotes if stack else pending_quotes
                quotes.append((*self.where(start), start))
                continue
            if kind == "backquote":
                raise self.error(
                    f"\"{match.group()}\" (quasiquote) is not supported; build lists with list/cons",
                    start,
                )
            if kind == "string":
                datum, offset = self.read_string(start)
            else:
                atom = match.group()
                if atom == "." and stack:
                    frame = stack[-1]
                    if not frame.items or frame.dot_at is not None:
                        raise self.error("misplaced \".\" (use it as (a . b))", start)
                    frame.dot_at = self.where(start)
                    continue
                if atom.startswith("#") and atom not in ("#t", "#f", "#true", "#false"):
                    raise self.error(f"unknown syntax {atom} (booleans are #t and #f)", start)
                datum = parse_atom(atom)
            quotes = stack[-1].quotes if stack else pending_quotes
            line, column = self.where(start)
            datum = self._apply_quotes(datum, list(quotes), self.current, offset)
            quotes.clear()
            if self._emit(datum, stack, result, line, column, offset):
                yield
        if stack:
            frame = stack[0]
            unclosed = ReadError(
                f"unbalanced parentheses: \"{frame.opener}\" opened here is never closed "
                f"(add \"{_CLOSER[frame.opener]}\")",
                frame.line,
                frame.column,
            )
            unclosed.unclosed = True  # type: ignore[attr-defined]
            raise unclosed
        if pending_quotes:
            line, column, _ = pending_quotes[-1]
            raise ReadError("quote (') with nothing after it", line, column)

    @staticmethod
    def _apply_quotes(datum: Any, quotes: list[tuple[int, int, int]], positions: SourcePositions, end: int) -> Any:
        """Wrap ``datum`` in ``(quote ...)`` once per quote mark; each form's text runs to ``end``."""
        for line, column, start in reversed(quotes):
            datum = Pair(QUOTE, Pair(datum, NIL))
            positions[id(datum)] = (line, column)
            positions.spans[id(datum)] = (start, end)
        return datum

    def _emit(
        self,
        datum: Any,
        stack: list[_Frame],
        result: ReadResult,
        line: int,
        column: int,
        end: int,
    ) -> bool:
        """Put ``datum`` in the list being read, or, at top level, in ``result``: True then."""
        if stack:
            frame = stack[-1]
            if frame.dot_at is not None:
                if frame.tail is not None:
                    raise self.error("only one datum may follow \".\"", end - 1)
                frame.tail = datum
            else:
                frame.items.append(datum)
            return False
        own = self.current
        self.current = SourcePositions(self.text)
        result.forms.append(datum)
        result.starts.append(self.where(self.top_start))
        result.spans.append((self.top_start, end))
        result.form_positions.append(own)
        result.positions.update(own)
        result.positions.spans.update(own.spans)
        return True


def read_all(text: str, max_depth: int = 10_000) -> ReadResult:
    """Read every form of ``text``; raise ``ReadFailure`` naming line and column on bad input."""
    return _Reader(text, max_depth).read()


def read_recovering(text: str, max_depth: int = 10_000, first_line: int = 1) -> list[tuple[Any, tuple[int, int], dict[int, tuple[int, int]]] | ReadError]:
    """Every form of ``text`` in order, with an error in place of each unreadable stretch
    (``iter_recovering``, all at once)."""
    return list(iter_recovering(text, max_depth, first_line))


def iter_recovering(text: str, max_depth: int = 10_000, first_line: int = 1) -> Iterator[tuple[Any, tuple[int, int], dict[int, tuple[int, int]]] | ReadError]:
    """Every form of ``text`` in order, with an error in place of each unreadable stretch, each
    read when it is asked for (an evaluator runs a form before reading the next).

    Items are ``(datum, (start, end) offsets, positions)`` or a ``ReadError``. A list's positions
    are those of its own lists; a name or other atom alone gets positions of its own, holding just
    its place (atoms are shared objects, so their ids cannot be keys in the shared table). After an error,
    reading resumes at the next line that starts with "(" (or after a stray ")"), so one typo in
    a file costs one form, not the rest of the file.
    """
    reader = _Reader(text, max_depth, first_line)
    offset = 0
    while offset < len(text):
        result = ReadResult(positions=SourcePositions(text))
        taken = 0
        try:
            for _ in reader.forms(result, offset):
                datum, span, positions = result.forms[taken], result.spans[taken], result.form_positions[taken]
                taken += 1
                yield datum, span, positions if type(datum) is Pair else _atom_positions(reader, datum, span)
            return
        except ReadError as problem:
            resume_offset = reader.resume_after(problem)
            yield ReadError(problem.bare_message, problem.line, problem.column)
            offset = max(resume_offset, offset + 1)


def _atom_positions(reader: _Reader, datum: Any, span: tuple[int, int]) -> SourcePositions:
    """Positions for a top-level atom: where it is, so an error on ``undefined-x`` alone names it."""
    positions = SourcePositions(reader.text)
    positions[id(datum)] = reader.where(span[0])
    positions.spans[id(datum)] = span
    return positions


def read_one(text: str) -> Any:
    """Read exactly one form (a convenience for tests and ``eval`` of strings)."""
    result = read_all(text)
    if len(result.forms) != 1:
        raise ReadError(f"expected one form, found {len(result.forms)}", 1, 1)
    return result.forms[0]
