"""Where a server's socket, key, log and pid files live, and how they are made safe.

One server per session directory: the socket name is derived from a hash of the (absolute)
session dir, so two projects get two servers and the path stays far below the ~100-byte limit of
AF_UNIX socket paths. The runtime dir is 0700 and the key file 0600: only the owning user can
connect, and a peer without the key is refused at the handshake. What the client trusts (and what
it refuses) is in ``trust``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from omega_core.config import Config
from omega_core.server.trust import CLOEXEC, NO_FOLLOW, check_runtime_dir, make_private_dirs, read_key_file
from omega_core.server.trust import RuntimeDirError, UntrustedPath

KEY_BYTES = 32
MAX_SOCKET_PATH = 100
__all__ = ["KEY_BYTES", "MAX_SOCKET_PATH", "RuntimeDirError", "ServerPaths", "UntrustedPath"]


@dataclass(frozen=True)
class ServerPaths:
    runtime_dir: Path
    socket: Path
    key: Path
    log: Path
    pid: Path
    session_dir: Path
    cause: Path
    """Where a backend that failed at start writes why (the supervisor's give-up message shows it)."""

    @classmethod
    def for_config(cls, config: Config) -> "ServerPaths":
        session_dir = Path(config.session_dir).resolve()
        tag = hashlib.sha256(str(session_dir).encode("utf-8")).hexdigest()[:12]
        runtime = Path(config.runtime_dir)
        socket_path = runtime / f"omega-{tag}.sock"
        if len(str(socket_path).encode()) > MAX_SOCKET_PATH:
            raise RuntimeDirError(
                f"runtime dir path too long for a socket ({len(str(socket_path))} bytes): set "
                "runtime_dir (or OMEGA_RUNTIME_DIR) to a shorter directory such as /tmp/omega"
            )
        return cls(runtime, socket_path, runtime / f"omega-{tag}.key", runtime / f"omega-{tag}.log",
                   runtime / f"omega-{tag}.pid", session_dir, runtime / f"omega-{tag}.cause")

    def ensure_runtime_dir(self) -> None:
        """Create the runtime dir 0700 if absent (no link followed) and refuse one that is not ours,
        is a link, or is open to others. An existing dir is never chmodded: its owner decides."""
        try:
            make_private_dirs(self.runtime_dir)
        except OSError as problem:
            raise RuntimeDirError(f"cannot create runtime dir {self.runtime_dir}: {problem.strerror}") from None

    def check_trusted(self) -> None:
        """The client's check before it uses anything here (``trust`` module docstring).
        FileNotFoundError if the runtime dir does not exist (no server ever ran here)."""
        check_runtime_dir(self.runtime_dir)

    def create_key(self) -> bytes:
        """A fresh random key in a 0600 file (the server does this once per start). The temporary
        file is created with O_EXCL | O_NOFOLLOW, so nothing planted at its name is followed."""
        import secrets  # server side only: a client never loads random/secrets for this

        self.ensure_runtime_dir()
        key = secrets.token_bytes(KEY_BYTES)
        temp = self.runtime_dir / f".{self.key.name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW | CLOEXEC, 0o600)
        try:
            os.write(fd, key.hex().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.key)
        return key

    def read_key(self) -> bytes | None:
        """The key, or None if there is none (or it is not a key). Raises ``UntrustedPath`` if the
        runtime dir or the key file could be someone else's (checked before reading)."""
        return read_key_file(self.runtime_dir, self.key)

    def write_pid(self, pid: int) -> None:
        """Write the pid file (no link followed: a planted link cannot redirect the write)."""
        fd = os.open(self.pid, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW | CLOEXEC, 0o600)
        try:
            os.write(fd, str(pid).encode("ascii"))
        finally:
            os.close(fd)
