"""What a batch client needs of the configuration, remembered between runs.

Why a cache: ``omega --batch FILE`` through a running server needs only a few settings (where the
socket and key are, the frame limit, and what of the config the server must agree with), but
reading them the normal way loads the config schema (dataclasses, ``tomllib``, pathlib), which
alone costs more than twice Python's own start-up (issue 13; ``bench/cli.py``). So the first run
loads the config in full (``load_config``, every check and error message as usual) and writes what
the client needs to ``client-settings.json``; later runs read that instead, as long as nothing it
was derived from changed:

* the config file that applies (found by the same lookup, ``config_files.find_config_path``) and
  its identity and contents as ``stat`` sees them (inode, size, modification and change times);
* the environment variables and working directory the lookup and the paths depend on;
* the version of the code that derived them (``omega_core`` version, and the modification times
  of the modules that hold the defaults, the paths and the compared settings);
* where the session dir's symbolic links lead (the socket is named after the resolved session
  dir), checked with ``os.path.realpath`` on every use.

Any doubt (no cache, another key, a file that cannot be read or trusted) means a full load; the
cache is only ever a shortcut to the same values. It lives in the runtime dir the environment
names (``$OMEGA_RUNTIME_DIR`` or the default one, 0700 and checked like the key file): a cache
another user could write would tell the client where to connect.
"""

from __future__ import annotations

import json
import os

from omega_core import __version__
from omega_core.config_files import default_runtime_dir, find_config_path, resolve_path
from omega_core.server.trust import (CLOEXEC, NO_FOLLOW, UntrustedPath, check_runtime_dir, make_private_dirs,
                                     read_private_file)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from omega_core.config import Config
    from omega_core.server.paths import ServerPaths

CACHE_FILE = "client-settings.json"
CACHE_FORMAT = 1
MAX_CACHE_BYTES = 1 << 20
MAX_ENTRIES = 16
"""Settings of this many (config file, directory, environment) combinations are kept, newest first."""
ENVIRONMENT_KEYS = ("OMEGA_CONFIG", "OMEGA_SESSION_DIR", "OMEGA_RUNTIME_DIR", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME",
                    "XDG_CONFIG_HOME", "HOME")
"""What ``load_config`` and ``ServerPaths`` read from the environment."""
CODE_MODULES = ("config.py", "config_files.py", "server/paths.py", "server/config_report.py")
"""Sources (under ``omega_core``) of what is cached: defaults, derived paths, compared settings."""
PATH_FIELDS = ("runtime_dir", "socket", "key", "log", "pid", "session_dir", "cause")
"""``ServerPaths``'s fields, kept as text."""


class ClientPaths:
    """``ServerPaths`` as text (read-only): what dialing needs, without pathlib or dataclasses.
    ``server_paths()`` gives the full record for the rare messages that need it (a server's pid)."""

    __slots__ = PATH_FIELDS

    runtime_dir: str
    socket: str
    key: str
    log: str
    pid: str
    session_dir: str
    cause: str

    def __init__(self, fields: Mapping[str, str]) -> None:
        for name in PATH_FIELDS:
            object.__setattr__(self, name, str(fields[name]))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ClientPaths is read-only ({name})")

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in PATH_FIELDS}

    def server_paths(self) -> ServerPaths:
        from pathlib import Path

        from omega_core.server.paths import ServerPaths

        return ServerPaths(**{name: Path(value) for name, value in self.as_dict().items()})


class ClientSettings:
    """The settings one batch run uses; ``config`` is the full ``Config`` when it was loaded (a cache
    miss), None when they came from the cache (``full_config`` loads it on demand, for the same
    ``config_path``, environment and directory)."""

    __slots__ = ("paths", "max_frame_bytes", "report", "config_path", "environ", "cwd", "config")

    def __init__(self, paths: ClientPaths, max_frame_bytes: int, report: dict[str, Any], config_path: str | None,
                 environ: Mapping[str, str], cwd: str, config: Config | None = None) -> None:
        self.paths = paths
        self.max_frame_bytes = max_frame_bytes
        self.report = report
        """``config_report.effective_config(config, "")``: what the server's settings are compared with."""
        self.config_path = config_path
        self.environ = environ
        self.cwd = cwd
        self.config = config

    def full_config(self) -> Config:
        """The whole ``Config`` (loaded now if the settings came from the cache)."""
        if self.config is None:
            from pathlib import Path

            from omega_core.config import load_config

            self.config = load_config(self.config_path, self.environ, Path(self.cwd))
        return self.config

    def agrees_with(self, server_report: Any) -> bool:
        """True if the server's ``effective_config`` report is this config's exactly (the config file
        aside): then there is no difference to warn about. False leaves the exact comparison to
        ``config_report.config_drift``."""
        if not isinstance(server_report, dict):
            return True  # a server too old to report its config: nothing to compare
        mine = {key: value for key, value in self.report.items() if key != "config_file"}
        return mine == {key: value for key, value in server_report.items() if key != "config_file"}


