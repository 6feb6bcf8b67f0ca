"""``omega --plain`` in a real terminal (a pty): ctrl+c interrupts a running command and comes back to
the prompt, through the server and embedded; at the prompt a second ctrl+c, or ctrl+d, leaves."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.client import OmegaClient
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server
from tests.tui.pty_terminal import Terminal

REPO = Path(__file__).resolve().parents[2]
PROMPT = "Ω> ".encode()


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
