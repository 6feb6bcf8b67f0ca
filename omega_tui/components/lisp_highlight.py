"""Omega Lisp highlighting without tree-sitter: one small tokenizer shared by the input and the log.

``tokens`` yields ``(start, end, kind)`` character spans over a whole text (strings and comments may
span lines). ``highlight`` turns text into a ``rich.text.Text`` for the output log, and
``line_highlights`` gives the per-line UTF-8 byte spans that Textual's ``TextArea`` paints with its
theme's ``syntax_styles`` (the names used are the usual tree-sitter ones: keyword, string, ...).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from rich.style import Style
from rich.text import Text

SPECIAL_FORMS = frozenset(
    "define lambda if cond else let let* letrec begin set! quote and or when unless delay force "
    "cons-stream amb require effect oracle-lambda handle on call/cc".split()
)
"""Forms printed as keywords (LANGUAGE.md, "Special forms")."""

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+)
  | (?P<comment>;[^\n]*)
  | (?P<paren>[()\[\]])
  | (?P<quote>['`,])
  | (?P<string>"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<atom>[^\s()\[\]'`,";]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")

KINDS = ("keyword", "string", "comment", "number", "boolean", "punctuation.bracket", "operator", "command", "function")


def tokens(text: str) -> Iterator[tuple[int, int, str]]:
    """Highlighted spans ``(start, end, kind)`` in character offsets; whitespace and plain symbols are left out."""
    after_open = False
    if text.lstrip().startswith(":"):  # a REPL command: the command word stands out, the rest is plain
        start = len(text) - len(text.lstrip())
        end = start
        while end < len(text) and not text[end].isspace():
            end += 1
        yield start, end, "command"
        return
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        start, end = match.span()
        if kind == "ws":
            continue
        if kind == "paren":
            yield start, end, "punctuation.bracket"
            after_open = match.group() in "(["
            continue
        if kind == "quote":
            yield start, end, "operator"
        elif kind in ("string", "comment"):
            yield start, end, kind
        elif kind == "atom":
            word = match.group()
            if word in ("#t", "#f", "null"):
                yield start, end, "boolean"
            elif _NUMBER.match(word):
                yield start, end, "number"
            elif word in SPECIAL_FORMS:
                yield start, end, "keyword"
            elif after_open:
                yield start, end, "function"
        after_open = False


def line_highlights(text: str) -> dict[int, list[tuple[int, int | None, str]]]:
    """Per line: ``(start_byte, end_byte | None, kind)`` as ``TextArea._highlights`` wants them."""
    result: dict[int, list[tuple[int, int | None, str]]] = defaultdict(list)
    line_starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            line_starts.append(index + 1)
    lines = text.split("\n")
    byte_offsets: list[list[int]] = []  # per line: byte offset of each character (plus the end)
    for line in lines:
        offsets, total = [], 0
        for char in line:
            offsets.append(total)
            total += len(char.encode("utf-8"))
        offsets.append(total)
        byte_offsets.append(offsets)

    def locate(offset: int) -> tuple[int, int]:
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:  # the last line start <= offset
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo, offset - line_starts[lo]

    for start, end, kind in tokens(text):
        first, first_col = locate(start)
        last, last_col = locate(end)
        if first == last:
            result[first].append((byte_offsets[first][first_col], byte_offsets[first][last_col], kind))
            continue
        result[first].append((byte_offsets[first][first_col], None, kind))
        for row in range(first + 1, last):
            result[row].append((0, None, kind))
        if last_col:
            result[last].append((0, byte_offsets[last][last_col], kind))
    return result


DEFAULT_STYLES: dict[str, Style] = {
    "keyword": Style(color="magenta", bold=True),
    "string": Style(color="green"),
    "comment": Style(color="bright_black", italic=True),
    "number": Style(color="yellow"),
    "boolean": Style(color="cyan"),
    "punctuation.bracket": Style(dim=True),
    "operator": Style(color="cyan"),
    "command": Style(color="blue", bold=True),
    "function": Style(color="blue"),
}


def highlight(text: str, styles: dict[str, Style] | None = None, base: Style | str = "") -> Text:
    """``text`` as a rich ``Text`` with Lisp highlighting (for the output log)."""
    styles = DEFAULT_STYLES if styles is None else styles
    result = Text(text, style=base)
    for start, end, kind in tokens(text):
        style = styles.get(kind)
        if style is not None:
            result.stylize(style, start, end)
    return result
