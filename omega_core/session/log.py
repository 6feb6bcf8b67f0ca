"""The append-only event log ``<dir>/<name>.jsonl``: one JSON object a line, header first.

Writing (SessionLogWriter): all events of one command become one buffer written with ONE
``os.write`` on a file opened with O_APPEND, so a crash leaves either the whole command or a torn
last line, never a hole in the middle. The writer never reads or rewrites what is already there, so
appending costs the same on a 100k-event log as on an empty one. Only one writer may hold a log
(an exclusive ``flock``, released by the OS even when the process is killed).

Durability of an acknowledged append, by ``fsync_policy`` (ARCHITECTURE.md section 3):
  * ``always``   fdatasync after every append: survives a crash of the process and of the OS.
  * ``interval`` (default) the data is in the OS page cache when append returns: it survives a
    crash or kill -9 of the backend; a background flusher calls ``fsync()`` whenever
    ``needs_fsync`` is true (every ``fsync_interval_ms``), which bounds what an OS crash or power
    cut can lose to that interval.
  * ``never``    the OS writes back when it likes: survives a process crash, not an OS crash.

Reading is in log_reader.py (SessionLogReader, re-exported here).
"""

from __future__ import annotations

import fcntl
import os
import threading
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

from omega_core.session.atomic import FILE_MODE, dumps_compact, fsync_dir
from omega_core.session.errors import CorruptLog, LogLocked, StorageError, storage_error
from omega_core.session.events import header_event
from omega_core.session.log_reader import BLOCK_SIZE, SessionLogReader, session_name_of

__all__ = ["FsyncPolicy", "SessionLogWriter", "SessionLogReader", "CorruptLog", "BLOCK_SIZE"]

_sync = getattr(os, "fdatasync", os.fsync)  # the data and the file size, not the mtime

