"""Configuration: one frozen ``Config`` read from a TOML file, with defaults for every key.

Why this shape:

* Every part of the system (language limits, persistence, server restart policy, TUI) reads its
  numbers from one immutable record, so a value can never change under a running session and a
  config can be passed to a forked backend as plain data.
* The dataclasses are the schema: field names are the TOML keys, type hints are the accepted
  types, field metadata carries the range. Validation walks them, so adding a key is one line and
  ``config.example.toml`` is checked against them by the tests (it cannot drift).
* Errors name the file, the key and what was expected, because a user fixing a config file has
  only that message to go on.
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints

from omega_core import config_files
from omega_core.config_files import default_runtime_dir
from omega_core.errors import ConfigError

__all__ = [
    "Config",
    "ConfigError",
    "EffectsConfig",
    "FsyncPolicy",
    "LanguageConfig",
    "OracleConfig",
    "OracleKind",
    "ServerConfig",
    "SessionConfig",
    "TuiConfig",
    "config_search_paths",
    "default_runtime_dir",
    "load_config",
]

MIB = 1024 * 1024
DEFAULT_SESSION_DIR = "./.omega-session"


class OracleKind(enum.StrEnum):
    """Which oracle answers ``infer.op``; a closed set so a typo is an error, not a default."""

    SCRIPTED = "scripted"
    OPENAI = "openai"


class FsyncPolicy(enum.StrEnum):
    """How hard the log is pushed to disk; each value is a different durability promise.

    ``always``: fsync before acknowledging (survives an OS crash). ``interval``: fsync at most every
    ``fsync_interval_ms`` (an OS crash loses at most that window). ``never``: leave it to the OS.
    A backend crash loses nothing acknowledged under any of them.
    """

    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


def _num(default: int | float, minimum: int | float, *, strict: bool = True) -> Any:
    """A numeric field with a lower bound: ``strict`` means ``> minimum``, else ``>= minimum``.

    Bounds live in metadata so the validator can give one uniform message for every key.
    """
    return field(default=default, metadata={"min": minimum, "strict": strict})


def _positive(default: int | float) -> Any:
    """Budgets, sizes and limits: zero or less would stop everything, so it is an error."""
    return _num(default, 0, strict=True)


def _non_negative(default: int | float) -> Any:
    """Counts and delays where 0 has a meaning (no retries, no delay, never)."""
    return _num(default, 0, strict=False)


def _text(default: str) -> Any:
    """A string that must not be empty (a name or an address an empty value cannot mean)."""
    return field(default=default, metadata={"nonempty": True})


@dataclass(frozen=True)
class LanguageConfig:
    """Limits of the evaluator and reader: they keep one input from taking the machine down."""

    step_budget: int = _positive(50_000_000)
    max_input_chars: int = _positive(1_000_000)
    max_read_depth: int = _positive(10_000)
    max_output_chars: int = _positive(100_000)
    search_samples: int = _positive(3)
    slice_steps: int = _positive(20_000)
    max_memory_mb: int = _positive(512)
    max_integer_bits: int = _positive(65_536)
    max_string_chars: int = _positive(4 * 1024 * 1024)
    slice_ms: float = _positive(2.0)


@dataclass(frozen=True)
class SessionConfig:
    """What a session records: more makes time travel finer, less keeps logs small."""

    periodic_checkpoint_steps: int = _positive(100_000)
    record_steps: bool = True
    max_step_events_per_input: int = _non_negative(1000)


@dataclass(frozen=True)
class EffectsConfig:
    """Effects that touch the host; off by default because session code may come from anywhere."""

    allow_shell: bool = False
    allow_file_read: bool = False
    allow_file_write: bool = False


@dataclass(frozen=True)
class OracleConfig:
    """Who answers LLM effects. The default is offline and deterministic: tests need no key."""

    kind: OracleKind = OracleKind.SCRIPTED
    script: str = ""
    fallback_answer: str = "[scripted oracle fallback: no pattern matched]"
    base_url: str = _text("https://api.openai.com/v1")
    model: str = _text("gpt-4o-mini")
    api_key_env: str = _text("OPENAI_API_KEY")
    timeout_s: float = _positive(30.0)
    retries: int = _non_negative(2)
    retry_backoff_s: float = _non_negative(0.5)
    stream: bool = True
    stream_delay_ms: float = _non_negative(0.0)


@dataclass(frozen=True)
class ServerConfig:
    """Memory, durability and restart policy of the backend (ARCHITECTURE.md sections 1, 3)."""

    max_cached_sessions: int = _positive(64)
    max_memory_mb: int = _positive(256)
    save_interval_ms: int = _non_negative(200)
    index_interval_ms: int = _non_negative(1000)
    fsync: FsyncPolicy = FsyncPolicy.INTERVAL
    fsync_interval_ms: int = _positive(1000)
    idle_shutdown_s: float = _non_negative(600.0)
    max_frame_bytes: int = _positive(8 * MIB)
    restart_backoff_initial_s: float = _positive(0.1)
    restart_backoff_max_s: float = _positive(5.0)
    restart_limit: int = _positive(5)
    restart_window_s: float = _positive(60.0)
    stable_start_s: float = _non_negative(10.0)
    max_client_backlog_mb: float = _positive(16.0)
    frame_stall_timeout_s: float = _positive(30.0)
    max_clients: int = _positive(256)
    max_open_logs: int = _positive(256)
    close_idle_files_s: float = _non_negative(60.0)


@dataclass(frozen=True)
class TuiConfig:
    """Look of the terminal app; only read by omega_tui, kept here so there is one config file."""

    theme: str = _text("textual-dark")


def _empty_keymap() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Config:
    """Everything configurable. ``Config()`` gives the raw defaults; ``load_config`` resolves paths.

    ``keymap`` maps a binding id of the TUI to a key; it is a read-only mapping so the record stays
    immutable (which also makes ``Config`` unhashable, and it need not be hashed).
    """

    session_dir: str = _text(DEFAULT_SESSION_DIR)
    runtime_dir: str = field(default_factory=default_runtime_dir, metadata={"nonempty": True})
    language: LanguageConfig = field(default_factory=LanguageConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    effects: EffectsConfig = field(default_factory=EffectsConfig)
    oracle: OracleConfig = field(default_factory=OracleConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    keymap: Mapping[str, str] = field(default_factory=_empty_keymap)

    @property
    def sessions_dir(self) -> Path:
        """Where the ``<name>.jsonl`` logs live (OmegaLLM's layout: ``<session_dir>/sessions``)."""
        return Path(self.session_dir) / "sessions"


# --------------------------------------------------------------------------------------------
# Lookup


def config_search_paths(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[Path]:
    """The implicit places looked at, in order (used by ``load_config`` and by ``--help`` text)."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    return [Path(path) for path in config_files.config_search_paths(env, str(here))]


def _find_config_file(path: str | Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """First file that exists; a file the user named (flag or ``$OMEGA_CONFIG``) must exist."""
    found = config_files.find_config_path(None if path is None else str(path), env, str(cwd))
    return None if found is None else Path(found)


def _resolve(raw: str, env: Mapping[str, str], cwd: Path) -> Path:
    """Absolute path (``config_files.resolve_path``: ``~`` is the home, relative is to ``cwd``)."""
    return Path(config_files.resolve_path(raw, env, str(cwd)))


# --------------------------------------------------------------------------------------------
# Validation


def _show(value: Any) -> str:
    """A value as the user wrote it in TOML, so the message quotes their own text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _suggest(key: str, known: list[str], fmt: str = "{}") -> str:
    import difflib  # only on a typo: kept out of every start-up

    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {fmt.format(close[0])}?)" if close else ""


def _convert(value: Any, typ: Any, meta: Mapping[str, Any], where: str) -> Any:
    """Check one value against its field's type and bounds; return it in the field's type."""

    raw = value  # quoted in messages as written, before any int -> float conversion

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, got {_show(raw)}")

    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        choices = [m.value for m in typ]
        if isinstance(value, str) and value in choices:
            return typ(value)
        raise fail("one of " + ", ".join(f'"{c}"' for c in choices))
    if typ is bool:
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise fail("a string")
        if meta.get("nonempty") and not value.strip():
            raise fail("a non-empty string")
        return value
    if typ is int or typ is float:
        # bool is an int subclass in Python; in a config file it is never meant as a number.
        ok = isinstance(value, int) or (typ is float and isinstance(value, float))
        noun = "an integer" if typ is int else "a number"
        if isinstance(value, bool) or not ok:
            raise fail(noun)
        if typ is float:
            value = float(value)
            if not math.isfinite(value):
                raise fail("a finite number")
        if "min" in meta:
            low, strict = meta["min"], meta["strict"]
            if (value <= low) if strict else (value < low):
                kind = "integer" if typ is int else "number"
                raise fail(f"a positive {kind}" if strict else f"a non-negative {kind}")
        return value
    raise TypeError(f"config field type {typ!r} has no validator")  # a bug in this module


def _build_section(cls: type, data: Any, where: str, name: str) -> Any:
    """One ``[section]`` table to its dataclass, refusing unknown keys (typos must not pass)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [{name}]: expected a table, got {_show(data)}")
    hints = get_type_hints(cls)
    by_name = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in by_name:
            raise ConfigError(
                f"{where}: unknown key [{name}] {key}{_suggest(key, list(by_name))}"
            )
        values[key] = _convert(value, hints[key], by_name[key].metadata, f"{where}: [{name}] {key}")
    return cls(**values)


def _build_keymap(data: Any, where: str) -> Mapping[str, str]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [keymap]: expected a table, got {_show(data)}")
    keymap: dict[str, str] = {}
    for binding, key in data.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(
                f"{where}: [keymap] {binding}: expected a key name string, got {_show(key)}"
            )
        keymap[binding] = key
    return MappingProxyType(keymap)


_TOP_LEVEL_SCALARS = ("session_dir", "runtime_dir")


def _build_config(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The keyword arguments of ``Config`` from a parsed file (paths still unresolved)."""
    hints = get_type_hints(Config)
    by_name = {f.name: f for f in fields(Config)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in by_name:
            sections = [n for n in by_name if n not in _TOP_LEVEL_SCALARS]
            if isinstance(value, dict):
                raise ConfigError(
                    f"{where}: unknown section [{key}]{_suggest(key, sections, '[{}]')}"
                )
            raise ConfigError(f"{where}: unknown key {key}{_suggest(key, list(by_name))}")
        typ = hints[key]
        if key == "keymap":
            kwargs[key] = _build_keymap(value, where)
        elif is_dataclass(typ):
            kwargs[key] = _build_section(typ, value, where, key)
        else:
            kwargs[key] = _convert(value, typ, by_name[key].metadata, f"{where}: {key}")
    return kwargs


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one file; syntax errors keep tomllib's text and add file and line up front."""
    import tomllib  # only when there is a file to read

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not valid UTF-8 ({exc.reason})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", message)
        line = m.group(1) if m else str(text.count("\n") + 1)
        raise ConfigError(f"{path}, line {line}: invalid TOML: {message}") from exc


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Find, read and check the config; the result has absolute ``session_dir`` and ``runtime_dir``.

    Lookup: ``path`` (``--config``), ``$OMEGA_CONFIG``, ``./omega.toml``, then
    ``$XDG_CONFIG_HOME/omega/config.toml`` (or ``~/.config/omega/config.toml``); the first that
    exists wins, none gives the defaults. ``$OMEGA_SESSION_DIR`` and ``$OMEGA_RUNTIME_DIR`` then
    override the two directories (empty values are ignored). Relative paths (the two directories
    and ``[oracle] script``) are relative to ``cwd``, not to the file, as in OmegaLLM.
    ``environ`` and ``cwd`` default to the process's own; tests pass their own so they never
    depend on the user's machine.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else Path(cwd)
    found = _find_config_file(path, env, here)
    kwargs = _build_config(_read_toml(found), str(found)) if found is not None else {}
    where = str(found) if found is not None else "defaults"

    server = kwargs.get("server", ServerConfig())
    if server.restart_backoff_max_s < server.restart_backoff_initial_s:
        raise ConfigError(
            f"{where}: [server] restart_backoff_max_s: expected at least restart_backoff_initial_s "
            f"({server.restart_backoff_initial_s!r}), got {server.restart_backoff_max_s!r}"
        )

    session_dir = env.get("OMEGA_SESSION_DIR", "") or kwargs.get("session_dir")
    session_dir = session_dir or DEFAULT_SESSION_DIR
    runtime_dir = (
        env.get("OMEGA_RUNTIME_DIR", "") or kwargs.get("runtime_dir") or default_runtime_dir(env)
    )
    kwargs["session_dir"] = str(_resolve(session_dir, env, here))
    kwargs["runtime_dir"] = str(_resolve(runtime_dir, env, here))
    oracle = kwargs.get("oracle")
    if oracle is not None and oracle.script:
        kwargs["oracle"] = replace(oracle, script=str(_resolve(oracle.script, env, here)))
    return Config(**kwargs)



def find_config_file(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """The file ``load_config`` with the same arguments reads (None: defaults), so a server can
    say which file it runs with and a front end can name the file a restart would apply."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    return _find_config_file(path, env, Path.cwd() if cwd is None else Path(cwd))
