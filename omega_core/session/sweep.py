"""The start-up sweep of temporary files left by a crashed process.

A kill during ``:session fork``/``save`` or an index write leaves ``.<target>.<pid>-<random>.tmp``
(``atomic``) next to the sessions, each as big as what was being written (a fork's copy of a log:
hundreds of KB), and nothing else would ever remove it. The backend sweeps them when it starts,
removing only files no live process can still be writing: those whose writer pid is dead, and
those of the older name without a pid (``.<target>.<random>.tmp``) last modified before the
backend started. It reads one directory listing, so it costs nothing noticeable at start.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("omega.session")

TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.tmp$")


@dataclass(frozen=True)
class SweptFile:
    path: Path
    size: int
    reason: str


def _pid_running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a zombie writes nothing any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rpartition(b")")[2].split()[:1]
    except OSError:
        return True
    return state != [b"Z"]


def stale_reason(name: str, modified: float, started_before: float) -> str | None:
    """Why the temp file ``name`` is left over (None: not ours, or possibly still being written)."""
    match = TEMP_NAME.match(name)
    if match is None:
        return None
    pid = match.group("pid")
    if pid is not None:
        if int(pid) == os.getpid() or _pid_running(int(pid)):
            return None
        return f"its writer (pid {pid}) is gone"
    if modified < started_before:
        return "written before this backend started, by a process that did not finish it"
    return None


def sweep_temp_files(directory: Path, started_before: float) -> list[SweptFile]:
    """Remove leftover temp files in ``directory``; log and return what was removed.

    ``started_before``: the backend's start time (epoch seconds); temp files without a pid that are
    older were left by a process that died before renaming them.
    """
    removed: list[SweptFile] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.endswith(".tmp") or not entry.name.startswith("."):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        reason = stale_reason(entry.name, info.st_mtime, started_before)
        if reason is None:
            continue
        try:
            os.unlink(entry.path)
        except OSError as problem:
            log.warning("could not remove the leftover temp file %s: %s", entry.path, problem.strerror)
            continue
        removed.append(SweptFile(Path(entry.path), info.st_size, reason))
        log.info("removed the leftover temp file %s (%d bytes): %s", entry.path, info.st_size, reason)
    if removed:
        log.info("start-up sweep: removed %d leftover temp file(s), %d bytes, in %s", len(removed),
                 sum(item.size for item in removed), directory)
    return removed
