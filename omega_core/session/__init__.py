"""Session files: the event log, its index, checkpoint states and the session listing.

This is the file layer only. It knows no language and no machine: states are opaque JSON values
handed in by the caller. Formats are those of ARCHITECTURE.md section 4 (compatible with OmegaLLM);
what this package adds (``<name>.states.ndjson``, ``<name>.meta.json``) is described in states.py
and listing.py.
"""

from omega_core.session.errors import (
    BadOffset,
    CorruptIndex,
    CorruptLog,
    InvalidName,
    LogLocked,
    SessionFileError,
    StorageError,
)
from omega_core.session.index import (
    load_index,
    new_index,
    rebuild_index_from_log,
    write_index,
)
from omega_core.session.index_head import IndexHead, read_index_head
from omega_core.session.listing import SessionSummary, format_session_list, list_sessions, write_meta
from omega_core.session.log import FsyncPolicy, SessionLogReader, SessionLogWriter
from omega_core.session.names import SessionPaths, session_paths, validate_name
from omega_core.session.states import StateStore, is_state_ref, load_state

__all__ = [
    "BadOffset", "CorruptIndex", "CorruptLog", "InvalidName", "LogLocked", "SessionFileError",
    "StorageError", "load_index", "new_index", "rebuild_index_from_log", "write_index", "IndexHead",
    "read_index_head", "SessionSummary", "format_session_list", "list_sessions", "write_meta",
    "FsyncPolicy", "SessionLogReader", "SessionLogWriter", "SessionPaths", "session_paths",
    "validate_name", "StateStore", "is_state_ref", "load_state",
]
