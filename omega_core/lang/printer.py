"""The printed forms of Omega values (what the REPL shows after ``=> `` and what ``display`` writes).

Printing is iterative, with an explicit stack: user data may be a list a million elements long or
nested a hundred thousand levels deep, and printing it must not depend on the host's stack.
Quote forms are printed as the lists they are (``(quote x)``), so the output reads back unchanged.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from omega_core.lang.numtext import float_to_text, int_to_text
from omega_core.lang.values import (
    NIL,
    UNSPECIFIED,
    Closure,
    Continuation,
    HashTable,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    Promise,
    Symbol,
)

SHORT_LIMIT = 60
"""How many characters of a value an error message shows (see ``short_string``)."""


def write_string(value: Any) -> str:
    """The printed form: strings quoted and escaped JSON-style, everything else as in the table."""
    return _render(value, raw_strings=False, limit=None)


def display_string(value: Any, limit: int | None = None) -> str:
    """What ``display`` writes: like ``write_string`` but every string, at any depth, is raw.
    With ``limit``, the text stops soon after that many characters (the rest could not be shown)."""
    return _render(value, raw_strings=True, limit=limit)


def write_string_cut(value: Any, limit: int) -> str:
    """``write_string`` cut to ``limit`` characters with a note, printing no more than that: a
    result that is a list of millions of elements printed whole (tens of MB, seconds) only for
    all but its first ``limit`` characters to be dropped."""
    text, whole = _render_whole(value, raw_strings=False, limit=max(limit, 0))
    if whole:
        return truncate_output(text, limit)
    return f"{text[:max(limit, 0)]}... [output truncated: the value prints to more than {limit:,} characters]"


def short_string(value: Any, limit: int = SHORT_LIMIT) -> str:
    """The printed form cut to about ``limit`` characters, for error messages.

    Stops rendering as soon as the limit is passed, so naming a huge list in a message is cheap.
    """
    text = _render(value, raw_strings=False, limit=limit)
    if len(text) > limit:
        return text[: max(limit - 3, 0)] + "..."
    return text


def truncate_output(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters and say how much was dropped, so output stays bounded."""
    limit = max(limit, 0)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [output truncated: {len(text) - limit} more characters]"


# --- rendering ----------------------------------------------------------------------------------


class _Rest:
    """Stack entry: a list being printed; ``cell`` is the rest still to print."""

    __slots__ = ("cell", "first")

    def __init__(self, cell: Any) -> None:
        self.cell = cell
        self.first = True


def _render(value: Any, raw_strings: bool, limit: int | None) -> str:
    return _render_whole(value, raw_strings, limit)[0]


def _render_whole(value: Any, raw_strings: bool, limit: int | None) -> tuple[str, bool]:
    """Print ``value``; with ``limit``, stop soon after that many characters have been produced.
    Also says whether the text is whole (False: it stopped at the limit).

    Runs of non-list elements are printed in a tight loop; only a nested list pushes the enclosing
    list back on the stack, so memory grows with nesting depth, not with length.
    """
    writers = _DISPLAY_WRITERS if raw_strings else _WRITE_WRITERS
    parts: list[str] = []
    append = parts.append
    stack: list[Any] = []
    item: Any = value
    size = 0
    while True:
        if type(item) is Pair:
            append("(")
            size += 1
            item = _Rest(item)
        if type(item) is _Rest:
            rest = item.cell
            sep = "" if item.first else " "
            item.first = False
            while type(rest) is Pair:
                car = rest.car
                append(sep)
                if type(car) is Pair:
                    item.cell = rest.cdr
                    stack.append(item)
                    stack.append(car)
                    break
                writer = writers.get(type(car))
                text = writer(car) if writer is not None else _other_text(car)
                append(text)
                sep = " "
                rest = rest.cdr
                if limit is not None:
                    size += len(text) + 1
                    if size > limit:
                        return "".join(parts), False
            else:
                if rest is NIL:
                    append(")")
                else:
                    append(" . ")
                    append(_text(rest, writers))
                    append(")")
        else:
            text = _text(item, writers)
            append(text)
            size += len(text)
        if not stack:
            return "".join(parts), True
        if limit is not None and size > limit:
            return "".join(parts), False
        item = stack.pop()


def _text(value: Any, writers: dict[type, Callable[[Any], str]]) -> str:
    """The printed form of anything that is not a pair."""
    writer = writers.get(type(value))
    return writer(value) if writer is not None else _other_text(value)


def _other_text(value: Any) -> str:
    """Values without a writer of their own type: the two ``null``s and anything unforeseen."""
    if value is NIL or value is UNSPECIFIED:
        return "null"
    return f"<{type(value).__name__}>"


def _closure_text(closure: Closure) -> str:
    """``<closure (x y)>``, ``<closure (a . rest)>``, ``<closure args>``; prelude procedures are prims."""
    if closure.builtin_name is not None:
        return "<prim>"
    lam = closure.lam
    params = [_name(p) for p in getattr(lam, "params", ())]
    rest = getattr(lam, "rest", None)
    if rest is None:
        shape = "(" + " ".join(params) + ")"
    elif params:
        shape = "(" + " ".join(params) + " . " + _name(rest) + ")"
    else:
        shape = _name(rest)
    return f"<closure {shape}>"


def _name(param: Any) -> str:
    return param.name if type(param) is Symbol else str(param)


_WRITE_WRITERS: dict[type, Callable[[Any], str]] = {
    # Keyed by exact type, so booleans (type bool) never reach the integer writer.
    bool: lambda v: "#t" if v else "#f",
    int: int_to_text,
    float: float_to_text,
    str: lambda v: json.dumps(v, ensure_ascii=False),
    Symbol: lambda v: v.name,
    Closure: _closure_text,
    Primitive: lambda v: "<prim>",
    MachinePrimitive: lambda v: "<prim>",
    Continuation: lambda v: "<continuation>",
    OracleProc: lambda v: "<oracle-proc>",
    Promise: lambda v: "<promise>",
    HashTable: lambda v: f"<hash-table {len(v.table)}>",
}

_DISPLAY_WRITERS: dict[type, Callable[[Any], str]] = {**_WRITE_WRITERS, str: lambda v: v}
