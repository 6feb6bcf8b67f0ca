"""``omega --batch FILE``: the batch front end running through the session server (the default).

Same entries and the same output as the in-process batch (``omega_tui.batch``): each entry goes to
the server as one ``execute`` carrying the line where it starts, so errors and ``--json`` name lines
of the file. Without ``--session`` the file runs in a throwaway session (``batch-<pid>-<ms>``) that is
deleted at the end, as the in-process batch leaves nothing behind; with ``--session NAME`` the
session is opened (and so created) only when the first entry runs.

The loop (``run_entries``) runs on either client: ``ThinClient``, which a plain ``omega --batch``
uses (``thin_batch``), or ``OmegaClient`` (``run_batch_via_server``: when no server ran yet, or for
callers that bring their own). So this module imports neither at the top, nor the protocol's enums,
nor anything of the language: a one-line run against a warm server costs little more than starting
Python (``bench/cli.py``).
"""

from __future__ import annotations

import json
import os
import sys
import time

from omega_core.error_words import for_people
from omega_core.server.client_records import ServerError, ServerUnavailable
from omega_tui.entries import command_json, iter_entries
from omega_tui.usage import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the thin client's start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, TextIO

    from omega_core.config import Config
    from omega_core.server.client import OmegaClient
    from omega_core.server.client_records import ExecuteReply
    from omega_core.server.thin_client import ThinClient
    from omega_tui.entries import Entry

    BatchClient = OmegaClient | ThinClient

RESULT_KEYS = ("input", "line", "value", "output", "error", "error_code", "steps", "ms")
INVALID_NAME = "invalid_name"
UNAVAILABLE = "unavailable"
"""``ErrorCode`` values compared here as text (``ErrorCode`` is a ``StrEnum``; the protocol module is
not imported on the thin path)."""


def throwaway_session_name() -> str:
    return f"batch-{os.getpid()}-{int(time.time() * 1000)}"


def warn_about_config_drift(client: BatchClient, config: Config, config_path: str | None, err: TextIO) -> None:
    """Warn on ``err`` when the running server's settings differ from ``config`` (see config_report)."""
    try:
        status = client.status()
    except ServerError:
        return  # a server whose backend is down says so on the next request
    print_config_drift(config, config_path, status, err)


def print_config_drift(config: Config, config_path: str | None, status: dict[str, Any], err: TextIO) -> None:
    """The warning of ``config_report.config_drift`` for the server's ``status``, if there is one."""
    from omega_core.server.config_report import config_drift

    warning = config_drift(config, config_path, status)
    if warning:
        err.write(warning + "\n")
        err.flush()


def _code_results(entry: Entry, reply: ExecuteReply) -> list[dict[str, Any]]:
    """The reply's form results, in the in-process batch's key order; lines are the file's already
    (the entry went with ``first_line``)."""
    results = []
    for result in reply.results:
        row = {key: result.get(key) for key in RESULT_KEYS}
        row.update(result)
        if not isinstance(row.get("line"), int) or isinstance(row.get("line"), bool) or row["line"] < 1:
            row["line"] = entry.line
        results.append(row)
    if not results and reply.output.startswith("error: "):  # the entry failed as a whole
        results.append({"input": entry.text, "line": entry.line, "value": None, "output": "",
                        "error": reply.output[len("error: "):], "error_code": None, "steps": 0, "ms": 0.0})
    return results


def _failure_json(entry: Entry, problem: ServerError) -> str:
    if entry.is_command:
        return json.dumps({"command": entry.text, "line": entry.line, "output": f"error: {problem.message}",
                           "error": problem.message, "error_code": str(problem.code)}, ensure_ascii=False)
    return json.dumps({"input": entry.text, "line": entry.line, "value": None, "output": "", "error": problem.message,
                       "error_code": str(problem.code), "steps": 0, "ms": 0.0}, ensure_ascii=False)


