"""A read-only view of a session whose log failed validation on open (``validation``).

A server must still show such a session (its trace, its checkpoints, why it is damaged) without
changing anything: no log lock, no machine state, no index rewrite (``RecordedSession`` refuses
changes and skips the index while ``damaged`` is set), until ``:session repair NAME``.
"""

from __future__ import annotations

from pathlib import Path

from omega_core.config import Config
from omega_core.effects import EffectHost
from omega_core.errors import OmegaError
from omega_core.session.index import load_index
from omega_core.session.log_reader import SessionLogReader
from omega_core.session.recorded import RecordedSession
from omega_core.session.recorded_log import RECENT_EVENTS
from omega_core.session.validation import damaged_signature


def open_damaged(sessions_dir: Path, name: str, config: Config, effects: EffectHost | None,
                 cause: str) -> RecordedSession:
    """What the index and the end of the log say (checkpoints, trace), read-only (``cause`` says why)."""
    session = RecordedSession(sessions_dir, name, config, effects)
    session.damaged = cause
    session.warnings.append(f"session '{name}' is read-only until :session repair {name}: {cause}")
    session.damaged_signature = damaged_signature(session.paths.log, session.paths.index)
    try:
        index = load_index(session.paths.index) if session.paths.index.exists() else None
    except OmegaError:
        index = None
    if index:
        session.checkpoints = list(index.get("checkpoints", []))
        session.receipts = dict(index.get("receipts", {}))
        session.next_seq = int(index.get("eventCount", 0) or 0)
    try:
        with SessionLogReader(session.paths.log) as reader:
            session.recent.extend(event for _, event in reader.tail(RECENT_EVENTS))
    except OmegaError:
        pass
    if not index and session.recent and isinstance(session.recent[-1].get("seq"), int):
        session.next_seq = session.recent[-1]["seq"] + 1
    session.last_index_count = session.next_seq
    return session
