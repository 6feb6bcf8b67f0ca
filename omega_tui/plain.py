"""``omega --plain``: a line-mode REPL for terminals where a full-screen app does not fit.

Readline gives history and editing; an entry continues over several lines while parentheses are
open (prompt ``..``), so pasting a multi-line definition works as expected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TextIO

from omega_tui.entries import needs_more_input

__all__ = ["CONTINUATION_PROMPT", "PROMPT", "default_history_file", "needs_more_input", "repl_loop"]

PROMPT = "Ω> "
CONTINUATION_PROMPT = ".. "
LEAVE_HINT = "(ctrl+c again or ctrl+d leaves; :quit too)"
QUIT_COMMANDS = frozenset({":quit", ":q", ":exit"})
"""Lines that leave the REPL (``omega_core.repl.misc_commands`` registers the same three)."""


def _setup_readline(history_file: Path) -> Callable[[], None]:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return lambda: None
    try:
        readline.read_history_file(history_file)
    except OSError:
        pass
    readline.set_history_length(5000)

    def save() -> None:
        try:
            history_file.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history_file)
        except OSError:
            pass

    return save


def repl_loop(
    process: Callable[[str], tuple[str, bool]],
    read_line: Callable[[str], str] | None = None,
    out: TextIO = sys.stdout,
    history_file: Path | None = None,
) -> int:
    """Read entries, hand each to ``process`` (returns output and whether to quit), print output.

    Ctrl+C at the prompt drops what was typed; pressed again right away (nothing entered between)
    it leaves, as Ctrl+D does. Ctrl+C while an entry runs is the caller's: ``process`` interrupts.
    ``read_line`` None: the terminal, through readline, with ctrl+c that is never lost
    (``prompt_signals``).
    """
    if read_line is not None:
        return _repl_loop(process, read_line, out, lambda: None)
    from omega_tui.prompt_signals import PromptInterrupts

    save_history = _setup_readline(history_file) if history_file is not None else (lambda: None)
    with PromptInterrupts(input) as prompt:
        return _repl_loop(process, prompt.read, out, save_history)


def _repl_loop(process: Callable[[str], tuple[str, bool]], read_line: Callable[[str], str], out: TextIO,
               save_history: Callable[[], None]) -> int:
    leave_armed = False  # the last key at the prompt was ctrl+c: one more leaves
    try:
        while True:
            try:
                entry = read_line(PROMPT)
                while needs_more_input(entry):
                    entry += "\n" + read_line(CONTINUATION_PROMPT)
            except EOFError:
                out.write("\n")
                return 0
            except KeyboardInterrupt:
                out.write("\n")
                if leave_armed:
                    return 0
                leave_armed = True
                out.write(LEAVE_HINT + "\n")
                out.flush()
                continue
            leave_armed = False
            if not entry.strip():
                continue
            try:
                output, should_exit = process(entry)
            except KeyboardInterrupt:  # ctrl+c just before ``process`` took the key over
                output, should_exit = "interrupted", False
            if output:
                out.write(output if output.endswith("\n") else output + "\n")
                out.flush()
            if should_exit:
                return 0
    finally:
        save_history()


def default_history_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "omega" / "history"
