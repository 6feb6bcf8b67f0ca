"""``:session goto SEQ`` typed at the REPL, run like the ``goto`` op: the replay off the loop.

Why: the REPL's command replays the log on whichever thread runs it; typed through a server that
was the event loop, which then served nobody for as long as the replay took. Here the long half
(``RecordedSession.prepare_goto``: restore and replay, without changing the session) runs in a
worker thread while the caller holds the session's lock, and the short half (install and record
the jump) on the loop, exactly as ``ops.op_goto`` does. Output and errors read as the REPL's.
"""

from __future__ import annotations

from typing import Any

from omega_core.errors import OmegaError
from omega_core.server.worker_threads import run_in_worker

COMMAND = ":session goto"
USAGE = "usage: :session goto SEQ"


async def typed_goto(session: Any, line: str) -> str:
    """The REPL output of ``line`` (a ``:session goto`` command) run on ``session``."""
    from omega_core.repl.processor import find_command, split_arguments
    from omega_core.repl.session_commands import parse_seq

    _, args = find_command(split_arguments(line.strip()))
    if len(args) != 1:
        return USAGE
    try:
        seq = parse_seq(args[0])
        prepared = await run_in_worker(session.prepare_goto, seq)
        return str(session.finish_goto(prepared))
    except OmegaError as problem:
        return f"error: {problem.message}"
