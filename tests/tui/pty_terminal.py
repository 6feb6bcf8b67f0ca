"""A child process whose controlling terminal is a pty the test types into (for line-mode tests)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path


class Terminal:
    """A child (``omega`` unless told otherwise) whose controlling terminal is a pty we type into."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], program: list[str] | None = None,
                 size: tuple[int, int] | None = None) -> None:
        """``program``: what to run instead of ``python -m omega_tui.cli`` (``args`` follow it);
        ``size``: the terminal's (columns, rows)."""
        self.main, child = pty.openpty()
        if size is not None:
            fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))

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
            self.pump()

    def pump(self, wait_s: float = 0.1) -> None:
        """Read what the child wrote (waiting up to ``wait_s``), so it never blocks on a full pty."""
        ready, _, _ = select.select([self.main], [], [], wait_s)
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
            assert time.monotonic() < deadline, f"the program did not leave; screen: {self.seen[-1500:]!r}"
            self.pump()
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        os.close(self.main)
