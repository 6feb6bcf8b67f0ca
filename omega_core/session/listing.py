"""Listing the sessions of a directory cheaply (``:session list``), and the sidecar that makes it so.

Per session the counts come from, in order of preference:
  1. the sidecar ``<name>.meta.json`` (a few dozen bytes), if its ``logSize`` equals the log's
     current size (anything appended since makes it stale);
  2. the head of the index (index_head: a prefix up to ``states``; OmegaLLM's indexes can be
     176 MB), if its ``eventCount`` equals the log's next seq, read from the log's last line;
  3. the log itself: next seq from its last line, checkpoints counted by one scan for checkpoint
     lines.
After 2 or 3 the sidecar is written (best effort: a read-only directory only makes the next listing
slower), so the next listing takes path 1.

Sidecar format (ours; OmegaLLM ignores it): compact JSON
``{"version":1,"sessionId":S,"created":C,"eventCount":N,"checkpointCount":M,"logSize":B}``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_core.session.atomic import atomic_write_json
from omega_core.session.errors import InvalidName, SessionFileError
from omega_core.session.index_head import read_index_head
from omega_core.session.log_reader import SessionLogReader, parse_object_line
from omega_core.session.names import INDEX_SUFFIX, LOG_SUFFIX, META_SUFFIX, STATES_SUFFIX, validate_name
from omega_core.session.timeline import SUFFIX as TIMELINE_SUFFIX

__all__ = ["SessionSummary", "SessionMeta", "list_sessions", "summarize_session", "read_meta",
           "write_meta", "format_session_list", "count_log_checkpoints", "SESSION_FILE_SUFFIXES",
           "session_file_owner", "session_files_size"]

SESSION_FILE_SUFFIXES = (INDEX_SUFFIX, STATES_SUFFIX, META_SUFFIX, TIMELINE_SUFFIX, LOG_SUFFIX)
"""The endings of every file a session owns beside its log, then the log's own. None of them ends
another (``.index.json`` is not ``.jsonl``), so a file name has at most one owner: a session's Size
counts all of them (the index and states file are usually far bigger than the log)."""

META_VERSION = 1
_CHECKPOINT_RE = re.compile(rb'"type"\s*:\s*"checkpoint"')
_SCAN_BLOCK = 1024 * 1024
_HEADER_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of ``:session list``. ``size_bytes`` adds log, index and states file; ``modified``
    is the log's mtime (the log changes whenever the session does)."""

    name: str
    session_id: str
    created: str | None
    event_count: int
    checkpoint_count: int
    size_bytes: int
    modified: float
    damaged: str | None = None
    """Why the log failed validation when last opened (what, file, byte offset); None if healthy."""


@dataclass(frozen=True)
class SessionMeta:
    """The content of a sidecar ``<name>.meta.json``."""

    session_id: str
    created: str | None
    event_count: int
    checkpoint_count: int
    log_size: int


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_meta(path: Path) -> SessionMeta | None:
    """The sidecar at ``path``, or None if it is missing or unreadable in any way (it is a cache)."""
    try:
        obj = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    if not (isinstance(obj, dict) and _is_count(obj.get("eventCount")) and _is_count(obj.get("checkpointCount"))
            and _is_count(obj.get("logSize")) and isinstance(obj.get("sessionId"), str)):
        return None
    created = obj.get("created")
    return SessionMeta(obj["sessionId"], created if isinstance(created, str) else None,
                       obj["eventCount"], obj["checkpointCount"], obj["logSize"])


def write_meta(path: Path, *, session_id: str, created: str | None, event_count: int,
               checkpoint_count: int, log_size: int, fsync: bool = False) -> None:
    """Replace the sidecar atomically. ``log_size`` must be the log's size these counts describe.

    No fsync by default: after a power cut a lost or stale sidecar only costs one slower listing.
    Raises StorageError if the OS refuses (callers that do not care catch it).
    """
    atomic_write_json(Path(path), {"version": META_VERSION, "sessionId": session_id, "created": created,
                                   "eventCount": event_count, "checkpointCount": checkpoint_count,
                                   "logSize": log_size}, fsync=fsync)


