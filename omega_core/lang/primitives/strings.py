"""Strings, and conversions between strings, numbers and symbols.

Strings are immutable Python ``str``; positions count characters (code points), 0-based.
``number->string`` and ``string->number`` use the printer's and the reader's number syntax, so
``(string->number (number->string x))`` gives ``x`` back for every number.
"""

from __future__ import annotations

from typing import Any

from omega_core.errors import EvalError
from omega_core.lang.budgets import check_string_chars, list_bytes, string_bytes
from omega_core.lang.numtext import parse_number
from omega_core.lang.primitives import _checks as check
from omega_core.lang.primitives._registry import primitive
from omega_core.lang.printer import write_string
from omega_core.lang.slice_work import keep_built
from omega_core.lang.turns import take_turn
from omega_core.lang.values import Symbol, make_list


def _strings(who: str, args: tuple[Any, ...]) -> tuple[str, ...]:
    for arg in args:
        check.string(who, arg)
    return args


@primitive("string-append", 0, None, needs_machine=True)
def string_append(m: Any, *args: Any) -> str:
    """Concatenation; its size is checked against the memory budget before it is built."""
    strings = _strings("string-append", args)
    if len(strings) > 1:
        length = sum(map(len, strings))
        check_string_chars(m, length, length <= m.max_string_chars and all(s.isascii() for s in strings),
                           "string-append")
    return "".join(strings)


@primitive("string-length", 1)
def string_length(s: Any) -> int:
    return len(check.string("string-length", s))


@primitive("substring", 2, 3)
def substring(s: Any, start: Any, end: Any = None) -> str:
    """``(substring s start [end])``: characters ``start`` up to (not including) ``end``."""
    text = check.string("substring", s)
    first = check.index("substring", start)
    last = len(text) if end is None else check.index("substring", end)
    if first > len(text) or last > len(text) or first > last:
        raise EvalError(
            f"substring: indices {first} to {last} are out of range for a string of "
            f"length {len(text)} (need 0 <= start <= end <= length)"
        )
    return text[first:last]


@primitive("string-upcase", 1)
def string_upcase(s: Any) -> str:
    return check.string("string-upcase", s).upper()


@primitive("string-downcase", 1)
def string_downcase(s: Any) -> str:
    return check.string("string-downcase", s).lower()


@primitive("string-trim", 1)
def string_trim(s: Any) -> str:
    """Removes whitespace at both ends (LLM answers often carry stray newlines)."""
    return check.string("string-trim", s).strip()


@primitive("string-split", 2, needs_machine=True)
def string_split(m: Any, s: Any, sep: Any) -> Any:
    """List of the pieces between occurrences of ``sep``; an empty ``sep`` gives the characters."""
    text = check.string("string-split", s)
    separator = check.string("string-split", sep)
    if separator == "":
        m.reserve(list_bytes(len(text)), "string-split")
        pieces: Any = text  # read backwards in place, taking turns (``make_list``)
    else:
        m.reserve(list_bytes(text.count(separator) + 1) + string_bytes(len(text), text.isascii()), "string-split")
        pieces = split_taking_turns(text, separator)
    result = make_list(pieces)
    keep_built(m, result, len(pieces))
    return result


SPLIT_WINDOW_CHARS = 64 * 1024
"""``string-split`` splits a long string this many characters at a time, with a turn between
(``turns``): one C ``split`` of 4 Mi characters into two million pieces keeps the GIL for 40 ms."""

JOIN_CHUNK_ITEMS = 64 * 1024
"""``string-join`` measures, checks and joins this many strings per C call, with a turn between."""


def split_taking_turns(text: str, separator: str) -> list[str]:
    """``text.split(separator)`` (``separator`` not empty), a window at a time. A split of a
    window finds the same separators as the whole string's split would, left to right, except
    that the last one may cross the window's end: so the window's last piece is dropped and the
    next window starts where it started."""
    pieces: list[str] = []
    start = 0
    while True:
        if len(text) - start <= SPLIT_WINDOW_CHARS:
            pieces.extend(text[start:].split(separator))
            return pieces
        parts = text[start:start + SPLIT_WINDOW_CHARS].split(separator)
        if len(parts) > 1:
            parts.pop()
            pieces.extend(parts)
            start += sum(map(len, parts)) + len(separator) * len(parts)
        else:  # no separator in the window: this piece runs past it
            found = text.find(separator, start)
            if found < 0:
                pieces.append(text[start:])
                return pieces
            pieces.append(text[start:found])
            start = found + len(separator)
        take_turn()


