"""``OmegaKernel``: Jupyter's wrapper-kernel base class (``ipykernel.kernelbase.Kernel``) speaking to
the Omega session server.

Each cell is cut into entries (runs of code, ``:command`` lines; ``syntax.cell_entries``) and each
entry is one ``execute`` in the notebook's session (``link.KernelLink``). While an entry runs, its
``display`` output reaches the notebook as stdout ``stream`` messages, chunk by chunk when the
client streams (interfaces.md #1), else when the entry's reply is in. The value of the last entry
becomes the cell's ``execute_result``; failures become one ``error`` (``cells``).

Threads: the kernel's event loop never blocks on the server. A cell runs in a worker thread
(``run_in_executor``), which also sends the cell's iopub messages with the request captured up
front (ipykernel keeps the current request in a context variable the worker cannot see).
Interrupts arrive on Jupyter's control thread (``interrupt_mode`` "message") or as SIGINT, and go
to the server's ``interrupt`` op on the same thread-safe client; the running ``execute`` then
returns with an ``interrupted`` error and the kernel goes on.

A Python traceback never reaches a cell: every failure is turned into a clear ``error`` reply, and
an unexpected one is logged in the kernel's log with its traceback.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import os
import signal
import threading
from dataclasses import replace
from datetime import date
from typing import Any, Callable

from ipykernel.kernelbase import Kernel

from omega_core import __version__
from omega_core.errors import OmegaError
from omega_core.server.client import ServerError, ServerUnavailable
from omega_tui.kernel import assist
from omega_tui.kernel.cells import CellError, CellOutcome, outcome_of_failure, outcome_of_reply
from omega_tui.kernel.link import KernelLink
from omega_tui.kernel.naming import notebook_session_name
from omega_tui.kernel.syntax import cell_entries, completeness, symbol_around

__all__ = ["OmegaKernel", "LANGUAGE_INFO"]

LANGUAGE_INFO: dict[str, Any] = {
    "name": "omega",
    "version": __version__,
    "mimetype": "text/x-omega",
    "file_extension": ".omega",
    "codemirror_mode": "scheme",
    "pygments_lexer": "scheme",
}
MAX_TABLE_ROWS = 500
"""Rows of the ``:session list`` table; a browser slows down on thousands (the text has them all)."""
SOURCE_SEARCH_INPUTS = 500
"""How many recent inputs inspection searches for a definition's source."""


