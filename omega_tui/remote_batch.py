"""``omega --batch FILE --server``: the batch front end running through the session server.

Same entries and the same output as the in-process batch (``omega_tui.batch``): each entry goes to
the server as one ``execute``. Without ``--session`` the file runs in a throwaway session
(``batch-<pid>-<ms>``) that is deleted at the end, as the in-process batch leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, TextIO

from omega_core.config import Config
from omega_core.server.client import ExecuteReply, OmegaClient, ServerError, ServerUnavailable
from omega_core.server.protocol import ErrorCode
from omega_tui.batch import Entry, command_json, iter_entries


RESULT_KEYS = ("input", "line", "value", "output", "error", "error_code", "steps", "ms")


def throwaway_session_name() -> str:
    return f"batch-{os.getpid()}-{int(time.time() * 1000)}"


def _code_results(entry: Entry, reply: ExecuteReply) -> list[dict[str, Any]]:
    """The reply's form results with line numbers of the file (the server counts from the entry)."""
    results = []
    for result in reply.results:
        row = {key: result.get(key) for key in RESULT_KEYS}  # the in-process batch's order
        row.update(result)
        line = row.get("line")
        if isinstance(line, int) and not isinstance(line, bool) and line >= 1:
            row["line"] = entry.line + line - 1
        results.append(row)
    if not results and reply.output.startswith("error: "):  # the entry failed as a whole
        results.append({"input": entry.text, "line": entry.line, "value": None, "output": "",
                        "error": reply.output[len("error: "):], "error_code": None, "steps": 0, "ms": 0.0})
    return results


def _failure_json(entry: Entry, problem: ServerError) -> str:
    if entry.is_command:
        return json.dumps({"command": entry.text, "line": entry.line, "output": f"error: {problem.message}",
                           "error": problem.message}, ensure_ascii=False)
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
) -> int:
    """Run ``text`` entry by entry on the server; 0 when every form and command succeeded, else 1.

    ``session`` None runs in a throwaway session deleted at the end. A request the server refuses
    (``locked``, ``too_large`` ...) is reported like a failed form and the run goes on; losing the
    server for good raises ``ServerUnavailable``.
    """
    own_client = client is None
    if client is None:
        client = OmegaClient(config, name="omega --batch", config_path=config_path)
    throwaway = throwaway_session_name() if session is None else None
    current = throwaway or session
    assert current is not None
    failed = False
    opened = False
    try:
        client.connect()
        client.open_session(current)
        opened = True
        for entry in iter_entries(text):
            try:
                reply = client.execute(entry.text, current, first_line=entry.line)
            except ServerError as problem:
                if problem.code == ErrorCode.UNAVAILABLE:
                    raise
                failed = True
                out.write((_failure_json(entry, problem) if as_json else f"error: {problem.message}") + "\n")
                out.flush()
                continue
            if entry.is_command:
                failed = failed or reply.output.startswith(("error: ", "usage: "))
                if as_json:
                    out.write(command_json(entry, reply.output) + "\n")
                elif reply.output:
                    out.write(reply.output + "\n")
            else:
                failed = failed or not reply.ok
                if as_json:
                    for row in _code_results(entry, reply):
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                elif reply.output:
                    out.write(reply.output + "\n")
            out.flush()
            if reply.session and reply.session != current:
                current = reply.session  # a :session command moved the REPL, as it does in-process
            if reply.should_exit:
                break
    finally:
        try:
            if throwaway is not None and opened:
                try:
                    client.delete_session(throwaway)
                except (ServerError, ServerUnavailable):
                    pass  # already gone, or the server with it: nothing more to clean
        finally:
            if own_client:
                client.close()
    return 1 if failed else 0