@primitive("string-join", 2, needs_machine=True)
def string_join(m: Any, lst: Any, sep: Any) -> str:
    """``(string-join list-of-strings separator)``."""
    items = check.proper_list("string-join", lst)
    separator = check.string("string-join", sep)
    chunks = [items[start:start + JOIN_CHUNK_ITEMS] for start in range(0, len(items), JOIN_CHUNK_ITEMS)]
    length = len(separator) * max(len(items) - 1, 0)
    for chunk in chunks:  # a chunk per C call, a turn between (``turns``)
        for item in chunk:
            if type(item) is not str:
                raise EvalError(
                    f"string-join: expected a list of strings, but an element is "
                    f"{check.describe(item)}"
                )
        length += sum(map(len, chunk))
        take_turn()
    all_ascii = (length <= m.max_string_chars  # past it refused at once, no character looked at
                 and separator.isascii() and all(all(map(str.isascii, chunk)) for chunk in chunks))
    check_string_chars(m, length, all_ascii, "string-join")
    joined = []
    for chunk in chunks:
        joined.append(separator.join(chunk))
        take_turn()
    return separator.join(joined)


@primitive("string-contains?", 2)
def string_contains(s: Any, part: Any) -> bool:
    """``(string-contains? haystack needle)``."""
    return check.string("string-contains?", part) in check.string("string-contains?", s)


@primitive("string-replace-all", 3, needs_machine=True)
def string_replace_all(m: Any, s: Any, old: Any, new: Any) -> str:
    """``(string-replace-all s old new)``; an empty ``old`` is an error (it would match everywhere)."""
    text = check.string("string-replace-all", s)
    pattern = check.string("string-replace-all", old)
    replacement = check.string("string-replace-all", new)
    if pattern == "":
        raise check.type_error("string-replace-all", "a non-empty string to replace", pattern)
    if len(replacement) > len(pattern):  # the result can be much longer than the text
        grown = len(text) + text.count(pattern) * (len(replacement) - len(pattern))
        check_string_chars(m, grown, grown <= m.max_string_chars and text.isascii() and replacement.isascii(),
                           "string-replace-all")
    return text.replace(pattern, replacement)


@primitive("string=?", 1, None)
def string_eq(*args: Any) -> bool:
    strings = _strings("string=?", args)
    return all(strings[i] == strings[i + 1] for i in range(len(strings) - 1))


@primitive("string<?", 1, None)
def string_lt(*args: Any) -> bool:
    """Chained, by code point (lexicographic), like Python's ``<`` on ``str``."""
    strings = _strings("string<?", args)
    return all(strings[i] < strings[i + 1] for i in range(len(strings) - 1))


@primitive("number->string", 1)
def number_to_string(n: Any) -> str:
    return write_string(check.number("number->string", n))


@primitive("string->number", 1, needs_machine=True)
def string_to_number(m: Any, s: Any) -> Any:
    """The number the string spells (``-3``, ``2.5``, ``1e3``, ``+inf.0``), or ``#f``.

    Surrounding whitespace is ignored: oracle answers usually end in a newline. A run of digits
    longer than the integer budget allows is refused before it is converted.
    """
    text = check.string("string->number", s).strip()
    if len(text) * 10 // 3 > m.max_integer_bits and text.lstrip("+-").isdigit():
        m.check_integer_bits(len(text.lstrip("+-")) * 10 // 3, "string->number")
    result = parse_number(text)
    return False if result is None else result


@primitive("symbol->string", 1)
def symbol_to_string(s: Any) -> str:
    return check.symbol("symbol->string", s).name


@primitive("string->symbol", 1)
def string_to_symbol(s: Any) -> Symbol:
    return Symbol.intern(check.string("string->symbol", s))
