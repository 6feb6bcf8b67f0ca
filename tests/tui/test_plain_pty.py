"""``omega --plain`` in a real terminal (a pty): ctrl+c interrupts a running command and comes back to
the prompt, through the server and embedded; at the prompt a second ctrl+c, or ctrl+d, leaves."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.client import OmegaClient
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]
PROMPT = "Ω> ".encode()


class Terminal:
    """A child ``omega`` whose controlling terminal is a pty we type into."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.main, child = pty.openpty()

        def own_the_terminal() -> None:  # after setsid: make the pty our controlling terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen([sys.executable, "-m", "omega_tui.cli", *args], stdin=child, stdout=child,
                                        stderr=child, env=env, cwd=cwd, start_new_session=True,
                                        preexec_fn=own_the_terminal)
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


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_busy(pid: int, timeout: float = 20.0) -> None:
    """Wait until ``pid`` has used 0.15 s of CPU more than now: the endless loop is running."""
    start = cpu_ticks(pid)
    deadline = time.monotonic() + timeout
    while cpu_ticks(pid) - start < 15:
        assert time.monotonic() < deadline, "the command never started running"
        time.sleep(0.02)


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    env = dict(os.environ, OMEGA_CONFIG=str(config_path), TERM="dumb", XDG_STATE_HOME=str(tmp_path / "state"))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    terminals: list[Terminal] = []

    def start(*args: str) -> Terminal:
        terminal = Terminal(["--plain", *args], tmp_path, env)
        terminals.append(terminal)
        return terminal

    yield start, config_path
    for terminal in terminals:
        terminal.close()
    config = load_config(config_path)
    stop_server(ServerPaths.for_config(config), config)


def busy_pid(embedded: bool, terminal: Terminal, config_path: Path) -> int:
    if embedded:
        return terminal.process.pid
    with OmegaClient(load_config(config_path), autostart=False) as client:
        return int(client.status()["backend_pid"])


@pytest.mark.parametrize("embedded", [False, True], ids=["server", "embedded"])
def test_ctrl_c_interrupts_the_command_and_a_second_at_the_prompt_leaves(setup, embedded: bool) -> None:  # type: ignore[no-untyped-def]
    start, config_path = setup
    terminal = start(*(["--embedded"] if embedded else []))
    at = terminal.read_until(PROMPT)
    terminal.type("(define (spin) (spin))\n")
    at = terminal.read_until(b"=> spin", start=at)
    at = terminal.read_until(PROMPT, start=at)
    terminal.type("(spin)\n")
    at = terminal.read_until(b"(spin)", start=at)
    wait_busy(busy_pid(embedded, terminal, config_path))
    terminal.type("\x03")
    at = terminal.read_until(b"interrupted", start=at)
    at = terminal.read_until(PROMPT, start=at)
    terminal.type("(+ 1 2)\n")
    at = terminal.read_until(b"=> 3", start=at)
    at = terminal.read_until(PROMPT, start=at)
    assert b"internal error" not in terminal.seen and b"Traceback" not in terminal.seen
    terminal.type("\x03")
    at = terminal.read_until(b"ctrl+c again", start=at)
    terminal.read_until(PROMPT, start=at)
    terminal.type("\x03")
    assert terminal.wait_exit() == 0


@pytest.mark.parametrize("embedded", [False, True], ids=["server", "embedded"])
def test_ctrl_d_at_the_prompt_leaves(setup, embedded: bool) -> None:  # type: ignore[no-untyped-def]
    start, _config_path = setup
    terminal = start(*(["--embedded"] if embedded else []))
    terminal.read_until(PROMPT)
    terminal.type("\x04")
    assert terminal.wait_exit() == 0


def test_closing_the_terminal_while_a_command_runs_interrupts_it(setup) -> None:  # type: ignore[no-untyped-def]
    start, config_path = setup
    terminal = start()
    at = terminal.read_until(PROMPT)
    terminal.type("(define (spin) (spin))\n(spin)\n")
    at = terminal.read_until(b"=> spin", start=at)
    backend = busy_pid(False, terminal, config_path)
    wait_busy(backend)
    terminal.process.send_signal(signal.SIGHUP)
    assert terminal.wait_exit() == 130
    assert b"the running command was interrupted" in terminal.seen
    deadline = time.monotonic() + 10
    with OmegaClient(load_config(config_path), autostart=False) as client:
        while client.execute("(+ 20 22)", "current").output != "=> 42":  # the session is free again
            assert time.monotonic() < deadline
