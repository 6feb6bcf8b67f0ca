"""A child process whose controlling terminal is a pty the test types into (for line-mode tests)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path


class Terminal:
    """A child (``omega`` unless told otherwise) whose controlling terminal is a pty we type into."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], program: list[str] | None = None) -> None:
        """``program``: what to run instead of ``python -m omega_tui.cli`` (``args`` follow it)."""
        self.main, child = pty.openpty()

        def own_the_terminal() -> None:  # after setsid: make the pty our controlling terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        command = [*(program or [sys.executable, "-m", "omega_tui.cli"]), *args]
        self.process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd,
                                        start_new_session=True, preexec_fn=own_the_terminal)
        os.close(child)
        self.seen = b""

    def read_until(self, wanted: bytes, timeout: float = 20.0, start: int = 0) -> int:
        """Read until ``wanted`` appears after offset ``start``; returns where it ends."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.seen.find(wanted, start)
            if found >= 0:
                return found + len(wanted)
            assert time.monotonic() < deadline, f"no {wanted!r} within {timeout} s; screen: {self.seen[-1500:]!r}"
            ready, _, _ = select.select([self.main], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.main, 65536)
                except OSError:
                    pass

    def type(self, text: str) -> None:
        os.write(self.main, text.encode())

    def wait_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"the REPL did not leave; screen: {self.seen[-1500:]!r}"
            ready, _, _ = select.select([self.main], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.main, 65536)
                except OSError:
                    pass
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        os.close(self.main)
