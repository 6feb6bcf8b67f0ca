"""Errors of the session file layer.

They are OmegaErrors because a user sees them (a full disk, a damaged file, a bad name) and each
message says which file and what went wrong. They live in one module so that the other modules of
this package (and the server mapping them to wire codes) import them from one place.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from omega_core.errors import OmegaError


class InvalidName(OmegaError):
    """A session, snapshot or tag name that breaks the rule of ARCHITECTURE.md section 6."""

    code = "invalid_name"


class SessionFileError(OmegaError):
    """Base of the errors about session files; the server answers them with `unavailable`."""

    code = "unavailable"

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class StorageError(SessionFileError):
    """The operating system refused to read or write a file (full disk, read-only, permissions).

    ``os_errno`` keeps the errno so a caller can tell ENOSPC from EACCES without parsing text.
    """

    def __init__(self, message: str, path: Path | str | None = None, os_errno: int | None = None) -> None:
        super().__init__(message, path)
        self.os_errno = os_errno


class CorruptLog(SessionFileError):
    """A session log has a broken line that is not the last one, so it cannot be repaired by cutting.

    ``line`` is 1-based (None when the reader started in the middle of the file); ``offset`` is the
    byte offset of the broken line.
    """

    def __init__(self, message: str, path: Path | str | None = None,
                 line: int | None = None, offset: int | None = None) -> None:
        super().__init__(message, path)
        self.line = line
        self.offset = offset


class CorruptIndex(SessionFileError):
    """An index, sidecar or state file is unreadable. These are caches: rebuild them from the log."""


class BadOffset(SessionFileError):
    """A byte offset (usually from a stale index) does not point at the start of a line."""


class LogLocked(SessionFileError):
    """Another writer (another process, or another writer object) already holds this log open."""

    code = "locked"


def storage_error(action: str, path: Path | str, exc: OSError) -> StorageError:
    """Wrap an OSError as a StorageError whose message names the path and the OS's reason."""
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    hint = _HINTS.get(exc.errno or 0, "")
    return StorageError(f"cannot {action} {path}: {reason}{hint}", path, exc.errno)


_HINTS: dict[int, str] = {
    errno.ENOSPC: " (the disk is full; free some space and retry)",
    errno.EDQUOT: " (the disk quota is exhausted; free some space and retry)",
    errno.EROFS: " (the file system is read-only)",
    errno.EACCES: " (check the permissions of the session directory)",
    errno.EPERM: " (check the permissions of the session directory)",
}