def _read_header(log: Path) -> dict[str, Any] | None:
    try:
        with open(log, "rb") as f:
            first = f.readline(_HEADER_LIMIT)
    except OSError:
        return None
    event = parse_object_line(first)
    return event if event is not None and event.get("type") == "session" else None


def count_log_checkpoints(log: Path, end: int) -> int:
    """Checkpoint lines among the complete lines of the log's first ``end`` bytes (one scan).

    Lines are picked by a byte pattern first and only those are decoded, so the scan runs at
    nearly the speed of reading; a torn or damaged line is not counted.
    """
    count = 0
    carry = b""
    with open(log, "rb") as f:
        remaining = end
        while remaining > 0:
            block = f.read(min(_SCAN_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            data = carry + block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if not _CHECKPOINT_RE.search(data, 0, cut):
                continue
            for line in data[:cut].split(b"\n"):
                if _CHECKPOINT_RE.search(line):
                    event = parse_object_line(line)
                    if event is not None and event.get("type") == "checkpoint":
                        count += 1
    return count


def session_file_owner(file_name: str) -> str | None:
    """The session whose file ``file_name`` is (``x.index.json`` -> ``x``), or None.

    A temporary file of an atomic write (``.x.states.ndjson.<pid>-<hex>.tmp``) belongs to the
    session of its target: a write in progress, or one a crash left behind, uses that session's
    disk space too. Only the name is looked at (no I/O): listings call this for every file.
    """
    if file_name.startswith("."):
        from omega_core.session.sweep import TEMP_NAME  # here: it imports logging, rare in a listing

        temp = TEMP_NAME.match(file_name)
        if temp is None:
            return None
        file_name = temp.group("target")
    for suffix in SESSION_FILE_SUFFIXES:
        if file_name.endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)]
    return None


def session_files_size(sessions_dir: Path, name: str, *, besides_log: bool = False) -> int:
    """Bytes used by session ``name``'s files (log, index, states, sidecar, timeline): one ``stat``
    per file, nothing read. ``besides_log``: leave the log out (the server knows its size already).
    Temporary files are not looked for here (that needs a directory listing; ``list_sessions``
    counts them)."""
    suffixes = SESSION_FILE_SUFFIXES[:-1] if besides_log else SESSION_FILE_SUFFIXES
    return sum(_file_size(Path(sessions_dir) / f"{name}{suffix}", None) for suffix in suffixes)


def _file_size(path: Path, present: frozenset[str] | None) -> int:
    if present is not None and path.name not in present:
        return 0  # known to be absent from the directory listing: no stat needed
    try:
        return path.stat().st_size
    except OSError:
        return 0


def summarize_session(sessions_dir: Path, name: str, present: frozenset[str] | None = None) -> SessionSummary:
    """The summary of one session (its log must exist); writes the sidecar when it was stale.

    ``present``: the file names of the directory, if the caller listed it already (saves stats).
    """
    sessions_dir = Path(sessions_dir)
    log = sessions_dir / f"{name}{LOG_SUFFIX}"
    index = sessions_dir / f"{name}{INDEX_SUFFIX}"
    meta_path = sessions_dir / f"{name}{META_SUFFIX}"
    st = log.stat()
    size_bytes = st.st_size + sum(_file_size(sessions_dir / f"{name}{suffix}", present)
                                  for suffix in SESSION_FILE_SUFFIXES[:-1])
    meta = read_meta(meta_path) if present is None or meta_path.name in present else None
    if meta is not None and meta.log_size == st.st_size:
        return SessionSummary(name, meta.session_id, meta.created, meta.event_count,
                              meta.checkpoint_count, size_bytes, st.st_mtime)
    header = _read_header(log) or {}
    session_id = header.get("id") if isinstance(header.get("id"), str) else name
    created = header.get("created") if isinstance(header.get("created"), str) else None
    try:
        head = read_index_head(index)
    except SessionFileError:
        head = None
    trusted = True
    try:
        with SessionLogReader(log) as reader:
            next_seq = reader.next_seq(st.st_size)
        if head is not None and head.complete and head.event_count == next_seq:
            checkpoint_count = len(head.checkpoints or ())
        else:
            checkpoint_count = count_log_checkpoints(log, st.st_size)
    except SessionFileError:  # a damaged log: show what the index says, and do not cache it
        trusted = False
        next_seq = (head.event_count or 0) if head is not None else 0
        checkpoint_count = len(head.checkpoints or ()) if head is not None else 0
    except OSError:
        trusted = False
        next_seq, checkpoint_count = 0, 0
    if trusted:
        try:
            write_meta(meta_path, session_id=session_id, created=created, event_count=next_seq,
                       checkpoint_count=checkpoint_count, log_size=st.st_size)
        except (SessionFileError, OSError):
            pass  # read-only directory, full disk: the listing is still right, only not cached
    return SessionSummary(name, session_id, created, next_seq, checkpoint_count, size_bytes, st.st_mtime)


