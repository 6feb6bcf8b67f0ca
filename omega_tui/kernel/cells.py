"""What a cell shows: an ``execute`` reply from the server turned into Jupyter's outputs.

The server answers a cell with the REPL's transcript and one result per top-level form (value,
``display`` output, error with its code). A notebook wants them apart: ``display`` output as a
stdout stream, the value as the cell's ``execute_result`` (the last form's, as a Python cell shows
its last expression), and a failure as an ``error`` whose ``ename`` names the kind of error, whose
``evalue`` is the message, and whose traceback points at the line and column in the cell. A Python
traceback never reaches a cell: everything here works on the reply's data only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["CellError", "CellOutcome", "error_name", "outcome_of_reply", "outcome_of_failure", "unshown_output"]

_POSITION = re.compile(r"line (\d+), column (\d+)")
_SOURCE_LINE_WIDTH = 120


@dataclass(frozen=True)
class CellError:
    """An error as Jupyter shows it: ``ename: evalue`` and the traceback lines under it."""

    ename: str
    evalue: str
    traceback: tuple[str, ...]

    def content(self) -> dict[str, Any]:
        return {"ename": self.ename, "evalue": self.evalue, "traceback": list(self.traceback)}


@dataclass(frozen=True)
class CellOutcome:
    """Everything a cell shows once its ``execute`` has returned.

    ``stdout`` is display output the stream has not shown yet; ``result`` the text of the cell's
    value (None: nothing to show); ``error`` the first failure, with every failure in its traceback.
    """

    stdout: str
    result: str | None
    error: CellError | None
    session: str
    should_exit: bool = False
    """``:quit`` was run: the front end is asked to leave."""


def error_name(code: str | None, fallback: str = "Error") -> str:
    """``eval_error`` -> ``EvalError``: the wire's error code as an exception-like name."""
    if not code:
        return fallback
    return "".join(part.capitalize() for part in str(code).split("_") if part) or fallback


def _pointer(cell: str, line: int, column: int) -> list[str]:
    """The cell's line ``line`` and a caret under ``column`` (1-based), if the cell has that line."""
    lines = cell.split("\n")
    if not 1 <= line <= len(lines):
        return []
    text = lines[line - 1].rstrip()
    if len(text) > _SOURCE_LINE_WIDTH:
        text = text[:_SOURCE_LINE_WIDTH] + "..."
    caret = " " * (max(1, min(column, len(text) + 1)) - 1) + "^"
    return [f"    {text}", f"    {caret}"]


def _where(message: str, form_line: int | None) -> tuple[int, int] | None:
    """The line and column a message names (the last ones: the innermost place), else the form's line."""
    found = _POSITION.findall(message)
    if found:
        line, column = found[-1]
        return int(line), int(column)
    if form_line is not None and form_line >= 1:
        return form_line, 1
    return None


def _form_error(cell: str, message: str, code: str | None, form_line: int | None) -> tuple[str, list[str]]:
    ename = error_name(code)
    lines = [f"{ename}: {message}"]
    place = _where(message, form_line)
    if place is not None:
        line, column = place
        lines.append(f"  at line {line}, column {column} of the cell:")
        lines.extend(_pointer(cell, line, column))
    return ename, lines


def unshown_output(whole: str, streamed: str) -> str:
    """What of ``whole`` (the reply's output) the stream has not shown yet.

    The streamed chunks are a prefix of the reply's output (interfaces: "a front end that streamed
    chunks prints only what it has not shown already"); when they are not, the stream showed the
    output in its own way and nothing is repeated.
    """
    if whole.startswith(streamed):
        return whole[len(streamed):]
    return ""


def outcome_of_reply(cell: str, output: str, results: Sequence[dict[str, Any]], session: str,
                     is_command: bool, streamed: str = "") -> CellOutcome:
    """The outputs of one cell from its ``execute`` reply (``ExecuteReply`` fields).

    ``streamed`` is the display output already sent to the notebook while the cell ran.
    """
    if is_command:
        return _command_outcome(output, session, streamed)
    if not results:
        if output.startswith("error: "):  # the input failed as a whole
            message = output[len("error: "):]
            ename, lines = _form_error(cell, message, None, None)
            return CellOutcome(unshown_output("", streamed), None, CellError(ename, message, tuple(lines)), session)
        return CellOutcome("", None, None, session)
    displayed = "".join(str(result.get("output") or "") for result in results)
    errors: list[tuple[str, str, list[str]]] = []
    for result in results:
        message = result.get("error")
        if message is None:
            continue
        line = result.get("line")
        ename, lines = _form_error(cell, str(message), result.get("error_code"),
                                   line if isinstance(line, int) and not isinstance(line, bool) else None)
        errors.append((ename, str(message), lines))
    last = results[-1]
    value = None if last.get("error") is not None else last.get("value")
    error = None
    if errors:
        traceback: list[str] = []
        for _, _, lines in errors:
            traceback.extend(lines)
        if len(errors) > 1:
            traceback.insert(0, f"{len(errors)} forms of this cell failed:")
        ename, message, _ = errors[0]
        error = CellError(ename, message, tuple(traceback))
    return CellOutcome(unshown_output(displayed, streamed), None if value is None else str(value), error, session)


def _command_outcome(output: str, session: str, streamed: str) -> CellOutcome:
    """A ``:command``: its text is the result; ``error:``/``usage:`` text is the error instead."""
    text = unshown_output(output, streamed)
    for prefix, ename in (("error: ", "CommandError"), ("usage: ", "UsageError")):
        if output.startswith(prefix):
            message = output[len(prefix):] if prefix == "error: " else output
            return CellOutcome("", None, CellError(ename, message, (f"{ename}: {message}",)), session)
    return CellOutcome("", text if text else None, None, session)


def outcome_of_failure(code: str | None, message: str, session: str, fallback: str = "Error") -> CellOutcome:
    """A request the server (or the connection) refused: ``locked``, ``too_large``, unavailable ..."""
    ename = error_name(code, fallback)
    return CellOutcome("", None, CellError(ename, message, (f"{ename}: {message}",)), session)
