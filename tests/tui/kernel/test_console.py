"""``jupyter console --kernel omega`` in a terminal: a form typed over two lines is continued (the
console asks the kernel ``is_complete``), its value printed, and ``:quit`` leaves the console."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.tui.kernel.kernel_lab import KernelLab

CONSOLE = shutil.which("jupyter-console", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-console")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """A process on a pseudo-terminal, read until a text appears (with a deadline)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execvpe(argv[0], argv, env)
        self.seen = ""

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in ANSI.sub("", self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {text!r} on the terminal within {timeout} s; it shows:\n{ANSI.sub('', self.seen)[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode("utf-8", errors="replace")
                except OSError:  # the process ended
                    raise AssertionError(f"the console ended before showing {text!r}:\n{ANSI.sub('', self.seen)[-2000:]}") from None

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8"))

    def exited(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                select.select([self.fd], [], [], 0.1)
                os.read(self.fd, 65536)
            except OSError:
                pass
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done == self.pid:
                return True
        return False

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


@pytest.mark.skipif(CONSOLE is None, reason="jupyter_console is not installed")
def test_jupyter_console_continues_open_forms_and_quits(lab: KernelLab, tmp_path: Path) -> None:
    assert CONSOLE is not None
    env = lab.env(JPY_SESSION_NAME="console", JUPYTER_PATH=str(lab.prefix / "share" / "jupyter"),
                  JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"), IPYTHONDIR=str(tmp_path / "ipython"),
                  TERM="xterm")
    terminal = Terminal([CONSOLE, "--kernel", "omega"], env)
    try:
        terminal.wait_for("In [1]")
        terminal.type("(define (twice x)\r")
        terminal.wait_for("...:")  # continued: the form is open
        terminal.type("(* x 2))\r")
        terminal.wait_for("In [2]")
        terminal.type("(twice 21)\r")
        terminal.wait_for("Out[2]: 42")
        terminal.type(":quit\r")
        assert terminal.exited(), "the console did not leave on :quit"
    finally:
        terminal.kill()