_WARM: dict[str, tuple[tuple[int, ...], SessionSummary]] = {}
"""log path -> (log size and mtime, sidecar and index mtimes; summary): a listing that finds a
session's files as they were last time reuses its summary without reading anything."""


def list_sessions(sessions_dir: Path, with_sizes: bool = True) -> list[SessionSummary]:
    """Summaries of the sessions in ``sessions_dir`` (every valid ``NAME.jsonl``), sorted by name.

    Files whose name is not a valid session name are left out (no command could address them).
    A missing directory has no sessions. One ``scandir`` pass gives every file's size; a session
    whose log is unchanged since the last listing in this process costs no further I/O.
    ``with_sizes=False`` (``:session list`` prints counts only) stats only logs and sidecars;
    otherwise every file of a session counts in its size (see ``session_file_owner``).
    """
    directory = os.fspath(sessions_dir)
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    present = frozenset(entry.name for entry in entries)
    others_size: dict[str, int] = {}
    """session name -> bytes of its files other than the log"""
    mtimes: dict[str, int] = {}
    logs: dict[str, os.stat_result] = {}
    for entry in entries:
        is_log_or_meta = entry.name.endswith((LOG_SUFFIX, META_SUFFIX))
        owner = session_file_owner(entry.name) if with_sizes or is_log_or_meta else None
        if owner is None:
            continue
        try:
            info = entry.stat()
        except OSError:
            continue
        mtimes[entry.name] = info.st_mtime_ns
        if not (entry.name.endswith(LOG_SUFFIX) and not entry.name.startswith(".")):
            others_size[owner] = others_size.get(owner, 0) + info.st_size
        if entry.name.endswith(LOG_SUFFIX) and entry.is_file():
            logs[entry.name[: -len(LOG_SUFFIX)]] = info
    summaries = []
    for name in sorted(logs):
        try:
            validate_name(name)
        except InvalidName:
            continue
        info = logs[name]
        key = os.path.join(directory, name + LOG_SUFFIX)
        stamp = (info.st_size, info.st_mtime_ns, mtimes.get(name + META_SUFFIX, -1))
        warm = _WARM.get(key)
        if warm is not None and warm[0] == stamp:
            cached = warm[1]
        else:
            try:
                cached = summarize_session(Path(directory), name, present)
            except FileNotFoundError:
                continue  # deleted while we were listing
            try:  # the listing may have just written the sidecar: stamp what is there now
                meta_mtime = os.stat(os.path.join(directory, name + META_SUFFIX)).st_mtime_ns
            except OSError:
                meta_mtime = -1
            _WARM[key] = ((info.st_size, info.st_mtime_ns, meta_mtime), cached)
        size = info.st_size + others_size.get(name, 0)
        summaries.append(SessionSummary(name, cached.session_id, cached.created, cached.event_count,
                                        cached.checkpoint_count, size, info.st_mtime))
    return summaries


def format_session_list(summaries: list[SessionSummary]) -> list[str]:
    """The lines ``:session list`` prints: ``  NAME (N events, M checkpoints)``."""
    if not summaries:
        return ["  (no sessions)"]
    return [f"  {s.name} ({s.event_count} events, {s.checkpoint_count} checkpoints)"
            + (f" [damaged: {s.damaged}]" if s.damaged else "") for s in summaries]
