"""The terminal driver marks the keys of one read as one burst (``omega_tui.burst_driver``).

A real pty: the test writes bytes to its main side, the driver's input thread reads the other side
exactly as it reads a terminal, and a stand-in app records what gets posted. What one write puts in
the terminal is one burst (a paste without bracketed paste); keys written one at a time are not.
"""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import threading
import time
import tty
from collections.abc import Iterator

import pytest
from textual import events

from omega_tui.burst_driver import READ_SIZE, BurstDriver
from omega_tui.read_burst import BurstMark, burst_mark

pytestmark = [pytest.mark.anyio]


class Recorder:
    """The part of an app the driver posts to."""

    def __init__(self) -> None:
        self.got: list[object] = []

    async def _post_message(self, message: object) -> bool:
        self.got.append(message)
        return True

    def keys(self) -> list[events.Key]:
        return [message for message in self.got if isinstance(message, events.Key)]


class Reading:
    """A ``BurstDriver`` reading one side of a pty in its input thread."""

    def __init__(self, recorder: Recorder) -> None:
        self.main, self.child = pty.openpty()
        tty.setraw(self.child)
        self.recorder = recorder
        self.driver = BurstDriver(recorder, size=(80, 24))  # type: ignore[arg-type]
        self.driver.fileno = self.child
        self.thread = threading.Thread(target=self.driver.run_input_thread, name="test-input")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.driver.exit_event.set()
        self.thread.join(5)
        os.close(self.main)
        os.close(self.child)

    async def keys(self, count: int, timeout: float = 10.0) -> list[events.Key]:
        deadline = time.monotonic() + timeout
        while len(self.recorder.keys()) < count:
            assert time.monotonic() < deadline, f"only {len(self.recorder.keys())} of {count} keys arrived"
            await asyncio.sleep(0.005)
        return self.recorder.keys()


@pytest.fixture
def signals() -> Iterator[None]:
    """``LinuxDriver`` installs handlers for ctrl+z; put the test process's back."""
    saved = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
    yield
    signal.signal(signal.SIGTSTP, saved[0])
    signal.signal(signal.SIGCONT, saved[1])


async def test_one_write_is_one_burst_and_each_key_knows_its_place(signals: None) -> None:
    reading = Reading(Recorder())
    reading.start()
    try:
        await asyncio.sleep(0.05)  # the thread is reading: what follows is not a start-up backlog
        paste = "(define a 1)\r(define b 2)\r(+ a b)"
        os.write(reading.main, paste.encode())
        keys = await reading.keys(len(paste))
        assert "".join(key.character or "?" for key in keys) == paste
        assert [burst_mark(key) for key in keys] == [BurstMark(i, len(paste) - 1 - i) for i in range(len(paste))]
        enters = [key for key in keys if key.key == "enter"]
        assert len(enters) == 2 and all(burst_mark(key).after > 0 for key in enters)  # type: ignore[union-attr]
        assert len({key.time for key in keys}) == 1  # stamped with the time of their read
    finally:
        reading.stop()


async def test_keys_written_one_at_a_time_are_not_marked(signals: None) -> None:
    reading = Reading(Recorder())
    reading.start()
    try:
        await asyncio.sleep(0.05)
        typed = "(+ 1 2)\r(+ 3 4)\r"
        for count, char in enumerate(typed, 1):
            os.write(reading.main, char.encode())
            await reading.keys(count)  # read before the next key is typed
        assert [burst_mark(key) for key in reading.recorder.keys()] == [None] * len(typed)
    finally:
        reading.stop()


async def test_a_paste_longer_than_one_read_is_still_one_burst(signals: None) -> None:
    reading = Reading(Recorder())
    reading.start()
    try:
        await asyncio.sleep(0.05)
        paste = "".join(f"(define x{i} {i})\r" for i in range(600))  # about 10 KB: several reads
        assert len(paste) > 2 * READ_SIZE
        writer = threading.Thread(target=os.write, args=(reading.main, paste.encode()))
        writer.start()  # the pty takes it in parts: the write blocks until the reader has read
        keys = await reading.keys(len(paste))
        writer.join(5)
        assert "".join(key.character or "?" for key in keys) == paste
        assert burst_mark(keys[0]) == BurstMark(0, len(paste) - 1)
    finally:
        reading.stop()


async def test_what_was_typed_while_the_app_loaded_is_not_a_burst(signals: None) -> None:
    reading = Reading(Recorder())
    typed = "(+ 1 2)\r(+ 3 4)\r"
    os.write(reading.main, typed.encode())  # waiting in the terminal before the driver reads
    reading.start()
    try:
        keys = await reading.keys(len(typed))
        assert [burst_mark(key) for key in keys] == [None] * len(typed)
        os.write(reading.main, b"ab")  # later reads are bursts again
        later = (await reading.keys(len(typed) + 2))[len(typed):]
        assert [burst_mark(key) for key in later] == [BurstMark(0, 1), BurstMark(1, 0)]
    finally:
        reading.stop()


def test_the_burst_driver_is_used_only_with_the_textual_it_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    import textual

    from omega_tui.burst_driver import TEXTUAL_MAJOR, BurstDriver, burst_driver_class

    monkeypatch.setattr(textual, "__version__", f"{TEXTUAL_MAJOR}.9.1")
    assert burst_driver_class() is BurstDriver
    monkeypatch.setattr(textual, "__version__", f"{TEXTUAL_MAJOR + 1}.0.0")
    assert burst_driver_class() is None  # the app keeps Textual's own driver


def test_the_textual_version_is_read_without_importlib_metadata() -> None:
    """It names the installed Textual (as ``importlib.metadata`` does) without loading that module
    (20-30 ms of the app's start)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=repo + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))
    probe = ("import sys; from omega_tui.burst_driver import textual_version; v = textual_version(); "
             "print(v, 'importlib.metadata' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    version, loaded = done.stdout.split()
    from importlib.metadata import version as installed

    assert version == installed("textual") and loaded == "False", done.stdout
