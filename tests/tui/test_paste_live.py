"""A paste without bracketed paste, through a real pty into ``omega``, while the CPU is busy.

The pty's other side is the app's terminal (bracketed paste is never turned on by a pty, so the
paste arrives as keys, Enter included). Busy loops beside the app load both cores, the condition in
which the old timing rule split a paste into two inputs. The paste must run as one input; keys typed
one at a time (with quick Enters) must still run each line as its own input.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.client import OmegaClient, ServerError
from omega_core.server.paths import ServerPaths

from .conftest import stop_server
from .pty_terminal import Terminal

REPO = Path(__file__).resolve().parents[2]
SESSION = "pasted"
PASTES = 5
PASTE_LINES = 12


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """A busy loop on every core (of the two this machine has, or more) while the test runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait(5)


def first_lines(client: OmegaClient) -> list[str]:
    try:
        return [row["first_line"] for row in client.history(SESSION)["rows"]]
    except ServerError:  # not found: the session is created by its first input
        return []


def wait_for_inputs(terminal: Terminal, client: OmegaClient, count: int, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(lines := first_lines(client)) < count:
        assert time.monotonic() < deadline, f"only these inputs ran: {lines}"
        terminal.pump(0.2)
    terminal.pump(1.0)  # anything more that ran would show now
    return first_lines(client)


def type_slowly(terminal: Terminal, text: str, gap_s: float = 0.05) -> None:
    """One key per write, ``gap_s`` apart: a (fast) typist."""
    for char in text:
        terminal.type(char)
        deadline = time.monotonic() + gap_s
        while (left := deadline - time.monotonic()) > 0:
            terminal.pump(left)  # keep reading the screen meanwhile: the app never blocks on output


def test_a_paste_runs_as_one_input_under_load_and_typed_lines_each_run(tmp_path: Path, busy_cpu: None) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    env = dict(os.environ, OMEGA_CONFIG=str(config_path), TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path / "st"))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    terminal = Terminal(["--session", SESSION], tmp_path, env, size=(100, 30))
    config = load_config(config_path)
    try:
        with OmegaClient(config, connect_timeout_s=60) as client:
            terminal.read_until(b"REPL", timeout=60)  # the first frame is up
            type_slowly(terminal, "(+ 0 0)\r")
            assert wait_for_inputs(terminal, client, 1) == ["(+ 0 0)"]
            for paste in range(1, PASTES + 1):  # each a write of its own, as a terminal sends a paste
                terminal.type("".join(f"(define p{paste}x{line} {line})\r" for line in range(PASTE_LINES)))
                assert wait_for_inputs(terminal, client, 1 + paste)[paste] == f"(define p{paste}x0 0)"
            assert len(first_lines(client)) == 1 + PASTES  # each paste one input
            type_slowly(terminal, "(+ 1 2)\r(+ 3 4)\r")
            assert wait_for_inputs(terminal, client, PASTES + 3)[PASTES + 1:] == ["(+ 1 2)", "(+ 3 4)"]
        terminal.type("\x11")  # ctrl+q
        assert terminal.wait_exit(20) == 0
    finally:
        terminal.close()
        stop_server(ServerPaths.for_config(config), config)
