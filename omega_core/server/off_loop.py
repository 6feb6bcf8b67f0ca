"""REPL commands whose long work runs in a worker thread: save, fork, load, repair, restore.

Why: run by the processor on the event loop, ``:session fork`` of a 60k-event session copied its
log and states and rebuilt the copy's index in one go (0.7 s), then replayed the copy to open it;
``:session load`` replayed a big session the same way. Every other client waited that long.

Here the whole command runs in a worker thread, with the output and errors of the processor
itself (one place says what a fork prints). What makes that safe:
  * the caller holds the session's command lock and its lease (``busy``): no other command runs
    on it, and the flush loop and the pool's eviction leave it alone until the command is done;
  * none of these commands appends to the session's log (appending calls the session's listeners,
    which push to connections: loop-only work); the copies they write are new files;
  * other sessions (the fork's copy, the session loaded) come through ``provide_from_thread``:
    the backend's own loader runs on the loop (one loader per name, its replay in another worker
    thread), so the pool is only ever touched by the loop.

A snapshot restored in place is a jump, which appends to the log: it runs as ``goto`` does
(``restore_in_place``): the replay in a worker thread, the jump installed and recorded on the loop.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

import anyio.from_thread

from omega_core.server.worker_threads import run_in_worker

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.repl.processor import Result
    from omega_core.repl.state import ReplState
    from omega_core.server.context import OpsContext
    from omega_core.session.recorded import RecordedSession

COMMANDS = frozenset({":session save", ":session fork", ":session load", ":session repair"})
"""Commands run in a worker thread whatever their arguments."""
RESTORE = ":session restore"
"""Run in a worker thread only as ``--as NEW`` (a copy); in place it jumps, which appends to the log."""
METRICS = ":session metrics"
"""Run in a worker thread when it names a session (which may have to be loaded: a replay)."""


def runs_off_loop(command_name: str | None, words: list[str]) -> bool:
    """Whether the command ``command_name`` typed as ``words`` runs in a worker thread."""
    return (command_name in COMMANDS or (command_name == RESTORE and "--as" in words)
            or (command_name == METRICS and len(words) > 2))


def provide_from_thread(backend: "OpsContext") -> Callable[[str], "RecordedSession"]:
    """A ``ReplState.provider`` for a worker thread: the session ``name`` as the backend loads it,
    the loading done on the loop (the thread waits for it)."""

    def provide(name: str) -> "RecordedSession":
        return anyio.from_thread.run(backend.instance, name).session

    return provide


def restores_in_place(command_name: str | None, words: list[str]) -> str | None:
    """The snapshot id of ``:session restore ID`` typed without options (else None: the processor
    answers usage errors, and ``--as`` runs in ``run_off_loop``)."""
    if command_name == RESTORE and len(words) == 3 and not words[2].startswith("--"):
        return words[2]
    return None


async def restore_in_place(repl: "ReplState", snapshot_id: str) -> str:
    """``timeline_commands.restore_snapshot`` in place, its replay in a worker thread. The caller
    holds the session's lock and lease. Same steps, report and errors as the REPL's."""
    from omega_core.repl.processor import CommandError
    from omega_core.repl.timeline_commands import take_snapshot

    session = repl.session
    snap = session.timeline.snapshot(snapshot_id)
    if not 0 <= snap["seq"] < session.next_seq:
        raise CommandError(f"snapshot {snap['id']} points at seq {snap['seq']}, which this session does not have")
    undo = take_snapshot(repl, f"before restoring {snap['id']}", ["auto"], auto=True)
    prepared = await run_in_worker(session.prepare_goto, snap["seq"])
    report = session.finish_goto(prepared)
    return (f"{report}\nRestored {snap['id']} (what it replaced is snapshot {undo['id']}: "
            f":session restore {undo['id']} undoes this)")


async def typed_restore_in_place(repl: "ReplState", snapshot_id: str) -> str:
    """The REPL output of ``:session restore ID`` (in place)."""
    from omega_core.errors import OmegaError

    try:
        return await restore_in_place(repl, snapshot_id)
    except OmegaError as problem:
        return f"error: {problem.message}"


async def run_off_loop(backend: "OpsContext", repl: "ReplState", line: str) -> "Result":
    """``process(repl, line)`` in a worker thread, other sessions provided by the loop."""
    from omega_core.repl.processor import process

    view: Any = dataclasses.replace(repl, provider=provide_from_thread(backend))
    return await run_in_worker(process, view, line)
