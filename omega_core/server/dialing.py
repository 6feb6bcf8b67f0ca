"""Reaching the server's socket: dialing with the key handshake, starting a server, and the
messages that say what went wrong, where, and what to run. ``ClientTransport`` retries around these."""

from __future__ import annotations

import _socket
import contextlib
import os
import time

from omega_core.server.trust import check_runtime_dir, check_socket, read_key_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from omega_core.config import Config
    from omega_core.server.paths import ServerPaths
    from omega_core.server.client_settings import ClientPaths

# Light on purpose: ``omega --batch`` dials through here on every run. ``launcher`` (and the config,
# pathlib, subprocess behind it) is imported only to start a server or to name one in a message;
# the socket is the C ``_socket.socket`` that ``socket.socket`` subclasses, without the ``socket``
# module's import cost (enum conversions, ``selectors``); a dial needs none of what it adds.

# The client's end of multiprocess.connection in plain standard library (same frames and handshake
# on the wire, see wire.py): a thin client starts without importing multiprocess and dill.
from omega_core.server.wire import AuthenticationError, SocketConnection, answer_challenge, deliver_challenge

BREAK_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError)
"""A broken connection: EOFError from recv, OSError covers BrokenPipeError and ConnectionResetError."""


BACKOFF_INITIAL_S = 0.05
BACKOFF_MAX_S = 1.0
"""Retries of a dial double their wait from the first figure up to the second."""
KEY_REFUSED_GRACE_S = 0.5


class KeyRefusals:
    """The rule for a key the server refused, shared by ``OmegaClient`` and ``ThinClient``: a
    server that is just starting may bind before its new key is in the file, so a refusal is
    retried at once when the key file changed, and given up only when the same key stays refused
    for ``KEY_REFUSED_GRACE_S``."""

    def __init__(self) -> None:
        self.since: float | None = None

    def retry_at_once(self, refused_key: bytes, key_now: bytes | None) -> bool:
        """True when the key file changed since the refused dial: dial again without waiting."""
        if self.since is None:
            self.since = time.monotonic()
        return key_now != refused_key

    def given_up(self) -> bool:
        """True when the same key has been refused for the whole grace period: a real mismatch."""
        return self.since is not None and time.monotonic() - self.since >= KEY_REFUSED_GRACE_S


class NoServer(Exception):
    """Nothing listens (socket or key file missing, connection refused)."""


class KeyRefused(Exception):
    """The handshake failed: the server and we hold different keys."""


def dial(paths: ServerPaths | ClientPaths, deadline: float) -> SocketConnection:
    """Connect and run multiprocess's mutual challenge handshake (what
    ``multiprocess.connection.Client(path, "AF_UNIX", authkey=key)`` does) with a time limit, so
    a server that accepts but never greets cannot hang the front end.

    Before anything is sent the runtime dir, the key file and the socket are checked (``trust``):
    one that another user could control raises ``UntrustedPath`` and nothing is connected."""
    try:
        check_runtime_dir(paths.runtime_dir)
    except (FileNotFoundError, NotADirectoryError):
        raise NoServer(f"no runtime dir {paths.runtime_dir}") from None
    key = read_key_file(paths.runtime_dir, paths.key)
    if key is None:
        raise NoServer(f"no key file {paths.key}")
    try:
        check_socket(paths.socket)
    except (FileNotFoundError, NotADirectoryError):
        raise NoServer(f"no socket {paths.socket}") from None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.connect(str(paths.socket))
        sock.setblocking(True)
    except (FileNotFoundError, ConnectionRefusedError) as problem:
        sock.close()
        raise NoServer(f"connection refused ({problem.strerror})") from None
    except TimeoutError:  # what socket.timeout is since Python 3.10
        sock.close()
        raise TimeoutError("the server did not accept the connection") from None
    except OSError:
        sock.close()
        raise
    conn = SocketConnection(sock)
    try:
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            raise TimeoutError("the server accepted the connection but did not start the handshake")
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
    except AuthenticationError:
        conn.close()
        raise KeyRefused(key) from None
    except BaseException:
        conn.close()
        raise
    return conn


def autostart(config: Config, config_path: str | None, deadline: float) -> int | None:
    """Start a server unless one is (being) started; the pid if this call started it. Callers
    retry (dial, then this again) until their ``connect_timeout_s``: a server killed meanwhile
    is replaced by the next call."""
    from omega_core.server import launcher
    from omega_core.server.paths import ServerPaths
    from omega_core.server.client_settings import ClientPaths

    paths = ServerPaths.for_config(config)
    with launcher.start_lock(paths):
        with contextlib.suppress(NoServer, KeyRefused, TimeoutError, AssertionError, *BREAK_ERRORS):
            dial(paths, min(deadline, time.monotonic() + 0.5)).close()
            return None  # another front end started one meanwhile
        if launcher.server_pid(paths) is not None:  # a live supervisor (its backend may be restarting)
            launcher.wait_until_ready(paths, max(0.0, deadline - time.monotonic()))
            return None
        # none, or a stale pid file (dead, zombie, or another program's pid): start one
        started = launcher.start_detached(config, config_path)
        launcher.wait_until_serving(paths, started, max(0.0, deadline - time.monotonic()))
        return started


def where(paths: ServerPaths) -> str:
    return f"session dir {paths.session_dir}, socket {paths.socket}"


def no_server_message(paths: ServerPaths, detail: str) -> str:
    return (
        f"no Omega server is running ({where(paths)}: {detail}). Start one with "
        f"`omega server start` or check `omega server status`; server log: {paths.log}"
    )


def timeout_message(paths: ServerPaths, timeout_s: float, last: BaseException | None) -> str:
    from omega_core.server import launcher

    pid = launcher.server_pid(paths)
    running = f"; a server process (pid {pid}) exists but does not answer" if pid else ""
    detail = f" ({last})" if last is not None and str(last) else ""
    return (
        f"could not connect to the Omega server within {timeout_s:g} s "
        f"({where(paths)}){detail}{running}. Check `omega server status` and the server log "
        f"{paths.log}"
    )


def died_at_start_message(paths: ServerPaths, pid: int) -> str:
    tail = log_tail(paths.log)
    return (
        f"the Omega server (pid {pid}) exited while starting ({where(paths)}). "
        f"Server log {paths.log}" + (f", last lines:\n{tail}" if tail else "")
    )


def key_refused_message(paths: ServerPaths) -> str:
    from omega_core.server import launcher

    pid = launcher.server_pid(paths)
    hint = f" (or stop it: kill {pid})" if pid else ""
    return (
        f"the server refused our key: was the key file replaced? try omega server restart{hint} "
        f"(key file {paths.key}, socket {paths.socket}, server log {paths.log})"
    )


def log_tail(path: os.PathLike[str] | str, lines: int = 5) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
