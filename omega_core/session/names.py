"""Validation of session, snapshot and tag names, and the file paths derived from a session name.

Names become file names, so the rule (ARCHITECTURE.md section 6) keeps them inside the session
directory: 1 to 64 characters of ``A-Z a-z 0-9 . _ -``, not starting with ``.`` (which rules out
``.``, ``..`` and hidden files). Everything else is refused with ``invalid_name`` before any file is
touched, and the message shows the offending name with control characters escaped, so a NUL or an
escape sequence in a name can neither hide in nor mess up the user's terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from omega_core.session.errors import InvalidName

__all__ = ["InvalidName", "validate_name", "NAME_RULE", "MAX_NAME_LENGTH", "SessionPaths", "session_paths"]

MAX_NAME_LENGTH = 64
NAME_RULE = 'names are 1-64 characters of A-Z a-z 0-9 . _ - and may not start with "."'
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", re.ASCII)
_SHOWN_MAX = 80  # a name quoted in a message is cut to this many characters


def _escape_char(ch: str) -> str:
    """One character as shown in a message: printable ones as they are, others escaped."""
    if ch == "\\":
        return "\\\\"
    if ch == '"':
        return '\\"'
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if not ch.isprintable() or 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def show_name(name: str) -> str:
    """The name in double quotes, escaped and cut, safe to print in any message."""
    shown = "".join(_escape_char(ch) for ch in name[:_SHOWN_MAX])
    if len(name) > _SHOWN_MAX:
        shown += "..."
    return f'"{shown}"'


def _problem(name: str) -> str:
    """What exactly is wrong with a name that failed the rule, in a few words."""
    if name == "":
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is {len(name)} characters long"
    if name.startswith("."):
        return 'it starts with "."'
    for ch in name:
        if ch not in _ALLOWED:
            return f"it contains {show_name(ch)}"
    return "it is not allowed"  # not reached: every failing name has one of the problems above


def validate_name(name: str, what: str = "session") -> str:
    """Return ``name`` unchanged if it follows the rule; raise InvalidName saying why otherwise.

    ``what`` ("session", "snapshot", "tag") only changes the message.
    """
    if not isinstance(name, str):
        raise InvalidName(f"invalid {what} name: expected text, got {type(name).__name__}; {NAME_RULE}")
    if _NAME_RE.fullmatch(name) is not None:
        return name
    raise InvalidName(f"invalid {what} name {show_name(name)} ({_problem(name)}): {NAME_RULE}")


@dataclass(frozen=True)
class SessionPaths:
    """The files of one session inside ``<session_dir>/sessions``.

    ``log`` and ``index`` are OmegaLLM's. ``states`` and ``meta`` are ours: their names end neither
    in ``.jsonl`` (OmegaLLM lists every ``*.jsonl`` file as a session, so a states file named
    ``x.states.jsonl`` would show up there as a session "x.states" and would collide with the log
    of a session really named "x.states") nor in ``.index.json``.
    """

    name: str
    log: Path
    index: Path
    states: Path
    meta: Path


LOG_SUFFIX = ".jsonl"
INDEX_SUFFIX = ".index.json"
STATES_SUFFIX = ".states.ndjson"
META_SUFFIX = ".meta.json"


def session_paths(sessions_dir: Path, name: str) -> SessionPaths:
    """The paths of session ``name`` (validated) in ``sessions_dir``."""
    validate_name(name)
    return SessionPaths(
        name=name,
        log=sessions_dir / f"{name}{LOG_SUFFIX}",
        index=sessions_dir / f"{name}{INDEX_SUFFIX}",
        states=sessions_dir / f"{name}{STATES_SUFFIX}",
        meta=sessions_dir / f"{name}{META_SUFFIX}",
    )
