"""The disk half of the session catalog's refresh (``SessionManager``), runnable in a worker thread.

Why apart: after a restart the first listing summarized every session on disk (a ``scandir``,
then each session's sidecar or log head) on the event loop: 200-400 ms with many sessions, while
every other client waited. ``scan_catalog`` reads only the directory and what it is given (names
as they were when the caller looked), never the manager's live dictionaries, so a server runs it
in a worker thread and applies the result on its loop (``SessionManager.apply_catalog_scan``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from omega_core.errors import OmegaError
from omega_core.session.listing import SessionSummary, list_sessions, summarize_session
from omega_core.session.names import validate_name

LOG_SUFFIX = ".jsonl"


def directory_mtime(sessions_dir: Path) -> int:
    """The sessions directory's mtime (ns): it changes whenever a session's file appears or goes
    (and on atomic rewrites of indexes and sidecars); -1 when it cannot be read."""
    try:
        return os.stat(sessions_dir).st_mtime_ns
    except OSError:
        return -1


@dataclass
class CatalogScan:
    """What a scan found. ``names`` is None after a full scan (``summaries`` then holds every
    session) or when the directory could not be listed (nothing to apply but the mtime)."""

    mtime: int
    full: bool
    names: frozenset[str] | None = None
    summaries: dict[str, SessionSummary] = field(default_factory=dict)


def scan_catalog(sessions_dir: Path, known: frozenset[str] | None, loaded: frozenset[str]) -> CatalogScan:
    """Scan ``sessions_dir``: every session when ``known`` is None (the catalog is empty), else
    the names on disk and summaries of those neither ``known`` nor ``loaded``. The mtime is read
    first, so a change made during the scan makes the next refresh look again."""
    scan = _scan(sessions_dir, known, loaded, None)
    assert scan is not None  # only a limit on new sessions gives up
    return scan


def quick_scan_catalog(sessions_dir: Path, known: frozenset[str], loaded: frozenset[str],
                       most_new: int) -> CatalogScan | None:
    """``scan_catalog`` of a known catalog that gives up (None) rather than summarize more than
    ``most_new`` new sessions: cheap enough for the event loop when it does not give up."""
    return _scan(sessions_dir, known, loaded, most_new)


def _scan(sessions_dir: Path, known: frozenset[str] | None, loaded: frozenset[str],
          most_new: int | None) -> CatalogScan | None:
    mtime = directory_mtime(sessions_dir)
    if known is None:
        return CatalogScan(mtime, True, None, {summary.name: summary for summary in list_sessions(sessions_dir)})
    try:
        names = frozenset(entry[: -len(LOG_SUFFIX)] for entry in os.listdir(sessions_dir) if entry.endswith(LOG_SUFFIX))
    except OSError:
        return CatalogScan(mtime, False, None)
    summaries: dict[str, SessionSummary] = {}
    new_names = names - known - loaded
    if most_new is not None and len(new_names) > most_new:
        return None
    for name in new_names:
        try:
            validate_name(name)
            summaries[name] = summarize_session(sessions_dir, name)
        except (OmegaError, OSError):
            continue
    return CatalogScan(mtime, False, names, summaries)
