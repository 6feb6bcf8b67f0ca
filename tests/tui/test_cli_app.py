"""Plain ``omega`` opens the full-screen app in a terminal (a pty here); without one it falls back."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.paths import ServerPaths

from .conftest import stop_server

pytestmark = pytest.mark.slow


def test_plain_omega_opens_the_app_in_a_terminal_and_ctrl_q_quits(tmp_path: Path) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    env = dict(os.environ, OMEGA_CONFIG=str(config_path), TERM="xterm-256color", COLUMNS="100", LINES="30")
    main, child = pty.openpty()
    os.set_inheritable(child, True)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "omega_tui.cli"], stdin=child, stdout=child, stderr=child,
                               env=env, cwd=tmp_path, close_fds=True)
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b"Timeline" not in seen or b"Metrics" not in seen:
            assert time.monotonic() < deadline, f"the app never drew its panes: {seen[-2000:]!r}"
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    break
        assert b"\x1b[?1049h" in seen  # the alternate screen: a full-screen app, not the line REPL
        time.sleep(0.5)
        os.write(main, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 10
        while process.poll() is None:
            assert time.monotonic() < deadline, "ctrl+q did not quit"
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    os.read(main, 65536)
                except OSError:
                    pass
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        os.close(main)
        config = load_config(config_path)
        stop_server(ServerPaths.for_config(config), config)


def test_without_a_terminal_plain_omega_is_the_line_repl(tmp_path: Path) -> None:
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "omega_tui.cli", "--embedded"], input="(+ 1 2)\n", env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "=> 3" in done.stdout


def test_the_app_refuses_embedded(tmp_path: Path) -> None:
    from omega_tui import cli
    from omega_tui.usage import UsageError

    class Tty:
        def isatty(self) -> bool:
            return True

    old = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = Tty(), Tty()  # type: ignore[assignment]
    try:
        with pytest.raises(UsageError, match="--embedded goes with --batch or --plain"):
            cli.run(["--embedded"])
    finally:
        sys.stdin, sys.stdout = old
