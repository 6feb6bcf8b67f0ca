"""Checks made when a session is opened, on what opening reads anyway (nothing more is read).

Seqs that do not count up by one (lines lost or duplicated mid-log) are found by the reader
(``SessionLogReader.iter_events``) on the lines it reads. Here: a log shorter than its index
claims (cut by a disk problem, a bad copy, or a hand edit). Opening such a session must not
"recover" it into an empty or shorter one and then overwrite the index that still says what was
there: opening fails with ``CorruptLog`` naming the file and the byte offset; a server then opens it
read-only (``damaged.open_damaged``, changes raise ``SessionDamaged``) and its files stay
untouched until the user runs ``:session repair NAME`` (which keeps a backup).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omega_core.errors import OmegaError
from omega_core.session.errors import BadOffset, CorruptLog
from omega_core.session.log_reader import SessionLogReader


class SessionDamaged(OmegaError):
    """A change asked of a session opened read-only because its log is damaged."""

    code = "read_only"


def damaged_signature(*paths: Path) -> tuple[int, ...]:
    """Size and mtime of the files: a damaged session whose files changed (restored from a backup,
    repaired) is opened again instead of being served from memory."""
    signature: list[int] = []
    for path in paths:
        try:
            info = path.stat()
            signature += [info.st_size, info.st_mtime_ns]
        except OSError:
            signature += [-1, -1]
    return tuple(signature)


def check_log_covers_index(log: Path, name: str, index: dict[str, Any] | None, log_next_seq: int,
                           log_size: int) -> None:
    """CorruptLog if ``index`` claims more events than the log holds (``log_next_seq``)."""
    if not index:
        return
    claimed = index.get("eventCount")
    if not isinstance(claimed, int) or isinstance(claimed, bool) or claimed <= log_next_seq:
        return
    ends = f"its last event is seq {log_next_seq - 1}" if log_next_seq else "it holds no event"
    raise CorruptLog(
        f"session log {log} is damaged: it is shorter than its index claims ({claimed} events in the index; "
        f"{ends}, at the end of the file, byte {log_size}); the index was left as it is. Restore the log "
        f"from a backup, or run :session repair {name} to keep a backup and rebuild the index from the log",
        log, None, log_size,
    )


def check_since_last_checkpoint(log: Path, name: str, checkpoints: list[dict[str, Any]], next_seq: int) -> None:
    """CorruptLog unless the log's line at the last checkpoint's ``byteOffset`` is that checkpoint
    and the seqs from there count up by one to ``next_seq - 1``. That stretch is what the replay
    on open reads anyway; lines lost or duplicated anywhere before it shift the offset, so they
    are caught here too."""
    if not checkpoints:
        return
    last = checkpoints[-1]
    offset, seq = last.get("byteOffset"), last.get("seq")
    if not isinstance(offset, int) or not isinstance(seq, int):
        return
    fix = (f"run :session repair {name} to keep a backup, cut the log after its last consistent event and "
           "rebuild the index, or restore the files from a backup")
    with SessionLogReader(log) as reader:
        try:
            found = reader.read_event_at(offset)
        except BadOffset:
            found = None
        if found is None or found.get("seq") != seq or found.get("type") != "checkpoint":
            raise CorruptLog(
                f"session log {log} is damaged: the index's last checkpoint (seq {seq}) is not at byte {offset} "
                f"of the log (found {_describe(found)}): lines before it were lost or duplicated; {fix}",
                log, None, offset)
        last_seq = seq
        for _, event in reader.iter_events(offset):  # raises on a gap or duplicate, with the offset
            if isinstance(event.get("seq"), int):
                last_seq = event["seq"]
        if last_seq != next_seq - 1:
            raise CorruptLog(
                f"session log {log} is damaged: its last event is seq {last_seq} but the log's end says "
                f"{next_seq - 1}; {fix}", log, None, reader.size())


def _describe(event: dict[str, Any] | None) -> str:
    if event is None:
        return "no line starting there"
    return f"a {event.get('type')} event with seq {event.get('seq')}"
