"""Reading just enough of a cell's text for the front end's questions, without the server.

``jupyter console`` asks after every Enter whether the input is complete (``is_complete_request``);
completion and inspection need the symbol under the cursor; finding a definition's source needs the
top-level forms of a recorded input. All three only need to know where strings, comments and
parentheses are, so one small scanner serves them (the real reader runs on the server and reports
every mistake with its line and column).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Completeness", "Entry", "cell_entries", "completeness", "symbol_before", "symbol_around", "top_level_forms", "SYMBOL_STOPS"]

SYMBOL_STOPS = frozenset(" \t\r\n\f\v()[]\"';`,")
"""Characters that end a symbol (whitespace, brackets, string and comment starts, quote marks)."""
INDENT_UNIT = "  "
MAX_INDENT_LEVELS = 8


class Completeness(enum.StrEnum):
    """The answers ``is_complete_request`` allows (Jupyter messaging spec)."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    INVALID = "invalid"


@dataclass(frozen=True)
class Balance:
    """Where a scan of some code ended: open parentheses, inside a string, a close too many."""

    depth: int
    in_string: bool
    extra_close: bool


def _scan(code: str) -> Balance:
    depth = 0
    in_string = False
    index = 0
    length = len(code)
    while index < length:
        ch = code[index]
        if in_string:
            if ch == "\\":
                index += 1  # the escaped character, whatever it is
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            newline = code.find("\n", index)
            index = length if newline < 0 else newline
            continue
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return Balance(depth, False, True)
        index += 1
    return Balance(depth, in_string, False)


def completeness(code: str) -> tuple[Completeness, str]:
    """Is ``code`` ready to run, and if not, the indent of its next line.

    A ``:command`` is one line, so always complete. Code is incomplete while a parenthesis or a
    string is open (the indent grows with the open parentheses), invalid when a ``)`` closes
    nothing (running it would only report that), complete otherwise (empty input included).
    """
    if code.lstrip().startswith(":"):
        return Completeness.COMPLETE, ""
    balance = _scan(code)
    if balance.extra_close:
        return Completeness.INVALID, ""
    if balance.in_string:
        return Completeness.INCOMPLETE, ""
    if balance.depth > 0:
        return Completeness.INCOMPLETE, INDENT_UNIT * min(balance.depth, MAX_INDENT_LEVELS)
    return Completeness.COMPLETE, ""


def _in_string_or_comment(code: str, position: int) -> bool:
    """Whether ``position`` of ``code`` is inside a string or a comment (completion is off there)."""
    line_start = code.rfind("\n", 0, position) + 1
    before = code[:position]
    balance = _scan(before)
    if balance.in_string:
        return True
    # A comment runs to the end of its line: look for a ';' outside strings on this line.
    in_string = False
    index = line_start
    while index < position:
        ch = code[index]
        if in_string:
            if ch == "\\":
                index += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            return True
        index += 1
    return False


def symbol_before(code: str, cursor: int) -> tuple[int, str] | None:
    """The (possibly empty) symbol ending at ``cursor`` and where it starts; None in a string or comment."""
    cursor = max(0, min(cursor, len(code)))
    if _in_string_or_comment(code, cursor):
        return None
    start = cursor
    while start > 0 and code[start - 1] not in SYMBOL_STOPS:
        start -= 1
    return start, code[start:cursor]


def symbol_around(code: str, cursor: int) -> str | None:
    """The symbol the cursor is in or just after (for inspection); None when there is none."""
    cursor = max(0, min(cursor, len(code)))
    if _in_string_or_comment(code, cursor):
        return None
    start = cursor
    while start > 0 and code[start - 1] not in SYMBOL_STOPS:
        start -= 1
    end = cursor
    while end < len(code) and code[end] not in SYMBOL_STOPS:
        end += 1
    if start == end:  # on a "(": the procedure it applies is the interesting symbol
        probe = cursor
        while probe < len(code) and code[probe] in "([":
            probe += 1
        end = probe
        while end < len(code) and code[end] not in SYMBOL_STOPS:
            end += 1
        start = probe
    word = code[start:end]
    return word or None


def top_level_forms(code: str) -> list[str]:
    """The top-level parenthesised forms of ``code``, as written (atoms and comments left out)."""
    forms: list[str] = []
    depth = 0
    in_string = False
    start = -1
    index = 0
    length = len(code)
    while index < length:
        ch = code[index]
        if in_string:
            if ch == "\\":
                index += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            newline = code.find("\n", index)
            index = length if newline < 0 else newline
            continue
        elif ch in "([":
            if depth == 0:
                start = index
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0 and start >= 0:
                forms.append(code[start:index + 1])
                start = -1
            depth = max(depth, 0)
        index += 1
    return forms


@dataclass(frozen=True)
class Entry:
    """One request of a cell: a run of code, or a ``:command`` line; ``line`` is where it starts (1-based)."""

    text: str
    line: int
    is_command: bool


def cell_entries(cell: str) -> list[Entry]:
    """A cell cut as the REPL would take it typed line by line: a line starting with ``:`` where no
    form is open is a command; the code between commands goes to the server as one input, so its
    forms run in one request and their errors name lines of the cell."""
    entries: list[Entry] = []
    buffer: list[str] = []
    start = 1
    for number, line in enumerate(cell.split("\n"), start=1):
        if line.lstrip().startswith(":") and completeness("\n".join(buffer))[0] is not Completeness.INCOMPLETE:
            if "\n".join(buffer).strip():
                entries.append(Entry("\n".join(buffer), start, False))
            buffer = []
            entries.append(Entry(line.strip(), number, True))
            continue
        if not buffer:
            start = number
        buffer.append(line)
    if "\n".join(buffer).strip():
        entries.append(Entry("\n".join(buffer), start, False))
    return entries
