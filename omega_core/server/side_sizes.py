"""The bytes of each loaded session's files beside its log, for listing rows, re-read at most once
a second per session.

Why: every ``list_sessions`` builds a row for each loaded session, and its Size counts the index,
states, sidecar and timeline files too (the log's size the session knows). That was four ``stat``
calls per loaded session per listing, on the event loop: 1.5-2 ms per listing with 60 sessions
loaded, and the probe's listings while clients created sessions had a p99 of 6-9 ms.

A session's entry is read again when the server wrote its states or index (``forget``, from the
flush round), when the directory changed (a file created, removed or atomically replaced moves
its mtime), and otherwise after ``SIDE_FILES_TTL_S`` (a file grown in place by something else).
The log's part is always current.
"""

from __future__ import annotations

import os
from pathlib import Path

from omega_core.session.listing import SESSION_FILE_SUFFIXES

SIDE_FILES_TTL_S = 1.0
"""How long a session's side-file bytes are reused before they are read again."""
SIDE_SUFFIXES = SESSION_FILE_SUFFIXES[:-1]
"""Every suffix but the log's (the last)."""


class SideFileSizes:
    """Side-file bytes by session name, each with the monotonic time it was read and the
    directory's mtime then."""

    def __init__(self, sessions_dir: Path, ttl_s: float = SIDE_FILES_TTL_S) -> None:
        self._prefix = os.path.join(os.fspath(sessions_dir), "")
        self._ttl_s = ttl_s
        self._sizes: dict[str, tuple[float, int, int]] = {}

    def of(self, name: str, now: float, directory_mtime: int) -> int:
        """The bytes of ``name``'s files beside its log: as read within the last ``ttl_s`` if
        the directory's mtime is still ``directory_mtime`` and nothing was ``forget``-ed since."""
        known = self._sizes.get(name)
        if known is not None and known[1] == directory_mtime and now - known[0] < self._ttl_s:
            return known[2]
        size = 0
        base = self._prefix + name
        for suffix in SIDE_SUFFIXES:
            try:
                size += os.stat(base + suffix).st_size
            except OSError:
                pass
        self._sizes[name] = (now, directory_mtime, size)
        return size

    def forget(self, name: str) -> None:
        """The server wrote some of ``name``'s side files: read them again next time."""
        self._sizes.pop(name, None)

    def keep_only(self, names: object) -> None:
        """Forget sessions not in ``names`` (those left the pool), once the cache has grown past
        twice their number: a session evicted and loaded again is read afresh."""
        if len(self._sizes) > 2 * len(names) + 16:  # type: ignore[arg-type]
            for gone in [name for name in self._sizes if name not in names]:  # type: ignore[operator]
                del self._sizes[gone]
