"""The two line-mode REPLs of ``omega --plain``: through the server (default) and ``--embedded``.

Both promise the same keys: Ctrl+C while a command runs interrupts that command and comes back to
the prompt (the machine stops at its next slice); at the prompt a second Ctrl+C, or Ctrl+D, leaves.
Leaving with a command still running (the terminal closes: SIGHUP, or SIGTERM) interrupts it first
and says so, so nothing goes on running in the server behind the user's back.

Why a signal handler rather than catching ``KeyboardInterrupt``: the exception can land anywhere,
including in the middle of reading a reply frame, which would lose the connection's framing (the
``IndexError`` of issue 13). While a command runs, SIGINT only raises a flag; the waiting loop turns
it into an ``interrupt`` request (server) or ``Evaluator.interrupt`` (embedded).

The session named by ``--session`` is opened (and so created) only by the first input; ``:quit``
before any input creates nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from omega_core import __version__
from omega_core.config import Config
from omega_core.error_words import for_people
from omega_tui import DEFAULT_SESSION  # the session a REPL uses without ``--session``
from omega_tui.plain import QUIT_COMMANDS, default_history_file, repl_loop

POLL_S = 0.05
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class QuitWhileRunning(Exception):
    """The REPL was told to end (SIGTERM/SIGHUP) while a command ran; the command was interrupted."""


class CommandSignals:
    """While one command runs: SIGINT calls ``on_interrupt``; SIGTERM/SIGHUP mark ``quit_requested``
    (and interrupt too). Restores the previous handlers on exit. Only the main thread may set
    handlers: elsewhere (tests calling the runner from a thread) it does nothing."""

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        self.on_interrupt = on_interrupt
        self.interrupts = 0
        self.quit_requested = False
        self._previous: dict[int, Any] = {}

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupts += 1
        self.on_interrupt()

    def _on_quit(self, signum: int, frame: FrameType | None) -> None:
        self.quit_requested = True
        self.on_interrupt()

    def __enter__(self) -> "CommandSignals":
        if threading.current_thread() is threading.main_thread():
            self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._on_sigint)
            for number in QUIT_SIGNALS:
                self._previous[number] = signal.signal(number, self._on_quit)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _is_quit(entry: str) -> bool:
    return entry.strip() in QUIT_COMMANDS


def run_plain_via_server(config: Config, session: str | None, config_path: str | None) -> int:
    """The line-mode REPL as a client of the server."""
    from omega_core.server import launcher
    from omega_core.server.client import OmegaClient, ServerError, ServerUnavailable
    from omega_core.server.protocol import ErrorCode, Op
    from omega_tui.remote_batch import warn_about_config_drift

    client = OmegaClient(config, name="omega --plain", config_path=config_path,
                         on_reconnect=lambda: _say("[the server restarted; reconnected]"))
    client.connect()
    client.autostart = False  # after an explicit `omega server stop`, nothing starts a new one
    warn_about_config_drift(client, config, config_path, sys.stderr)
    current = [session or DEFAULT_SESSION]
    opened = [False]
    try:
        client.call(Op.OPEN, current[0], create=False)  # an existing session is opened now ...
        client.open_session(current[0])
        opened[0] = True
    except ServerError as problem:
        if problem.code != ErrorCode.NOT_FOUND:
            client.close()
            raise
    # ... a new one is created by its first input

    def handle(entry: str) -> tuple[str, bool]:
        if _is_quit(entry):
            return "", True
        if launcher.server_pid(client.paths) is None:
            return ("error: the Omega server was stopped (omega server stop, or it exited); nothing was sent. "
                    "Start it with `omega server start`, then enter again, or :quit"), False
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                if not opened[0]:
                    reply_open = client.open_session(current[0])
                    opened[0] = True
                    for warning in reply_open.get("warnings", []) if isinstance(reply_open, dict) else []:
                        _say(f"warning: {warning}")
                box["reply"] = client.execute(entry, current[0])
            except BaseException as problem:  # noqa: BLE001 - handed to the main thread to report
                box["problem"] = problem
            finally:
                done.set()

        wanted = threading.Event()
        with CommandSignals(wanted.set) as signals:
            threading.Thread(target=work, name="omega-plain-execute", daemon=True).start()
            sent = 0
            while not done.wait(POLL_S):
                if wanted.is_set() and sent < signals.interrupts + int(signals.quit_requested):
                    wanted.clear()
                    sent += 1
                    try:
                        client.interrupt(current[0])
                    except (ServerError, ServerUnavailable):
                        pass  # the reply (or the lost server) tells the rest
            if signals.quit_requested:
                raise QuitWhileRunning()
        problem = box.get("problem")
        if isinstance(problem, ServerError):
            return f"error: {for_people(problem.code, problem.message)}", False
        if isinstance(problem, ServerUnavailable):
            return f"error: {problem.message}", False
        if problem is not None:
            raise problem
        reply = box["reply"]
        current[0] = reply.session or current[0]
        return reply.output, reply.should_exit

    state = "" if opened[0] else " (new: created with its first input)"
    print(f"Omega {__version__}: session '{current[0]}'{state} on the server. "
          "Type an expression, :help for commands, :quit to leave.", flush=True)
    return _loop(handle, client.close)


def run_plain_embedded(config: Config, session: str | None) -> int:
    """The line-mode REPL evaluating in this process (``--embedded``)."""
    from omega_core.repl.processor import process
    from omega_core.repl.state import ReplState

    name = session or DEFAULT_SESSION
    holder: list[Any] = [None]
    exists = (Path(config.sessions_dir) / f"{name}.jsonl").exists()

    def interrupt() -> None:
        state = holder[0]
        if state is not None:
            state.session.evaluator.interrupt()
            if state.debugger is not None:
                state.debugger.interrupt()

    def handle(entry: str) -> tuple[str, bool]:
        if holder[0] is None:
            if _is_quit(entry):
                return "", True
            holder[0] = ReplState.open(config, name)
            for warning in holder[0].session.warnings:
                _say(f"warning: {warning}")
        with CommandSignals(interrupt) as signals:
            holder[0], output, should_exit = process(holder[0], entry)
            if signals.quit_requested:
                raise QuitWhileRunning()
        return output, should_exit

    def close() -> None:
        if holder[0] is not None:
            holder[0].close()

    state = "" if exists else " (new: created with its first input)"
    print(f"Omega {__version__}: session '{name}'{state}. Type an expression, :help for commands, :quit to leave.",
          flush=True)
    return _loop(handle, close)


def _loop(handle: Callable[[str], tuple[str, bool]], close: Callable[[], None]) -> int:
    try:
        return repl_loop(handle, history_file=default_history_file())
    except QuitWhileRunning:
        _say("omega: leaving: the running command was interrupted")
        return 130
    finally:
        close()
