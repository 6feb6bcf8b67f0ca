"""Reading a capture's records (``{"recordsOf": ID, "records": [...], "rewrites": ..., "units": ...}``)
without one long C call.

A capture of a list of millions of pairs is one line of tens of MB. ``json.loads`` of it is a single
C call that holds the GIL for as long as it takes: loading such a session again in a worker thread
(``:session load``, a command after its eviction) held every other client for 1.2-1.6 s per
line. Here the top-level object is read key by key and the ``records`` array one record at a time
(``JSONDecoder.raw_decode``, a short C call each), so other threads get the GIL between records.
It costs about twice the time of one ``json.loads`` for the line, on the loading thread only.

The text may come in pieces (``str``, or ``bytes`` in UTF-8: a line read a bounded piece at a
time, ``states.read_line_at``, or a capture's payload pieces): it is decoded a piece at a time
and read through a window that slides over them, so the whole line is never joined or decoded in
one call either (for a line of 4 million records: a 140 ms ``readline`` and a 73 ms decode).

The writer is compact (no whitespace between tokens, ``dumps_compact``); text that is not (or is
not such an object) is read by ``json.loads`` as before.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Sequence
from typing import Any

_DECODER = json.JSONDecoder()
PIECEWISE_FROM_CHARS = 1 << 20
"""Lines shorter than this are read by one ``json.loads`` (a millisecond or so)."""
PIECE_CHARS = 1 << 20
"""What the window takes in at a time (a piece given longer is cut to this)."""
SLIDE_MARGIN = 1 << 16
"""The window slides on when fewer characters than this are left ahead of the reading position."""

Text = str | bytes


class _NotCompact(Exception):
    """The text is not a compact object of the expected shape: read it whole instead."""


def loads_records(text: Text | Sequence[Text]) -> Any:
    """The value of a records line's JSON ``text`` (bytes: UTF-8; or pieces of either, in order),
    as ``json.loads`` of the whole would give it."""
    pieces: Sequence[Text] = (text,) if isinstance(text, (str, bytes)) else text
    if sum(map(len, pieces)) < PIECEWISE_FROM_CHARS:
        return json.loads(_joined(pieces))
    try:
        return _loads_object(_Window(pieces))
    except (_NotCompact, json.JSONDecodeError, IndexError):
        return json.loads(_joined(pieces))  # the same result, or the error json.loads reports for it


def _joined(pieces: Sequence[Text]) -> Text:
    if len(pieces) == 1:
        return pieces[0]
    if all(type(piece) is bytes for piece in pieces):
        return b"".join(pieces)  # type: ignore[arg-type]
    return "".join(piece if type(piece) is str else piece.decode("utf-8") for piece in pieces)  # type: ignore[union-attr]


def _cut(pieces: Sequence[Text]) -> Iterator[Text]:
    for piece in pieces:
        if len(piece) <= PIECE_CHARS:
            yield piece
        else:
            for start in range(0, len(piece), PIECE_CHARS):
                yield piece[start:start + PIECE_CHARS]


class _Window:
    """The text still to read: ``text`` from ``position`` on, taken in a piece at a time."""

    __slots__ = ("_source", "_utf8", "text", "position", "more")

    def __init__(self, pieces: Sequence[Text]) -> None:
        self._source = _cut(pieces)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.position = 0
        self.more = True
        """Pieces (or undecoded bytes) may follow."""

    def slide(self) -> bool:
        """Drop what was read and take in the next piece; False (and ``more`` False) at the end.
        A UnicodeDecodeError (a ValueError, as ``json.loads`` raises) for bad UTF-8."""
        if not self.more:
            return False
        piece = next(self._source, None)
        if piece is None:
            self.more = False
            piece = self._utf8.decode(b"", final=True)  # bytes cut inside a character: an error
            if not piece:
                return False
        elif type(piece) is bytes:
            piece = self._utf8.decode(piece)
        self.text = self.text[self.position:] + piece  # type: ignore[operator]
        self.position = 0
        return True

    def char(self) -> str:
        """The character at the reading position (IndexError past the end)."""
        while self.position >= len(self.text) and self.slide():
            pass
        return self.text[self.position]

    def value(self) -> Any:
        """Decode the value at the reading position and move past it."""
        while True:
            if self.more and len(self.text) - self.position < SLIDE_MARGIN:
                self.slide()
                continue
            try:
                value, end = _DECODER.raw_decode(self.text, self.position)
            except json.JSONDecodeError as problem:
                if _maybe_cut(problem, self.text) and self.slide():  # cut at the end of the window: take in more
                    continue
                raise
            if end >= len(self.text) and self.slide():  # a number may go on in the next piece
                continue
            self.position = end
            return value


def _maybe_cut(problem: json.JSONDecodeError, text: str) -> bool:
    """Whether the error may only be the window's end (a value going on in the next piece): near
    the end, or a string that never ends (reported where it starts: a long string record is read
    by widening the window). Anything else is an error in the text: reading on would only widen
    the window for nothing (and copy it each time)."""
    return problem.pos >= len(text) - SLIDE_MARGIN or problem.msg.startswith("Unterminated string")


def _loads_object(window: _Window) -> dict[str, Any]:
    if window.char() != "{":
        raise _NotCompact
    result: dict[str, Any] = {}
    window.position += 1
    if window.char() == "}":
        window.position += 1
        return _end(window, result)
    while True:
        key = window.value()
        if type(key) is not str or window.char() != ":":
            raise _NotCompact
        window.position += 1
        if key == "records" and window.char() == "[":
            window.position += 1
            result[key] = _loads_array(window)
        else:
            result[key] = window.value()
        following = window.char()
        window.position += 1
        if following == "}":
            return _end(window, result)
        if following != ",":
            raise _NotCompact


def _loads_array(window: _Window) -> list[Any]:
    """The array whose ``[`` is just behind the reading position, one element per C call (the
    window's text and position kept in locals between slides: this is the hot loop)."""
    decode = _DECODER.raw_decode
    items: list[Any] = []
    if window.char() == "]":
        window.position += 1
        return items
    append = items.append
    text, position = window.text, window.position
    while True:
        if window.more and len(text) - position < SLIDE_MARGIN:
            window.position = position
            window.slide()
            text, position = window.text, window.position
            continue
        try:
            item, end = decode(text, position)
        except json.JSONDecodeError as problem:
            window.position = position
            if not (_maybe_cut(problem, text) and window.slide()):
                raise
            text, position = window.text, window.position
            continue
        if end >= len(text):
            window.position = position
            if not window.slide():
                raise _NotCompact  # the text ends inside the array
            text, position = window.text, window.position
            continue
        append(item)
        following = text[end]
        position = end + 1
        if following == "]":
            window.position = position
            return items
        if following != ",":
            raise _NotCompact


def _end(window: _Window, result: dict[str, Any]) -> dict[str, Any]:
    while True:
        if window.text[window.position:].strip():
            raise _NotCompact  # something after the object: json.loads says what
        window.position = len(window.text)
        if not window.slide():
            return result