class OmegaKernel(Kernel):
    """A notebook's cells run as inputs of one recorded Omega session (see the module docstring)."""

    implementation = "omega"
    implementation_version = __version__
    language = "omega"
    language_version = __version__
    language_info = LANGUAGE_INFO
    banner = (f"Omega Lisp {__version__}: every cell runs in a recorded session on the Omega server.\n"
              "Type :help for the REPL commands (:session list, :session timeline, :session goto SEQ ...).")

    @property
    def kernel_info(self) -> dict[str, Any]:
        """ipykernel's, minus the Python debugger: it cannot step Omega code (``:debug`` does), and
        asking whether it is installed imports debugpy, which costs start-up time and prints
        warnings into ``jupyter console``."""
        from ipykernel._version import kernel_protocol_version

        features = ["kernel subshells"] if getattr(self, "_supports_kernel_subshells", False) else []
        return {"protocol_version": kernel_protocol_version, "implementation": self.implementation,
                "implementation_version": self.implementation_version, "language_info": self.language_info,
                "banner": self.banner, "help_links": self.help_links, "supported_features": features}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._link: KernelLink | None = None
        self._setup_problem: str | None = None
        self._user_names: list[str] | None = None
        try:
            from omega_core.config import load_config

            config = load_config()
            wanted = notebook_session_name(os.environ.get("JPY_SESSION_NAME"), date.today())
            self._link = KernelLink(config, wanted, config_path=os.environ.get("OMEGA_CONFIG") or None)
        except OmegaError as problem:  # a bad config file, a runtime dir that cannot be used
            self._setup_problem = problem.message
        except Exception as problem:  # noqa: BLE001 - the kernel must start to say what is wrong
            self.log.exception("the Omega kernel could not set up its server connection")
            self._setup_problem = f"internal error: {type(problem).__name__}: {problem}"
        if self._link is not None:
            # Connecting (and starting a server) overlaps with Jupyter's start-up; the first cell waits.
            threading.Thread(target=self._attach_quietly, name="omega-attach", daemon=True).start()
            atexit.register(self._link.close)

    def _attach_quietly(self) -> None:
        if self._link is None:
            return
        try:
            self._link.attach()
        except OmegaError:
            pass  # the first cell attaches again and shows why it failed
        except Exception:  # noqa: BLE001 - logged; the first cell reports it
            self.log.exception("connecting to the Omega server failed")

    # --- execute ----------------------------------------------------------------------------------

    async def do_execute(self, code: str, silent: bool, store_history: bool = True,
                         user_expressions: dict[str, Any] | None = None, allow_stdin: bool = False) -> dict[str, Any]:
        parent = self.get_parent("shell")
        self._user_names = None  # the cell may define new names
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._run_cell, code, silent, parent)

    def _run_cell(self, code: str, silent: bool, parent: dict[str, Any]) -> dict[str, Any]:
        """(Worker thread.) Run every entry of the cell, sending its outputs as they come."""

        def send(kind: str, content: dict[str, Any]) -> None:
            if not silent:
                self._publish(kind, content, parent)

        def stream(name: str, text: str) -> None:
            if text:
                send("stream", {"name": name, "text": text})

        errors: list[CellError] = []
        wants_exit = False
        last: CellOutcome | None = None
        last_is_session_list = False
        entries = cell_entries(code)
        for position, entry in enumerate(entries):
            self._show_notices(stream)
            outcome = self._run_entry(entry.text, entry.line, entry.is_command, lambda chunk: stream("stdout", chunk))
            self._show_notices(stream)
            wants_exit = wants_exit or outcome.should_exit
            stream("stdout", outcome.stdout)
            if outcome.error is not None:
                errors.append(outcome.error)
            if position < len(entries) - 1:
                if entry.is_command and outcome.result:  # a command's text is what it did: shown in place
                    stream("stdout", outcome.result + "\n")
            else:
                last = outcome
                last_is_session_list = entry.is_command and " ".join(entry.text.split()) == ":session list"
        if last is not None and last.result is not None and last.error is None:
            data = {"text/plain": last.result}
            if last_is_session_list:
                table = self._session_table()
                if table:
                    data["text/html"] = table
            send("execute_result", {"execution_count": self.execution_count, "data": data, "metadata": {}})
        if errors:
            error = _combined(errors)
            send("error", error.content())
            return {"status": "error", "execution_count": self.execution_count, **error.content()}
        # :quit asks the front end to leave (jupyter console does; a notebook ignores it)
        payload = [{"source": "ask_exit", "keepkernel": False}] if wants_exit else []
        return {"status": "ok", "execution_count": self.execution_count, "payload": payload, "user_expressions": {}}

    def _publish(self, kind: str, content: dict[str, Any], parent: dict[str, Any]) -> None:
        """One iopub message for request ``parent`` (thread-safe: ipykernel's iopub socket queues it)."""
        if self.session is not None:
            self.session.send(self.iopub_socket, kind, content, parent, ident=self._topic(kind))

    def _run_entry(self, text: str, line: int, is_command: bool, on_output: Callable[[str], None]) -> CellOutcome:
        """One ``execute``; every failure becomes an outcome with a clear error, never an exception."""
        link = self._link
        if link is None:
            return outcome_of_failure(None, f"the Omega kernel could not start: {self._setup_problem}", "", "ConfigError")
        streamed: list[str] = []

        def forward(chunk: str) -> None:
            streamed.append(chunk)
            on_output(chunk)

        try:
            reply = link.execute(text, first_line=line, on_output=forward)
        except ServerUnavailable as problem:
            return outcome_of_failure(None, f"{problem.message} (the next cell tries to reconnect)", link.session,
                                      "ServerUnavailable")
        except ServerError as problem:
            return outcome_of_failure(str(problem.code), problem.message, link.session, "ServerError")
        except OmegaError as problem:
            return outcome_of_failure(getattr(problem, "code", None), problem.message, link.session)
        except Exception as problem:  # noqa: BLE001 - a bug: logged with its traceback, reported in one line
            self.log.exception("the Omega kernel failed on a cell")
            return outcome_of_failure("internal", f"internal error in the Omega kernel: {type(problem).__name__}: "
                                      f"{problem} (the kernel's log has the details)", link.session)
        outcome = outcome_of_reply(text, reply.output, reply.results, reply.session, is_command, "".join(streamed))
        return replace(outcome, should_exit=reply.should_exit) if reply.should_exit else outcome

    def _show_notices(self, stream: Callable[[str, str], None]) -> None:
        if self._link is not None:
            for notice in self._link.take_notices():
                stream("stderr", f"[omega] {notice}\n")

    def _session_table(self) -> str | None:
        """``:session list`` as an HTML table (structured rows from the server, never parsed text)."""
        if self._link is None:
            return None
        try:
            rows = self._link.session_rows()
        except OmegaError:
            return None
        current = self._link.session
        head = "<tr><th>session</th><th>events</th><th>checkpoints</th><th>last access</th><th>state</th></tr>"
        body = []
        for row in rows[:MAX_TABLE_ROWS]:
            name = str(row.get("name", ""))
            shown = f"<b>{html.escape(name)}</b>" if name == current else html.escape(name)
            state = "; ".join(f"{key}: {row[key]}" for key in ("degraded", "damaged") if row.get(key))
            body.append(f"<tr><td>{shown}</td><td>{html.escape(str(row.get('events', '')))}</td>"
                        f"<td>{html.escape(str(row.get('checkpoints', '')))}</td>"
                        f"<td>{html.escape(_when(row.get('last_access')))}</td><td>{html.escape(state)}</td></tr>")
        if len(rows) > MAX_TABLE_ROWS:
            body.append(f"<tr><td colspan=\"5\">... and {len(rows) - MAX_TABLE_ROWS} more (the text form lists them all)"
                        "</td></tr>")
        return f"<table>{head}{''.join(body)}</table>"

    # --- interrupt, shutdown --------------------------------------------------------------------

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:  # type: ignore[override]
        """Jupyter's interrupt (``interrupt_mode`` "message"): the server stops the running command."""
        if self._link is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._link.interrupt)
        if self.session is not None:
            self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def pre_handler_hook(self) -> None:
        """While a request is handled, SIGINT interrupts the running cell (instead of raising
        ``KeyboardInterrupt`` in the kernel's event loop, as ipykernel's default does)."""
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._link is not None:
            threading.Thread(target=self._link.interrupt, name="omega-interrupt", daemon=True).start()

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        """Shutdown and restart give back the session's write access (a restart then reattaches)."""
        if self._link is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._link.close)
        return {"status": "ok", "restart": restart}

    # --- completion, inspection, completeness -----------------------------------------------------

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        found = await asyncio.get_running_loop().run_in_executor(None, self._complete, code, cursor_pos)
        return {"status": "ok", "matches": list(found.matches), "cursor_start": found.start,
                "cursor_end": found.end, "metadata": {}}

    def _complete(self, code: str, cursor_pos: int) -> assist.Completion:
        if self._user_names is None:
            try:
                self._user_names = self._link.user_names() if self._link is not None else []
            except OmegaError:
                self._user_names = []  # builtins still complete without the server
        return assist.complete(code, cursor_pos, self._user_names)

    async def do_inspect(self, code: str, cursor_pos: int, detail_level: int = 0,
                         omit_sections: Any = ()) -> dict[str, Any]:
        text = await asyncio.get_running_loop().run_in_executor(None, self._inspect, code, cursor_pos)
        if text is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}

    def _inspect(self, code: str, cursor_pos: int) -> str | None:
        name = symbol_around(code, cursor_pos)
        if name is None:
            return None
        if name in assist.SPECIAL_FORM_SYNTAX or self._link is None:
            return assist.describe_name(name, None, None)
        try:
            described = self._link.describe(name)
            source = None
            if described.startswith(f"{name} = ") and "<prim>" not in described:
                source = assist.definition_source(name, self._link.recent_inputs(SOURCE_SEARCH_INPUTS))
        except OmegaError:
            return None
        return assist.describe_name(name, described, source)

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        status, indent = completeness(code)
        reply: dict[str, Any] = {"status": str(status)}
        if status == "incomplete":
            reply["indent"] = indent
        return reply


def _when(stamp: Any) -> str:
    """A listing's ``last_access`` (seconds since the epoch) as local time."""
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and stamp > 0:
        from datetime import datetime

        return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")
    return "" if stamp is None else str(stamp)


def _combined(errors: list[CellError]) -> CellError:
    """One error for the cell: the first names it, the traceback lists them all."""
    if len(errors) == 1:
        return errors[0]
    traceback: list[str] = [f"{len(errors)} entries of this cell failed:"]
    for error in errors:
        traceback.extend(error.traceback)
    return CellError(errors[0].ename, errors[0].evalue, tuple(traceback))
