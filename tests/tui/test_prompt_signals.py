"""Ctrl+C at the ``--plain`` prompt is never lost (``omega_tui.prompt_signals``).

CPython's readline looks at a SIGINT only when it interrupts its ``select()``. The kernel may hand
the signal to another thread, or it may land just before the wait: either way the prompt used to
sit there until the next key. The child below makes that happen every time: its main thread blocks
SIGINT, so the kernel always gives it to a second thread, and only the prompt's own nudge can
wake the wait.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.tui.pty_terminal import Terminal

REPO = Path(__file__).resolve().parents[2]
PROMPT = "Ω> ".encode()

CHILD = """
import signal, sys, threading
from omega_tui.plain import repl_loop
threading.Thread(target=threading.Event().wait, args=(120,), daemon=True).start()  # takes every SIGINT
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
sys.exit(repl_loop(lambda entry: ("=> " + entry, False)))
"""


def start(tmp_path: Path) -> Terminal:
    env = dict(os.environ, TERM="dumb", XDG_STATE_HOME=str(tmp_path / "state"))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return Terminal([], tmp_path, env, program=[sys.executable, "-c", CHILD])


def test_a_ctrl_c_the_prompt_did_not_hear_still_ends_it(tmp_path: Path) -> None:
    terminal = start(tmp_path)
    try:
        at = terminal.read_until(PROMPT)
        terminal.type("hello\n")
        at = terminal.read_until(b"=> hello", start=at)
        at = terminal.read_until(PROMPT, start=at)
        terminal.type("\x03")
        at = terminal.read_until(b"ctrl+c again", start=at, timeout=10)
        terminal.read_until(PROMPT, start=at)
        terminal.type("\x03")
        assert terminal.wait_exit() == 0
        assert b"Error" not in terminal.seen and b"Traceback" not in terminal.seen
    finally:
        terminal.close()


def test_typed_text_is_dropped_and_the_next_line_still_runs(tmp_path: Path) -> None:
    terminal = start(tmp_path)
    try:
        at = terminal.read_until(PROMPT)
        terminal.type("half typ")
        at = terminal.read_until(b"half typ", start=at)
        terminal.type("\x03")
        at = terminal.read_until(b"ctrl+c again", start=at, timeout=10)
        at = terminal.read_until(PROMPT, start=at)
        terminal.type("whole\n")
        at = terminal.read_until(b"=> whole", start=at)
        assert b"=> half" not in terminal.seen
        terminal.type("\x04")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