def client_settings(config_path: str | None, environ: Mapping[str, str] | None = None,
                    cwd: str | None = None) -> ClientSettings:
    """The settings for a client given ``--config config_path`` (None: the usual lookup), from the
    cache if it holds them for the same inputs, else from a full ``load_config`` (then cached).
    Raises what ``load_config`` raises (``ConfigError``, ``RuntimeDirError``) for a bad config."""
    env = os.environ if environ is None else environ
    here = os.getcwd() if cwd is None else cwd
    found = find_config_path(config_path, env, here)
    key = _cache_key(found, env, here)
    cache_path = _cache_path(env, here)
    cached = _read_entries(cache_path)
    for entry in cached:
        if entry.get("key") == key:
            try:
                settings = _from_json(entry["settings"], config_path, env, here)
                if os.path.realpath(entry["settings"]["session_dir"]) == settings.paths.session_dir:
                    return settings
            except (KeyError, TypeError, ValueError):
                pass  # damaged: load and write it again
            break  # or the session dir's links lead elsewhere now
    settings = _load(config_path, env, here)
    assert settings.config is not None
    fresh = {"key": key, "settings": {**_to_json(settings), "session_dir": settings.config.session_dir}}
    _write_entries(cache_path, [fresh, *(entry for entry in cached if entry.get("key") != key)][:MAX_ENTRIES])
    return settings


def _load(config_path: str | None, env: Mapping[str, str], cwd: str) -> ClientSettings:
    """The settings the long way: ``load_config`` with all its checks."""
    from pathlib import Path

    from omega_core.config import load_config
    from omega_core.server.config_report import effective_config
    from omega_core.server.paths import ServerPaths

    config = load_config(config_path, env, Path(cwd))
    server_paths = ServerPaths.for_config(config)
    paths = ClientPaths({name: str(getattr(server_paths, name)) for name in PATH_FIELDS})
    # Through JSON once, so a fresh load and a cached one compare with the server's report alike.
    report = json.loads(json.dumps(effective_config(config, "")))
    return ClientSettings(paths, config.server.max_frame_bytes, report, config_path, env, cwd, config)


def _to_json(settings: ClientSettings) -> dict[str, Any]:
    return {"paths": settings.paths.as_dict(), "max_frame_bytes": settings.max_frame_bytes,
            "report": settings.report}


def _from_json(data: Any, config_path: str | None, env: Mapping[str, str], cwd: str) -> ClientSettings:
    frame_limit = data["max_frame_bytes"]
    if not isinstance(frame_limit, int) or isinstance(frame_limit, bool) or not isinstance(data["report"], dict):
        raise ValueError("damaged client settings")
    return ClientSettings(ClientPaths(data["paths"]), frame_limit, data["report"], config_path, env, cwd)


def _file_identity(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _cache_key(found: str | None, env: Mapping[str, str], cwd: str) -> list[Any]:
    """Everything the cached settings were derived from (see the module docstring)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = [_file_identity(os.path.join(package, module)) for module in CODE_MODULES]
    return [CACHE_FORMAT, __version__, code, os.getuid(), cwd, [env.get(name) for name in ENVIRONMENT_KEYS],
            found, None if found is None else _file_identity(found)]


def _cache_path(env: Mapping[str, str], cwd: str) -> str:
    """In the runtime dir the environment names (not one a config file names: the cache must be
    found before any config file is read)."""
    runtime = env.get("OMEGA_RUNTIME_DIR", "") or default_runtime_dir(env)
    return os.path.join(resolve_path(runtime, env, cwd), CACHE_FILE)


def _read_entries(cache_path: str) -> list[dict[str, Any]]:
    """The cached entries; [] if there are none or the file is missing, damaged or not trusted."""
    try:
        check_runtime_dir(os.path.dirname(cache_path))
        data = json.loads(read_private_file(cache_path, MAX_CACHE_BYTES))
    except (OSError, ValueError, UntrustedPath):  # none yet, damaged, or not ours: no cache
        return []
    entries = data.get("entries") if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else None
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


def _write_entries(cache_path: str, entries: list[dict[str, Any]]) -> None:
    """Replace the cache file (atomically: a reader sees the old file or the new one). A failure
    only means the next run loads the config in full again, so it is not reported."""
    directory = os.path.dirname(cache_path)
    temporary = os.path.join(directory, f".{CACHE_FILE}.{os.getpid()}.tmp")
    try:
        make_private_dirs(directory)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW | CLOEXEC, 0o600)
        with open(fd, "wb") as handle:
            handle.write(json.dumps({"format": CACHE_FORMAT, "entries": entries}).encode("utf-8"))
        os.replace(temporary, cache_path)
    except (OSError, UntrustedPath):  # the cache stays as it was
        try:
            os.unlink(temporary)
        except OSError:
            pass
