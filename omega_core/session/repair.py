"""``:session repair NAME``: make a damaged session usable again without losing what can be kept.

A session whose log failed validation on open (invalid JSON mid-file, a seq gap or duplicate, a
log shorter than its index claims) is refused until the user repairs it, because any automatic
"recovery" would silently drop events. Repair, in order:
  1. takes the log's flock (refused while a server or OmegaLLM process has it open),
  2. copies the log and the index to ``<name>.jsonl.damaged-<time>.bak`` and
     ``<name>.index.json.damaged-<time>.bak`` (not session files: listings ignore them),
  3. cuts the log after its last consistent event (valid JSON, seqs counting from 0 by one),
  4. rebuilds the index from the log (keeping the receipts and the stored states of the
     checkpoints that remain) and drops the listing sidecar, which would be stale.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from omega_core.errors import OmegaError
from omega_core.session.atomic import FILE_MODE, dumps_compact, fsync_dir
from omega_core.session.errors import LogLocked, storage_error
from omega_core.session.events import header_event
from omega_core.session.index import load_index, rebuild_index_from_log, write_index
from omega_core.session.names import session_paths


class NothingToRepair(OmegaError):
    code = "not_found"


@dataclass(frozen=True)
class RepairReport:
    name: str
    kept_events: int
    cut_at: int
    cut_bytes: int
    reason: str | None
    backups: tuple[Path, ...]

    def text(self) -> str:
        cut = (f"cut {self.cut_bytes} bytes at byte {self.cut_at} ({self.reason})" if self.cut_bytes
               else "the log itself was consistent")
        return (f"Repaired session '{self.name}': kept {self.kept_events} events, {cut}, index rebuilt; "
                f"backup: {', '.join(str(path) for path in self.backups)}")


def last_consistent_offset(data: bytes) -> tuple[int, int, str | None, str | None]:
    """(end offset of the last consistent line, events kept, why the rest is cut, header id).

    Consistent: a header line first, then complete JSON objects whose seqs count from 0 by one."""
    first_end = data.find(b"\n")
    header_id = None
    if first_end < 0:
        return 0, 0, "no complete header line", None
    try:
        header = json.loads(data[:first_end])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("type") != "session":
        return 0, 0, "no valid header line", None
    header_id = str(header.get("id") or "") or None
    pos = first_end + 1
    expected = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            return pos, expected, "a torn last line", header_id
        raw = data[pos:end]
        if raw.strip():
            try:
                event = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return pos, expected, f"invalid JSON at byte {pos}", header_id
            seq = event.get("seq") if isinstance(event, dict) else None
            if not isinstance(seq, int) or isinstance(seq, bool):
                return pos, expected, f"an event without an integer seq at byte {pos}", header_id
            if seq != expected:
                what = f"duplicate seq {seq}" if seq < expected else f"seq gap (seq {expected} missing)"
                return pos, expected, f"{what} at byte {pos}", header_id
            expected += 1
        pos = end + 1
    return pos, expected, None, header_id


def _index_count(index_path: Path) -> int | None:
    try:
        count = load_index(index_path).get("eventCount") if index_path.exists() else None
    except OmegaError:
        return None
    return count if isinstance(count, int) else None


def repair_session(sessions_dir: Path, name: str) -> RepairReport:
    """Back up, cut and re-index session ``name`` (module docstring). Reads the whole log once:
    repair is a rare, explicit command, so it may cost what the log's size costs."""
    paths = session_paths(sessions_dir, name)
    if not paths.log.exists():
        raise NothingToRepair(f"no session named '{name}' (see :session list)")
    try:
        fd = os.open(paths.log, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise storage_error("open", paths.log, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LogLocked(f"session log {paths.log} is open for writing elsewhere (loaded in a server, or "
                            f"an OmegaLLM process); it opened fine there, so there is nothing to repair", paths.log) from None
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0)
        cut_at, kept, reason, header_id = last_consistent_offset(data)
        if cut_at == size and _index_count(paths.index) == kept:
            raise NothingToRepair(f"session '{name}' is consistent ({kept} events, and its index agrees): "
                                  "nothing to repair")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        backups = []
        for source in (paths.log, paths.index):
            if source.exists():
                backup = source.with_name(f"{source.name}.damaged-{stamp}.bak")
                shutil.copy2(source, backup)
                backups.append(backup)
        try:
            previous = load_index(paths.index) if paths.index.exists() else None
        except OmegaError:
            previous = None
        if cut_at == 0:  # not even a header: start the log again with one
            line = (dumps_compact(header_event(header_id or name, None)) + "\n").encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, line, 0)
        elif cut_at < size:
            os.ftruncate(fd, cut_at)
        os.fsync(fd)
        session_id = header_id or name
        if previous is not None:
            previous = {key: value for key, value in previous.items() if key != "eventCount"}
        index = rebuild_index_from_log(paths.log, session_id, previous=previous)
        write_index(paths.index, index)
        if paths.meta.exists():
            paths.meta.unlink()
        fsync_dir(sessions_dir)
    finally:
        os.close(fd)  # releases the flock
    for backup in backups:
        os.chmod(backup, FILE_MODE)
    return RepairReport(name, kept, cut_at, max(0, size - cut_at), reason, tuple(backups))
