"""``omega --batch FILE``: the headless front end. Runs a file as if it were typed into the REPL.

The file is cut into entries: each top-level chunk of code (complete forms; a form may span lines)
is one input, and a line starting with ``:`` between forms is a REPL command. Plain output is exactly
what the REPL prints (``display`` output in place, then ``=> VALUE`` or ``error: MESSAGE``);
``--json`` prints one JSON object per form (and per command) for scripts. With stderr on a terminal,
a long file shows a progress bar there, so stdout stays clean for the results.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Iterator, TextIO

from omega_core.evaluator import FormResult
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_tui.plain import needs_more_input

PROGRESS_MIN_LINES = 200
"""Files shorter than this finish too fast for a progress bar to help."""


@dataclass(frozen=True)
class Entry:
    """One input of a batch file: code (``is_command`` false) or a REPL command line."""

    text: str
    line: int
    is_command: bool


def iter_entries(text: str) -> Iterator[Entry]:
    buffer: list[str] = []
    start_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not buffer:
            if line.strip().startswith(":"):
                yield Entry(line.strip(), number, True)
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


def result_json(result: FormResult) -> str:
    return json.dumps(
        {
            "input": result.source,
            "line": result.line,
            "value": result.value,
            "output": result.output,
            "error": result.error,
            "error_code": result.error_code,
            "steps": result.steps,
            "ms": round(result.ms, 3),
        },
        ensure_ascii=False,
    )


def command_json(entry: Entry, output: str) -> str:
    error = output[len("error: "):] if output.startswith("error: ") else None
    return json.dumps({"command": entry.text, "line": entry.line, "output": output, "error": error}, ensure_ascii=False)


class _Progress:
    """A rich progress bar on stderr for long files (only when stderr is a terminal)."""

    def __init__(self, err: TextIO, total_lines: int) -> None:
        self.bar = None
        if total_lines >= PROGRESS_MIN_LINES and hasattr(err, "isatty") and err.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("running"), BarColumn(), TextColumn("line {task.completed}/{task.total}"),
                TimeElapsedColumn(), console=Console(file=err), transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("run", total=total_lines)

    def update(self, line: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=line)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_batch(text: str, state: ReplState, out: TextIO, as_json: bool = False, err: TextIO | None = None) -> int:
    """Run ``text`` in ``state``'s session; return 0 when every form and command succeeded, else 1."""
    err = err if err is not None else sys.stderr
    failed = False
    progress = _Progress(err, text.count("\n") + 1)
    try:
        for entry in iter_entries(text):
            if entry.is_command:
                state, output, should_exit = process(state, entry.text)
                failed = failed or output.startswith("error: ") or output.startswith("usage: ")
                if as_json:
                    out.write(command_json(entry, output) + "\n")
                elif output:
                    out.write(output + "\n")
                if should_exit:
                    break
            else:
                for result in state.session.execute(entry.text, first_line=entry.line):
                    failed = failed or not result.ok
                    out.write((result_json(result) if as_json else result.transcript()) + "\n")
            out.flush()
            progress.update(entry.line)
    finally:
        progress.stop()
        state.close()
    return 1 if failed else 0
