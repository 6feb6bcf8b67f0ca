"""``omega --batch FILE``: the headless front end. Runs every form and prints one result per form.

Plain output is exactly what a REPL would print (``display`` output in place, then ``=> VALUE`` or
``error: MESSAGE``); ``--json`` prints one JSON object per form for scripts. With stderr on a
terminal, a long file shows a progress bar there, so stdout stays clean for the results.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from omega_core.evaluator import Evaluator, FormResult

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


def run_batch(text: str, evaluator: Evaluator, out: TextIO, as_json: bool = False, err: TextIO | None = None) -> int:
    """Run ``text``; return the exit status (0: every form succeeded, 1: some form failed)."""
    err = err if err is not None else sys.stderr
    failed = False
    total_lines = text.count("\n") + 1
    show_progress = total_lines >= PROGRESS_MIN_LINES and hasattr(err, "isatty") and err.isatty()
    progress = None
    task = None
    if show_progress:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("running"), BarColumn(), TextColumn("line {task.completed}/{task.total}"),
            TimeElapsedColumn(), console=Console(file=err), transient=True,
        )
        progress.start()
        task = progress.add_task("run", total=total_lines)
    try:
        for result in evaluator.run_text(text):
            failed = failed or not result.ok
            if as_json:
                out.write(result_json(result) + "\n")
            else:
                out.write(result.transcript() + "\n")
            out.flush()
            if progress is not None and task is not None:
                progress.update(task, completed=result.line)
    finally:
        if progress is not None:
            progress.stop()
    return 1 if failed else 0