def sync_later(path: Path) -> threading.Thread | None:
    """Force ``path``'s written data to the disk in a thread of its own (``SessionLogWriter.close``);
    None if the file cannot be opened again (removed or renamed meanwhile: the caller syncs its
    own descriptor). A failure of the sync is logged: the data stays in the page cache, as
    between two interval syncs."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None

    def sync() -> None:
        try:
            _sync(fd)
        except OSError as problem:
            import logging  # here: a one-line batch run must not import it (tests/tui/test_cli_startup.py)

            logging.getLogger("omega.session.log").warning("syncing %s after it was closed failed: %s", path, problem)
        finally:
            os.close(fd)

    thread = threading.Thread(target=sync, name="omega-log-sync", daemon=True)
    thread.start()
    return thread



def encode_events(events: list[dict[str, Any]], first_seq: int, path: Any = "the log") -> list[bytes]:
    """The log lines of ``events``, whose seqs must run on from ``first_seq``."""
    lines = []
    expected = first_seq
    for event in events:
        seq = event.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq != expected:
            raise ValueError(f"event seq {seq!r} does not follow the log of {path} (expected {expected})")
        expected += 1
        lines.append((dumps_compact(event) + "\n").encode("utf-8"))
    return lines

class FsyncPolicy(str, Enum):
    """When appended events are forced to the disk (see the module docstring for the promises)."""

    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


class SessionLogWriter:
    """Appends events to a log; creates it with its header line if it does not exist.

    ``next_seq``: the seq the next appended event must carry. Pass it when it is known (from the
    index's ``eventCount``, or a reader); when omitted on an existing log it is read from the log's
    last line (a backward read of one block, never a scan of the whole file). Appended events must
    carry consecutive integer ``seq`` values starting there (ValueError otherwise: a caller bug).

    Opening an existing log repairs a torn last line first (``repair_warning`` holds the warning),
    so that new lines are never glued to a torn one.
    """

    def __init__(self, path: Path, fsync_policy: str | FsyncPolicy = FsyncPolicy.INTERVAL, *,
                 session_id: str | None = None, created: str | None = None,
                 next_seq: int | None = None) -> None:
        self.path = Path(path)
        self.policy = FsyncPolicy(fsync_policy)
        self.repair_warning: str | None = None
        self._lock = threading.Lock()
        self._dirty = False
        self._broken = False
        self._fd = -1
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, FILE_MODE)
        except OSError as exc:
            raise storage_error("open", self.path, exc) from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            self._fd = -1
            raise LogLocked(f"session log {self.path} is already open for writing elsewhere "
                            "(another Omega server, or an OmegaLLM process)", self.path) from exc
        try:
            self._open_existing_or_new(session_id, created, next_seq)
        except BaseException:
            os.close(self._fd)
            self._fd = -1
            raise

    def _open_existing_or_new(self, session_id: str | None, created: str | None,
                              next_seq: int | None) -> None:
        """Under the lock: repair and measure an existing log, or write the header of a new one."""
        if os.fstat(self._fd).st_size > 0:
            with SessionLogReader(self.path) as reader:
                self.repair_warning = reader.repair_torn_tail()
                if next_seq is None:
                    next_seq = reader.next_seq()
        self._size = os.fstat(self._fd).st_size
        self._next_seq = next_seq if next_seq is not None else 0
        if self._size == 0:  # new (or left empty by a crash right after creation, or cut to nothing)
            name = session_name_of(self.path)
            line = (dumps_compact(header_event(session_id or name, created)) + "\n").encode("utf-8")
            self._write(line)
            self._size = len(line)
            self._next_seq = 0
            if self.policy is not FsyncPolicy.NEVER:
                self._fsync_now()
                fsync_dir(self.path.parent)

    @property
    def size(self) -> int:
        """Bytes in the log (the offset the next line will get)."""
        return self._size

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def needs_fsync(self) -> bool:
        """True when appended data may not be on the disk yet (for the ``interval`` flusher)."""
        return self._dirty

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def _encode(self, events: list[dict[str, Any]]) -> list[bytes]:
        return encode_events(events, self._next_seq, self.path)

    def _write(self, data: bytes) -> None:
        """One os.write (more only on a short write); on failure cut back what was written."""
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError as exc:
            if written:
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    self._broken = True  # a torn tail stays; reopening repairs it
            raise storage_error("append to", self.path, exc) from exc

    def append(self, events: list[dict[str, Any]], lines: list[bytes] | None = None) -> list[int]:
        """Write the events of one command with one write; return each line's byte offset.
        ``lines``: the events already encoded (``encode_events``, in pieces between other work).

        When this returns, the events are in the file (and on the disk with ``always``).
        """
        if self._fd < 0:
            raise ValueError(f"session log writer for {self.path} is closed")
        if self._broken:
            raise StorageError(f"session log {self.path} could not be repaired after a failed write; "
                               "reopen the session", self.path)
        if not events:
            return []
        if lines is None:
            lines = self._encode(events)
        elif len(lines) != len(events) or events[0].get("seq") != self._next_seq:
            raise ValueError(f"encoded events do not follow the log of {self.path} (expected seq {self._next_seq})")
        offsets = []
        pos = self._size
        for line in lines:
            offsets.append(pos)
            pos += len(line)
        self._write(b"".join(lines))
        self._size = pos
        self._next_seq += len(lines)
        if self.policy is FsyncPolicy.ALWAYS:
            self._fsync_now()
        elif self.policy is FsyncPolicy.INTERVAL:
            self._dirty = True
        return offsets

    def _fsync_now(self) -> None:
        try:
            _sync(self._fd)
        except OSError as exc:
            raise storage_error("sync", self.path, exc) from exc

    def fsync(self) -> None:
        """Force appended data to the disk. Safe to call from a flusher thread."""
        with self._lock:
            if self._fd < 0:
                return
            self._dirty = False  # cleared first: an append racing with the sync sets it again
            self._fsync_now()

    def close(self, sync_in_background: bool = False) -> None:
        """Flush (unless the policy is ``never``) and close; closing twice is harmless.

        ``sync_in_background``: under the ``interval`` policy, the sync still due is done by a
        thread of its own on a descriptor of its own (read-only: it holds no lock), and this
        returns at once. The policy promises the disk within its interval, not at close; a
        server unloading a session must not wait for the disk on its event loop (100-200 ms
        measured)."""
        with self._lock:
            if self._fd < 0:
                return
            try:
                if self._dirty and self.policy is FsyncPolicy.INTERVAL and sync_in_background \
                        and sync_later(self.path) is not None:
                    self._dirty = False
                elif self._dirty and self.policy is not FsyncPolicy.NEVER:
                    self._dirty = False
                    self._fsync_now()
            finally:
                os.close(self._fd)  # also releases the flock
                self._fd = -1

    def __enter__(self) -> SessionLogWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
