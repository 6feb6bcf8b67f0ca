"""What every client of the session server shares, light to import: its two errors and the reply
of ``execute``.

Why a module of its own: ``omega --batch`` through a running server must start in little more
than Python's own start-up (issue 13; ``bench/cli.py``), and these are all the thin batch client
(``thin_client``) and the full ``OmegaClient`` have in common. So nothing here imports
``dataclasses``, ``typing`` or the protocol's enums: an error code is kept as its text (the
protocol's ``ErrorCode`` is a ``StrEnum``, so ``problem.code == ErrorCode.LOCKED`` holds either
way), and ``ExecuteReply`` is a named tuple rather than a frozen dataclass (same fields, equally
immutable, a fraction of the import cost).
"""

from __future__ import annotations

import json
from collections import namedtuple

from omega_core.errors import OmegaError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any


class ServerUnavailable(OmegaError):
    """No server could be reached (or it refused us); the message says where and what to do."""

    code = "unavailable"


class ServerError(OmegaError):
    """The server answered a request with an error; ``code`` is the text of an ``ErrorCode`` (a code
    unknown to this client, from a newer server, is kept as it came)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = str(code)

    def __str__(self) -> str:
        return self.message


class ExecuteReply(namedtuple("ExecuteReply", "output results should_exit session ok")):
    """What one ``execute`` did: the REPL's text (``output``), one dict per evaluated form
    (``results``), whether the REPL asked to leave (``should_exit``), the session it ran in (a
    ``:session`` command may have moved it) and whether every form and command succeeded (``ok``)."""

    __slots__ = ()

    output: str
    results: list[dict[str, Any]]
    should_exit: bool
    session: str
    ok: bool


def execute_args(line: str, first_line: int) -> dict[str, Any]:
    """The ``args`` of an ``execute`` request; ``first_line`` only when it is not the default."""
    args: dict[str, Any] = {"line": line}
    if first_line != 1:
        args["first_line"] = first_line
    return args


def execute_reply(result: Any, session: str | None) -> ExecuteReply:
    """The ``ExecuteReply`` of an ``execute`` result; ``ServerError`` (internal) if it is malformed.

    ``ok``: the server's own verdict when it gives one, else every form without an error, else
    (a command) an output that does not start with ``error:`` or ``usage:``."""
    if not isinstance(result, dict):
        raise ServerError("internal", f"malformed execute result: {result!r}")
    output = str(result.get("output") or "")
    results = [r for r in (result.get("results") or []) if isinstance(r, dict)]
    if isinstance(result.get("ok"), bool):
        ok = result["ok"]
    elif results:
        ok = all(r.get("error") is None for r in results)
    else:
        ok = not output.startswith(("error: ", "usage: "))
    return ExecuteReply(output, results, bool(result.get("exit")), str(result.get("session") or session or ""), ok)


def result_of(reply: dict[str, Any], op: str) -> Any:
    """A reply's ``result``, or its error raised as ``ServerError``."""
    if reply.get("ok") is True:
        return reply.get("result")
    error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
    raise ServerError(str(error.get("code", "internal")), str(error.get("message", f"{op} failed")))


def loads_message(data: bytes) -> dict[str, Any] | None:
    """A frame's JSON object, or None if it is not one (not ours to crash on)."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return message if isinstance(message, dict) else None
