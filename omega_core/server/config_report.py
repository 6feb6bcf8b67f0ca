"""The server's effective configuration, and how a front end's differs from it.

Why: one server serves every front end of a session dir, and it keeps the config it was started
with. A front end started later with another ``--config`` (a smaller step budget, another oracle)
would otherwise run silently under the server's settings. The backend puts ``effective_config``
into its ``status`` reply (key ``config``); a front end compares it with its own config
(``config_drift``) and warns with the differences and the command that applies its own.

Only what changes results or durability is compared: the session dir, every ``[language]`` budget
and limit, the ``[oracle]`` section and the ``[server]`` fsync policy. Sections are walked by their
dataclass fields, so keys added later are compared too.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from omega_core.config import Config

CONFIG_FILE_ENV = "OMEGA_SERVER_CONFIG_FILE"
"""Set by the supervisor to the config file it loaded ("" for the defaults); its forked backend
inherits it and reports it in ``status``."""

COMPARED_SECTIONS = ("language", "oracle")
COMPARED_SERVER_KEYS = ("fsync", "fsync_interval_ms")
NOT_COMPARED = frozenset({"slice_steps"})
"""Scheduling knobs, not settings a result depends on: the backend caps ``slice_steps`` itself to keep
its loop responsive, so it always differs from the file."""


def _plain(value: Any) -> Any:
    """A config value as JSON data (enums by their value)."""
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _section(record: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not is_dataclass(record):
        return {}
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)
            if (names is None or f.name in names) and f.name not in NOT_COMPARED}


def effective_config(config: Config, config_file: str | None = None) -> dict[str, Any]:
    """What matters of ``config``, as JSON data: ``config_file`` (None: unknown, "": defaults),
    ``session_dir``, one table per compared section and ``server`` (fsync keys)."""
    if config_file is None:
        config_file = os.environ.get(CONFIG_FILE_ENV)
    report: dict[str, Any] = {"config_file": config_file, "session_dir": str(config.session_dir)}
    for name in COMPARED_SECTIONS:
        report[name] = _section(getattr(config, name, None))
    report["server"] = _section(config.server, COMPARED_SERVER_KEYS)
    return report


@dataclass(frozen=True)
class Difference:
    """One setting that differs: ``key`` as written in a config file (``[language] step_budget``)."""

    key: str
    here: Any
    server: Any


def config_differences(config: Config, server_report: dict[str, Any]) -> list[Difference]:
    """Settings of ``config`` that the server (its ``effective_config`` report) runs differently."""
    mine = effective_config(config, "")
    differences: list[Difference] = []
    if server_report.get("session_dir") not in (None, mine["session_dir"]):
        differences.append(Difference("session_dir", mine["session_dir"], server_report.get("session_dir")))
    for section in (*COMPARED_SECTIONS, "server"):
        theirs = server_report.get(section)
        if not isinstance(theirs, dict):
            continue
        for key, value in mine[section].items():
            if key in theirs and theirs[key] != value:
                differences.append(Difference(f"[{section}] {key}", value, theirs[key]))
    return differences


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value).lower() if isinstance(value, bool) else repr(value)


def config_drift(config: Config, config_path: str | None, status: dict[str, Any]) -> str | None:
    """A warning (several lines) if the running server's config differs from ``config``, else None.

    ``config_path`` is the file the front end was given (``--config``); without one, the file its
    own lookup found is named. ``status`` is the server's ``status`` reply (a server too old to
    report its config gives None).
    """
    report = status.get("config") if isinstance(status, dict) else None
    if not isinstance(report, dict):
        return None
    differences = config_differences(config, report)
    if not differences:
        return None
    if config_path:
        mine = os.path.abspath(config_path)
    else:
        from omega_core.config import find_config_file

        found = find_config_file()
        mine = str(found) if found is not None else ""
    theirs = report.get("config_file")
    if theirs is None:
        server_file = "an unknown config"
    else:
        server_file = theirs or "the defaults"
    lines = [
        "warning: the running Omega server uses other settings than this front end "
        f"(server: {server_file}; here: {mine or 'the defaults'}):"
    ]
    lines += [f"  {d.key}: server {_show(d.server)}, here {_show(d.here)}" for d in differences]
    command = f"omega server restart --config {mine}" if mine else "omega server restart"
    lines.append(f"  the server's settings apply; to use these instead run: {command}")
    return "\n".join(lines)
