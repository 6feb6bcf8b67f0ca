"""``omega --batch FILE``: the headless front end. Runs a file as if it were typed into the REPL.

The file is cut into entries: each top-level chunk of code (complete forms; a form may span lines)
is one input, and a line starting with ``:`` between forms is a REPL command. Plain output is exactly
what the REPL prints (``display`` output in place, then ``=> VALUE`` or ``error: MESSAGE``);
``--json`` prints one JSON object per form (and per command) for scripts. With stderr on a terminal,
a long file shows a progress bar there, so stdout stays clean for the results.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Callable, TextIO

from omega_core.config import Config
from omega_core.eval_steps import FormResult
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_tui.entries import Entry, command_json, iter_entries

__all__ = ["Entry", "command_json", "iter_entries", "result_json", "run_batch", "run_batch_embedded"]

PROGRESS_MIN_LINES = 200
"""Files shorter than this finish too fast for a progress bar to help."""


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


def run_batch_embedded(text: str, config: Config, session: str | None, out: TextIO, as_json: bool = False) -> int:
    """``omega --batch --embedded``: run ``text`` in this process.

    With ``session`` the inputs are recorded in that session (created with the first input: a file
    with nothing to run creates nothing); without, in a throwaway session in a temporary directory
    that is removed at the end, as the server path deletes its throwaway session.
    """
    if not any(True for _ in iter_entries(text)):
        return 0
    if session is not None:
        return run_batch(text, ReplState.open(config, session), out, as_json=as_json)
    from dataclasses import replace

    scratch = make_scratch_dir()
    try:
        state = ReplState.open(replace(config, session_dir=scratch), "batch")
        return run_batch(text, state, out, as_json=as_json)
    finally:
        remove_tree(scratch)


def make_scratch_dir(prefix: str = "omega-batch-") -> str:
    """A new private (0700) directory under ``$TMPDIR`` (else /tmp) for a throwaway session.

    Not ``tempfile.TemporaryDirectory``: importing ``tempfile`` (with ``shutil``, ``random``, bz2 and
    lzma) cost a one-line ``omega --embedded --batch`` more than its whole scratch session does."""
    base = os.environ.get("TMPDIR", "")
    if not base or not os.path.isdir(base):
        base = "/tmp"
    while True:
        path = os.path.join(base, f"{prefix}{os.getpid()}-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue  # 48 random bits taken: draw again


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything in it, links as links (never followed); what is already gone
    is no error. For a scratch dir this process made (see ``make_scratch_dir``)."""
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            _remove(os.path.join(root, name), os.unlink)
        for name in dirs:
            child = os.path.join(root, name)
            _remove(child, os.unlink if os.path.islink(child) else os.rmdir)
    _remove(path, os.rmdir)


def _remove(path: str, remove: Callable[[str], None]) -> None:
    try:
        remove(path)
    except FileNotFoundError:
        pass
