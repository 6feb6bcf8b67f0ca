"""Starting a server in the background, and finding the one that runs.

The first front end that finds no server starts one with ``start_detached``: a supervisor process in
its own session (``start_new_session``), so it outlives the front end and a Ctrl-C in the terminal
never reaches it. Its stdout/stderr are appended to the server log, which is where a user looks
when it does not come up (every "cannot connect" message names that file).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from omega_core.config import Config
from omega_core.server.paths import ServerPaths
from omega_core.server.trust import CLOEXEC, NO_FOLLOW

SUPERVISOR_MODULE = "omega_core.server.supervisor"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The directory holding ``omega_core``: put on the child's PYTHONPATH so ``-m`` finds the package
even when it runs from a checkout that is not installed."""


def supervisor_command(config: Config, config_path: str | None = None) -> list[str]:
    """The argument vector of a supervisor for ``config`` (absolute directories)."""
    session_dir = str(Path(config.session_dir).resolve())
    runtime_dir = os.path.abspath(config.runtime_dir)  # not resolve(): a link there must be seen (and refused)
    command = [sys.executable, "-m", SUPERVISOR_MODULE, "--session-dir", session_dir, "--runtime-dir", runtime_dir]
    if config_path:
        command += ["--config", str(Path(config_path).resolve())]
    return command


def start_detached(config: Config, config_path: str | None = None) -> int:
    """Start a supervisor for ``config`` in the background and return its pid (it is not waited for)."""
    import subprocess  # here, not at the top: a client that finds a server running never needs it

    paths = ServerPaths.for_config(config)
    paths.ensure_runtime_dir()
    command = supervisor_command(config, config_path)
    env = dict(os.environ)
    env["OMEGA_SESSION_DIR"] = command[command.index("--session-dir") + 1]
    env["OMEGA_RUNTIME_DIR"] = command[command.index("--runtime-dir") + 1]
    python_path = [str(_PROJECT_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
    log_fd = os.open(paths.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NO_FOLLOW | CLOEXEC, 0o600)
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
    finally:
        os.close(log_fd)
    return process.pid


def wait_until_ready(paths: ServerPaths, timeout_s: float) -> bool:
    """Poll until the server's socket and key files exist (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        if paths.socket.exists() and paths.key.exists():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)


def wait_until_serving(paths: ServerPaths, pid: int, timeout_s: float) -> bool:
    """Wait until the supervisor ``pid`` we started has written the pid file (it listens, and the
    key is fresh, by then) (True), or it died or ``timeout_s`` passed (False). A socket and key
    file left by a killed server exist at once, so waiting for them would not do."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        if server_pid(paths) == pid:
            return True
        if not _pid_alive(pid) or time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs. A child of ours that exited is reaped here; any other zombie (state Z
    in /proc/PID/stat: dead, its parent has not reaped it yet) counts as dead too."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: only os.kill can tell
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return process_state(pid) not in ("Z", "X", None)


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` from /proc (R, S, Z ...), None if it is gone; "?" without /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else "?"
    except OSError:
        return "?"
    fields = text.rpartition(")")[2].split()  # the command name in (...) may hold spaces
    return fields[0] if fields else "?"


def is_supervisor(pid: int) -> bool:
    """True if ``pid``'s command line is an Omega supervisor's (or its forked backend's): a pid file
    naming a pid since reused by another program is stale. True when /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")
    except OSError:
        return True
    return SUPERVISOR_MODULE.encode() in words


def server_pid(paths: ServerPaths) -> int | None:
    """The supervisor's pid from the pid file if that process is alive (not a zombie) and is an
    Omega supervisor; None for a missing or stale pid file."""
    try:
        text = paths.pid.read_text(encoding="ascii").strip()
        pid = int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 0:
        return None
    return pid if _pid_alive(pid) and is_supervisor(pid) else None


def pid_alive(pid: int) -> bool:
    return _pid_alive(pid)


@contextlib.contextmanager
def start_lock(paths: ServerPaths) -> Iterator[None]:
    """Serialise "is a server there? if not, start one" across front ends of one session dir.

    Two front ends started at once would otherwise both start a supervisor. The lock is an
    ``flock`` on a file next to the pid file, released when the block ends (or the process dies).
    """
    paths.ensure_runtime_dir()
    lock_path = paths.pid.with_suffix(".startlock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | NO_FOLLOW | CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
