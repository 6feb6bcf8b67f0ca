"""The session a notebook runs in: named after the notebook, cleaned to a valid session name.

Jupyter tells a kernel which notebook it serves through ``JPY_SESSION_NAME`` (a path such as
``work/Mail triage.ipynb``). The notebook's file name is the most useful name a user can recognise
in ``:session list`` and the terminal app, and it makes reopening the notebook (or restarting its
kernel) come back to the same recorded session. Without it (``jupyter console``, nbclient) the
session is ``notebook-<date>``.

The session name rule (``omega_core.session.names``) allows only ``A-Z a-z 0-9 . _ -``, at most 64
characters, no leading dot, so the notebook's name is cleaned rather than refused: accents are
dropped (``Café`` -> ``Cafe``), every other run of characters outside the rule becomes one ``-``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import PurePosixPath, PureWindowsPath

__all__ = ["clean_session_name", "notebook_session_name", "numbered_name", "MAX_NAME_LENGTH"]

NOTEBOOK_SUFFIXES = (".ipynb", ".omega")
MAX_NAME_LENGTH = 64
_OUTSIDE_RULE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_RULE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", re.ASCII)
"""The rule of ``omega_core.session.names`` (a test keeps them equal), repeated here because
importing that package loads the whole session file layer, a cost on every kernel start that the
kernel, a client of the server, has no other use for."""


def validate_name(name: str) -> str:
    if _NAME_RULE.fullmatch(name) is None:  # pragma: no cover - the cleaning above makes this impossible
        raise ValueError(f"not a valid session name: {name!r}")
    return name


def clean_session_name(text: str) -> str | None:
    """``text`` made into a valid session name, or None when nothing usable is left."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = _OUTSIDE_RULE.sub("-", ascii_only).strip("-").lstrip(".")
    cleaned = cleaned[:MAX_NAME_LENGTH].rstrip("-")
    if not cleaned or not any(ch.isalnum() for ch in cleaned):
        return None
    return validate_name(cleaned)


def notebook_session_name(jpy_session_name: str | None, today: date) -> str:
    """The session for a notebook: from ``JPY_SESSION_NAME``'s file name, else ``notebook-<date>``."""
    if jpy_session_name:
        windows_like = "\\" in jpy_session_name and "/" not in jpy_session_name
        base = (PureWindowsPath if windows_like else PurePosixPath)(jpy_session_name.rstrip("/\\")).name
        for suffix in NOTEBOOK_SUFFIXES:
            if base.lower().endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        cleaned = clean_session_name(base)
        if cleaned is not None:
            return cleaned
    return f"notebook-{today.isoformat()}"


def numbered_name(name: str, number: int) -> str:
    """``name-N``, cut so it stays within the length limit (for a session another client holds)."""
    suffix = f"-{number}"
    return validate_name(name[: MAX_NAME_LENGTH - len(suffix)].rstrip("-") + suffix)
