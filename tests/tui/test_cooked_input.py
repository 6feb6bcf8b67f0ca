"""Keys typed while ``omega`` starts, in the terminal's cooked mode, reach the app as typed.

The unit tests use a real pty: the kernel's line discipline does the translating (Enter into a
line feed) that ``cooked_input`` undoes. The live test types a burst into a pty before the app has
even started and checks the session ran each form as its own input, in order.
"""

from __future__ import annotations

import os
import pty
import select
import termios
import time
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.client import OmegaClient, ServerError
from omega_core.server.paths import ServerPaths
from omega_tui.cooked_input import CookedInput, text_as_keys

from .conftest import stop_server
from .pty_terminal import Terminal

REPO = Path(__file__).resolve().parents[2]


class PtyStream:
    """What ``CookedInput`` needs of stdin: a file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def read_available(fd: int, timeout: float = 2.0) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 4096) if ready else b""


def test_text_typed_in_cooked_mode_is_taken_and_later_keys_arrive_untranslated() -> None:
    main, child = pty.openpty()
    try:
        before = termios.tcgetattr(child)
        assert before[0] & termios.ICRNL and before[3] & termios.ICANON  # a fresh pty is cooked
        os.write(main, b"(define a 1)\r(+ a")  # Enter, and a line still being typed
        time.sleep(0.05)  # the line discipline works as bytes arrive; give it the moment
        cooked = CookedInput(PtyStream(child)).take()
        assert cooked.text == "(define a 1)\n(+ a"
        os.write(main, b" 1)\r")
        assert read_available(child) == b" 1)\r"  # no line buffering, Enter no longer a line feed
        cooked.restore()
        assert termios.tcgetattr(child) == before
        cooked.restore()  # a second restore changes nothing
    finally:
        os.close(main)
        os.close(child)


def test_not_a_terminal_is_left_alone(tmp_path: Path) -> None:
    with (tmp_path / "in.txt").open("w+") as stream:
        with CookedInput(stream) as cooked:
            assert cooked.text == ""


def test_cooked_text_becomes_the_keys_textual_would_read() -> None:
    assert text_as_keys("(+ 1\t2)\n") == [("left_parenthesis", "("), ("plus", "+"), ("space", " "), ("1", "1"),
                                          ("tab", "\t"), ("2", "2"), ("right_parenthesis", ")"), ("enter", "\r")]
    assert text_as_keys("a\x1b[1;5Ab\x1bOPc\x07") == [("a", "a"), ("b", "b"), ("c", "c")]  # escapes, bell: dropped


@pytest.mark.slow
def test_a_burst_typed_before_the_app_started_runs_each_form_in_order(tmp_path: Path) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    env = dict(os.environ, OMEGA_CONFIG=str(config_path), TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path / "st"))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    terminal = Terminal(["--session", "early"], tmp_path, env, size=(80, 24))
    # typed at once, while Python is still starting: the first part certainly in cooked mode
    terminal.type("(define (count i n) (if (= i n) i (count (+ i 1) n)))\r")
    terminal.type("(define a 1)\r(define b 2)\r(+ a b)")
    terminal.type("\r")
    config = load_config(config_path)
    try:
        deadline = time.monotonic() + 30
        inputs: list[str] = []
        with OmegaClient(config, connect_timeout_s=30) as client:
            while len(inputs) < 4:
                assert time.monotonic() < deadline, f"the typed forms did not all run: {inputs}"
                terminal.pump(0.2)
                try:
                    rows = client.history("early")["rows"]
                except ServerError:  # not found: the session is created by its first input
                    rows = []
                inputs = [row["first_line"] for row in rows]
        assert inputs == ["(define (count i n) (if (= i n) i (count (+ i 1) n)))", "(define a 1)",
                          "(define b 2)", "(+ a b)"]
        terminal.type("\x11")  # ctrl+q
        assert terminal.wait_exit(10) == 0
    finally:
        terminal.close()
        stop_server(ServerPaths.for_config(config), config)
