"""Reading a capture's records (``{"recordsOf": ID, "records": [...], "rewrites": ..., "units": ...}``)
without one long C call.

A capture of a list of millions of pairs is one line of tens of MB. ``json.loads`` of it is a single
C call that holds the GIL for as long as it takes: loading such a session again in a worker thread
(``:session load``, a command after its eviction) held every other client for 1.2-1.6 s per
line. Here the top-level object is read key by key and the ``records`` array one record at a time
(``JSONDecoder.raw_decode``, a short C call each), so other threads get the GIL between records.
It costs about twice the time of one ``json.loads`` for the line, on the loading thread only.

The writer is compact (no whitespace between tokens, ``dumps_compact``); text that is not (or is
not such an object) is read by ``json.loads`` as before.
"""

from __future__ import annotations

import json
from typing import Any

_DECODER = json.JSONDecoder()
PIECEWISE_FROM_CHARS = 1 << 20
"""Lines shorter than this are read by one ``json.loads`` (a millisecond or so)."""


class _NotCompact(Exception):
    """The text is not a compact object of the expected shape: read it whole instead."""


def loads_records(text: str | bytes) -> Any:
    """The value of a records line's JSON ``text`` (bytes: UTF-8), as ``json.loads`` would give it."""
    if len(text) < PIECEWISE_FROM_CHARS:
        return json.loads(text)
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # a UnicodeDecodeError is a ValueError, as json.loads raises
    try:
        return _loads_object(text)
    except (_NotCompact, json.JSONDecodeError, IndexError):
        return json.loads(text)  # the same result, or the error json.loads reports for it


def _loads_object(text: str) -> dict[str, Any]:
    decode = _DECODER.raw_decode
    if text[0] != "{":
        raise _NotCompact
    result: dict[str, Any] = {}
    position = 1
    if text[position] == "}":
        return _end(text, position + 1, result)
    while True:
        key, position = decode(text, position)
        if type(key) is not str or text[position] != ":":
            raise _NotCompact
        position += 1
        if key == "records" and text[position] == "[":
            result[key], position = _loads_array(text, position + 1)
        else:
            result[key], position = decode(text, position)
        following = text[position]
        position += 1
        if following == "}":
            return _end(text, position, result)
        if following != ",":
            raise _NotCompact


def _loads_array(text: str, position: int) -> tuple[list[Any], int]:
    """The array whose ``[`` ends before ``position``, one element per C call; and where it ends."""
    decode = _DECODER.raw_decode
    items: list[Any] = []
    if text[position] == "]":
        return items, position + 1
    append = items.append
    while True:
        item, position = decode(text, position)
        append(item)
        following = text[position]
        position += 1
        if following == "]":
            return items, position
        if following != ",":
            raise _NotCompact


def _end(text: str, position: int, result: dict[str, Any]) -> dict[str, Any]:
    if text[position:].strip():
        raise _NotCompact  # something after the object: json.loads says what
    return result