def run_batch_via_server(
    text: str,
    config: Config,
    session: str | None,
    out: TextIO,
    as_json: bool,
    client: OmegaClient | None = None,
    config_path: str | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``text`` entry by entry on the server; 0 when every form and command succeeded, else 1.

    ``session`` None runs in a throwaway session deleted at the end. A request the server refuses
    (``locked``, ``too_large`` ...) is reported like a failed form and the run goes on; losing the
    server for good raises ``ServerUnavailable``. Once connected, the client never starts a server
    by itself again: a server stopped in the middle of the run (``omega server stop``) stays stopped.
    """
    err = err if err is not None else sys.stderr
    entries = iter_entries(text)
    first = next(entries, None)
    if first is None:
        return 0  # nothing to run: no server needed, no session created
    own_client = client is None
    if client is None:
        from omega_core.server.client import OmegaClient

        client = OmegaClient(config, name="omega --batch", config_path=config_path)
    batch_client = client
    return run_entries(batch_client, first, entries, session, out, as_json, err,
                       check_config=lambda: warn_about_config_drift(batch_client, config, config_path, err),
                       close_client=own_client)


def run_entries(client: BatchClient, first: Entry, entries: Iterator[Entry], session: str | None, out: TextIO,
                as_json: bool, err: TextIO, check_config: Callable[[], None], close_client: bool = True) -> int:
    """The loop of ``run_batch_via_server`` on any batch client (``OmegaClient`` or the thin
    ``ThinClient``): ``first`` and then ``entries`` in order; ``check_config`` runs once connected
    (it warns when the server's settings differ from this front end's)."""
    throwaway = throwaway_session_name() if session is None else None
    current = throwaway or session
    assert current is not None
    failed = False
    opened = False
    try:
        client.connect()
        client.autostart = False  # an explicit stop during the run must not start a new server
        check_config()
        entry: Entry | None = first
        while entry is not None:
            if not opened:
                _open(client, current, err)
                opened = True
            entry_failed, reply = _run_entry(client, entry, current, out, as_json)
            failed = failed or entry_failed
            if reply is not None and reply.session and reply.session != current:
                current = reply.session  # a :session command moved the REPL, as it does in-process
            if reply is not None and reply.should_exit:
                break
            entry = next(entries, None)
    except KeyboardInterrupt:  # ctrl+c: stop the form running in the server too, then leave (130)
        if opened:
            try:
                client.interrupt(current)
                err.write("omega: interrupted; the running form was stopped in the server\n")
            except (ServerError, ServerUnavailable):
                pass
        raise
    finally:
        try:
            if throwaway is not None and opened:
                try:
                    client.delete_session(throwaway)
                except (ServerError, ServerUnavailable):
                    pass  # already gone, or the server with it: nothing more to clean
        finally:
            if close_client:
                client.close()
    return 1 if failed else 0


def _open(client: BatchClient, session: str, err: TextIO) -> None:
    """Open (creating if new) ``session``; a bad name is a usage error, warnings go to ``err``."""
    try:
        opened = client.open_session(session)
    except ServerError as problem:
        if problem.code == INVALID_NAME:
            raise UsageError(problem.message, "omega --batch --session work program.omega") from None
        raise
    for warning in opened.get("warnings", []) if isinstance(opened, dict) else []:
        err.write(f"warning: {warning}\n")


def _run_entry(client: BatchClient, entry: Entry, session: str, out: TextIO,
               as_json: bool) -> tuple[bool, ExecuteReply | None]:
    """Run one entry and print what it gave; whether it failed, and the reply (None if refused)."""
    try:
        reply = client.execute(entry.text, session, first_line=entry.line)
    except ServerError as problem:
        if problem.code == UNAVAILABLE:
            raise
        out.write((_failure_json(entry, problem) if as_json else f"error: {for_people(problem.code, problem.message)}") + "\n")
        out.flush()
        return True, None
    if entry.is_command:
        failed = reply.output.startswith(("error: ", "usage: "))
        if as_json:
            out.write(command_json(entry, reply.output) + "\n")
        elif reply.output:
            out.write(reply.output + "\n")
    else:
        failed = not reply.ok
        if as_json:
            for row in _code_results(entry, reply):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif reply.output:
            out.write(reply.output + "\n")
    out.flush()
    return failed, reply
