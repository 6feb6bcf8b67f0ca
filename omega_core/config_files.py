"""Where the configuration comes from: the file ``load_config`` reads and the paths it resolves,
as plain text and ``os.path`` (no pathlib, no dataclasses).

Why apart from ``config``: the thin batch client (``omega --batch`` through a running server)
must know which config file applies (to find its cached settings, see
``omega_core.server.client_settings``) without importing the config schema, whose dataclasses cost
more than the rest of the client's start-up. ``config`` uses these same functions, so there is one
lookup, not two that could disagree.
"""

from __future__ import annotations

import os

from omega_core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping

SOCKET_NAME_BYTES = len("/omega-123456789abc.sock")
"""What ``ServerPaths`` appends to the runtime dir for the socket (AF_UNIX paths stop near 100 bytes)."""


def home_dir(environ: Mapping[str, str]) -> str:
    """``$HOME``, else the password database's home (what ``Path.home()`` gives)."""
    return environ.get("HOME", "") or os.path.expanduser("~")


def default_runtime_dir(environ: Mapping[str, str] | None = None) -> str:
    """Where the socket and key live: a per-user directory no other user can create first.

    ``$XDG_RUNTIME_DIR/omega`` (a 0700 dir the system makes per login), else ``omega/run`` under the
    user's cache dir (``$XDG_CACHE_HOME`` or ``~/.cache``): inside the home, so another user cannot
    pre-empt it as they could a fixed name in /tmp. A home so long that the socket path would pass
    ~100 bytes falls back to ``/tmp/omega-<uid>``; there the client's checks (owner, no link, 0700)
    turn a dir planted by someone else into a refusal that names it, never into a connection.
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg:
        return os.path.join(os.path.normpath(xdg), "omega")
    cache = env.get("XDG_CACHE_HOME", "")
    base = os.path.normpath(cache) if cache and os.path.isabs(cache) else os.path.join(
        os.path.normpath(home_dir(env)), ".cache")
    candidate = os.path.join(base, "omega", "run")
    if len(candidate.encode()) + SOCKET_NAME_BYTES <= 100:
        return candidate
    return f"/tmp/omega-{os.getuid()}"


def config_search_paths(environ: Mapping[str, str], cwd: str) -> list[str]:
    """The implicit places looked at, in order: ``./omega.toml``, then the user's config dir."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    user_dir = xdg if xdg else os.path.join(home_dir(environ), ".config")
    return [os.path.join(cwd, "omega.toml"), os.path.join(user_dir, "omega", "config.toml")]


def resolve_path(raw: str, environ: Mapping[str, str], cwd: str) -> str:
    """Absolute path: ``~`` is the user's home, relative paths are relative to ``cwd``.

    Resolving once here means a server started from another directory still finds the same
    session dir, and the socket path derived from it is stable.
    """
    path = raw
    if raw == "~" or raw.startswith("~/"):
        path = os.path.join(home_dir(environ), raw[2:])
    if not os.path.isabs(path):
        path = os.path.join(cwd, path)
    return os.path.normpath(path)


def find_config_path(named: str | None, environ: Mapping[str, str], cwd: str) -> str | None:
    """First file that exists (None: the defaults apply); a file the user named (``named``, from
    ``--config``, or ``$OMEGA_CONFIG``) must exist, else ``ConfigError`` says who named it."""
    origin, name = ("--config", str(named)) if named is not None else ("OMEGA_CONFIG", "")
    name = name or environ.get("OMEGA_CONFIG", "")
    if name:
        candidate = resolve_path(name, environ, cwd)
        if not os.path.isfile(candidate):
            raise ConfigError(f"{name}: config file not found (named by {origin})")
        return candidate
    return next((path for path in config_search_paths(environ, cwd) if os.path.isfile(path)), None)
