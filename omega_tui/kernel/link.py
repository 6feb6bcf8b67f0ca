"""The kernel's connection to the session server: one ``OmegaClient`` and the notebook's session.

The kernel is one more front end of the server (ARCHITECTURE.md section 1): it starts the server if
none runs, takes write access to the notebook's session, and sends every cell through ``execute``,
so a notebook is a recorded session like any other (time travel, receipts, the terminal app can
follow it). Everything here blocks; the kernel calls it from worker threads, never from its event
loop. ``OmegaClient`` is safe to share between threads (requests are pipelined and matched by id),
which is what lets ``interrupt`` go out from Jupyter's control thread while a cell's ``execute``
waits in another.

A session that another client holds read-write (the same notebook open twice, a terminal app
attached to it) is waited for briefly (a restarting kernel's predecessor is still letting go), then
the notebook takes ``NAME-2``, ``NAME-3`` ... and says so in its next cell.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shlex
import threading
import time
from typing import Any, Callable

from omega_core.config import Config
from omega_core.errors import OmegaError
from omega_core.server.client import ExecuteReply, OmegaClient, ServerError
from omega_core.server.protocol import ErrorCode, Op
from omega_tui.kernel.naming import numbered_name

__all__ = ["KernelLink", "accepts_on_output", "parse_defs"]

CLIENT_NAME = "jupyter kernel"
LOCK_WAIT_S = 2.0
"""How long a held session is waited for before the notebook takes a numbered one."""
LOCK_POLL_S = 0.1
MAX_NUMBERED = 9
CLOSE_TIMEOUT_S = 1.0
"""On shutdown, a server that went away is not waited for longer than this."""


def accepts_on_output(execute: Callable[..., Any]) -> bool:
    """Whether ``OmegaClient.execute`` streams output (interfaces.md #1: the ``on_output`` keyword).

    Checked on the installed client so the kernel works before and after that keyword exists:
    without it, a cell's display output is sent once the cell's reply is in.
    """
    try:
        parameters = inspect.signature(execute).parameters
    except (TypeError, ValueError):
        return False
    return "on_output" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def parse_defs(text: str) -> list[str]:
    """The names in ``:defs`` output (``  NAME  procedure|value`` per line)."""
    names = []
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[1] in ("procedure", "value") and line.startswith("  "):
            names.append(words[0])
    return names


class KernelLink:
    """The notebook's session on the server (see the module docstring)."""

    def __init__(self, config: Config, wanted_session: str, *, config_path: str | None = None,
                 client: OmegaClient | None = None) -> None:
        self.wanted_session = wanted_session
        self.session = wanted_session
        self.client = client if client is not None else OmegaClient(
            config, name=CLIENT_NAME, config_path=config_path, on_push=self._on_push, on_reconnect=self._on_reconnect)
        self.streams_output = accepts_on_output(self.client.execute)
        self.attached = False
        self._notices: list[str] = []
        self._lock = threading.Lock()
        self._attach_lock = threading.Lock()
        self._reaped: set[int] = set()

    # --- life cycle -----------------------------------------------------------------------------

    def attach(self) -> str:
        """Connect (starting the server if none runs) and take write access to the notebook's session.

        Safe to call again after a failure (the next cell retries); raises ``OmegaError`` subclasses.
        """
        with self._attach_lock:
            if self.attached:
                return self.session
            self.client.connect()
            self._reap_started_server()
            held_by = ""
            for number in range(1, MAX_NUMBERED + 1):
                candidate = self.wanted_session if number == 1 else numbered_name(self.wanted_session, number)
                problem = self._take(candidate, LOCK_WAIT_S if number == 1 else 0.0)
                if problem is None:
                    if candidate != self.wanted_session:
                        self.notice(f"session '{self.wanted_session}' is in use ({held_by}); "
                                    f"this notebook runs in session '{candidate}'")
                    self.session = candidate
                    self.attached = True
                    return candidate
                held_by = held_by or problem
            raise ServerError(ErrorCode.LOCKED, f"sessions '{self.wanted_session}' to "
                              f"'{numbered_name(self.wanted_session, MAX_NUMBERED)}' are all held by other clients "
                              f"({held_by}); close one, or run :session load NAME with a free name")

    def _take(self, name: str, wait_s: float) -> str | None:
        """Write access to ``name`` (created if new): None when taken, else who holds it."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.client.call(Op.ACCESS, name, mode="read-write")
            except ServerError as problem:
                if problem.code in (ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL):
                    raise
                if problem.code != ErrorCode.LOCKED:
                    # e.g. a damaged session that is read-only until repaired: the notebook still
                    # attaches, so cells can run `:session repair NAME` or `:session load OTHER`.
                    self.notice(f"session '{name}': {problem.message}")
                    break
                if time.monotonic() >= deadline:
                    return problem.message
                time.sleep(LOCK_POLL_S)
                continue
            break
        self.client.open_session(name)  # re-opened by the client after a reconnect
        return None

    def close(self) -> None:
        """Give back the session's write access and disconnect (kernel shutdown and restart).

        A server that went away is not waited for (nor restarted): disconnecting releases
        everything this client held anyway.
        """
        self.client.autostart = False
        self.client.connect_timeout_s = CLOSE_TIMEOUT_S
        try:
            if self.attached and self.client.connected:
                self.client.call(Op.RELEASE, self.session)
        except OmegaError:
            pass
        finally:
            self.client.close()

    # --- running cells ----------------------------------------------------------------------------

    def execute(self, text: str, first_line: int = 1, on_output: Callable[[str], None] | None = None) -> ExecuteReply:
        """Run one entry of a cell in the notebook's session; follows ``:session load`` and the like."""
        self.attach()
        if on_output is not None and self.streams_output:
            reply = self.client.execute(text, self.session, first_line=first_line, on_output=on_output)  # type: ignore[call-arg]
        else:
            reply = self.client.execute(text, self.session, first_line=first_line)
        if reply.session and reply.session != self.session:
            self.session = reply.session
            try:
                self.client.open_session(reply.session)  # so a reconnect re-opens the new one
            except OmegaError:
                pass
        return reply

    def interrupt(self) -> bool:
        """Stop the command running in the notebook's session (from any thread); False if none could be."""
        if not self.attached:
            return False
        try:
            result = self.client.interrupt(self.session)
        except OmegaError:
            return False
        return bool(result.get("interrupted")) if isinstance(result, dict) else True

    # --- questions for completion and inspection ------------------------------------------------

    def user_names(self) -> list[str]:
        """The session's own definitions (``:defs``; a read-only command, not recorded)."""
        return parse_defs(self.execute(":defs").output)

    def describe(self, name: str) -> str:
        """``:env NAME``: ``NAME = <closure (x y)>``, or ``error: NAME is not defined``."""
        return self.execute(f":env {shlex.quote(name)}").output

    def recent_inputs(self, limit: int) -> list[str]:
        """The code of the session's last inputs, oldest first (for a definition's source)."""
        self.attach()
        events = self.client.transcript(self.session, limit=limit)
        return [str(event.get("code", "")) for event in events if isinstance(event, dict) and event.get("type") == "input"]

    def session_rows(self) -> list[dict[str, Any]]:
        return self.client.list_sessions()

    # --- notices shown in the next cell ------------------------------------------------------------

    def notice(self, text: str) -> None:
        with self._lock:
            self._notices.append(text)

    def take_notices(self) -> list[str]:
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    def _reap_started_server(self) -> None:
        """Collect the exit status of a server this kernel started, as soon as it stops.

        The supervisor started by a front end is that front end's child; a kernel lives for hours,
        and without this a stopped server would linger as a zombie that other processes (``omega
        server status``, the next front end's autostart) take for a running server.
        """
        pid = self.client.started_pid
        if pid is None or pid in self._reaped:
            return
        self._reaped.add(pid)

        def reap() -> None:
            with contextlib.suppress(OSError):  # ChildProcessError: someone else collected it
                os.waitpid(pid, 0)

        threading.Thread(target=reap, name=f"omega-reap-{pid}", daemon=True).start()

    def _on_reconnect(self) -> None:
        self._reap_started_server()
        problems = "; ".join(self.client.restore_errors)
        self.notice("the connection to the Omega server broke; reconnected" + (f" ({problems})" if problems else ""))

    def _on_push(self, message: dict[str, Any]) -> None:
        if message.get("push") == "access_lost":
            self.notice(str(message.get("message") or f"write access to '{message.get('session')}' was taken"))
