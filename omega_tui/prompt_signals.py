"""Ctrl+C at a readline prompt that is never lost, for ``omega --plain``.

Why this exists: CPython's readline waits for a key in ``select()`` and looks at pending signals only
when that ``select()`` is interrupted. A SIGINT that lands a moment *before* the wait (the prompt is
already on screen, the C handler has already run, ``select()`` is not yet entered) or that the kernel
hands to another thread is noted and then ignored until the next key: the user's ctrl+c does nothing.
Under load that window is wide enough to hit (CI saw it).

The fix keeps readline and closes the window: the C signal handler writes each signal's number to a
wake-up pipe (``signal.set_wakeup_fd``); a watcher thread reads it and, if a SIGINT came while the main
thread waits at a prompt and the prompt has not given it up within ``NUDGE_S``, sends SIGUSR1 to the
main thread again and again until it does. Each nudge either interrupts the wait (the handler then
runs) or, arriving before it, leaves the flag for the next nudge, so one ctrl+c always ends the prompt
exactly once.

Between prompts (output being printed, a command running under its own handler) a ctrl+c is never
raised into the loop's code: it is kept and given to the next prompt, which then acts on it at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Callable

NUDGE_S = 0.03
"""How long a SIGINT may wait for the prompt's own handling before the watcher nudges the prompt."""


class PromptInterrupts:
    """Owns SIGINT while the line-mode REPL runs; ``read`` is ``input`` that always hears ctrl+c.

    Outside the main thread (tests driving the loop from a thread) signals cannot be set: ``read``
    is plain ``input``.
    """

    def __init__(self, read_line: Callable[[str], str] = input) -> None:
        self._read_line = read_line
        self._prompt_serial = 0  # one per prompt shown (first line or continuation)
        self._raised_serial = -1  # the last prompt a KeyboardInterrupt was raised into
        self._interrupt = KeyboardInterrupt()
        self._at_prompt = False
        self._pending = False  # a ctrl+c came between prompts: the next prompt takes it
        self._active = False
        self._previous: dict[int, Any] = {}
        self._previous_wakeup = -1
        self._pipe: tuple[int, int] | None = None
        self._watcher: threading.Thread | None = None
        self._main_ident = threading.main_thread().ident

    def __enter__(self) -> "PromptInterrupts":
        if threading.current_thread() is not threading.main_thread():
            return self
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        self._pipe = (read_end, write_end)
        self._previous_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._on_sigint)
        self._previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, self._on_nudge)
        self._active = True
        self._watcher = threading.Thread(target=self._watch, args=(read_end,), name="omega-prompt-signals",
                                         daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not self._active:
            return
        self._active = False
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_wakeup)
        assert self._pipe is not None
        os.close(self._pipe[1])  # the watcher's read sees end of file and stops
        if self._watcher is not None:
            self._watcher.join(1.0)
        os.close(self._pipe[0])
        self._pipe = None

    def read(self, prompt: str) -> str:
        """Show ``prompt`` and read a line; ctrl+c raises ``KeyboardInterrupt`` (also one pressed
        since the last prompt)."""
        self._prompt_serial += 1
        if self._pending:
            self._pending = False
            self._raised_serial = self._prompt_serial
            raise KeyboardInterrupt
        self._interrupt = KeyboardInterrupt()  # raised by the handlers (see below)
        self._at_prompt = True
        try:
            return self._read_line(prompt)
        finally:
            self._at_prompt = False

    # Both handlers may be called while a KeyboardInterrupt is already on its way out of ``input()``:
    # the builtin checks signals once more after readline gives up. With an exception set, a
    # handler may neither return normally nor call anything (both are SystemErrors, even
    # ``raise KeyboardInterrupt``, which calls the class), so at a prompt they always raise the
    # instance made beforehand, and touch nothing but attributes.

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if not self._at_prompt:
            self._pending = True
            return
        if self._raised_serial == self._prompt_serial:
            self._pending = True  # pressed again before this prompt ended
        self._raised_serial = self._prompt_serial
        raise self._interrupt

    def _on_nudge(self, signum: int, frame: FrameType | None) -> None:
        if self._at_prompt:
            self._raised_serial = self._prompt_serial
            raise self._interrupt
        # otherwise a nudge handled after its prompt ended: nothing to do

    def _watch(self, read_end: int) -> None:
        """Runs in its own thread: for each SIGINT seen at a prompt, nudge until the prompt gives up."""
        while True:
            try:
                data = os.read(read_end, 512)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data and self._at_prompt:
                self._nudge_until_heard(self._prompt_serial)

    def _unheard(self, serial: int) -> bool:
        """The prompt ``serial`` is still waiting and has not raised for its ctrl+c yet."""
        return self._active and self._at_prompt and self._prompt_serial == serial and self._raised_serial != serial

    def _nudge_until_heard(self, serial: int) -> None:
        assert self._main_ident is not None
        while self._unheard(serial):
            time.sleep(NUDGE_S)  # the prompt's own handling usually comes first
            if not self._unheard(serial):
                return
            try:
                signal.pthread_kill(self._main_ident, signal.SIGUSR1)
            except (OSError, ProcessLookupError):
                return
