"""Where a server's socket, key, log and pid files live, and how they are made safe.

One server per session directory: the socket name is derived from a hash of the (absolute)
session dir, so two projects get two servers and the path stays far below the ~100-byte limit of
AF_UNIX socket paths. The runtime dir is 0700 and the key file 0600: only the owning user can
connect, and a peer without the key is refused at the handshake.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from omega_core.config import Config
from omega_core.errors import OmegaError

KEY_BYTES = 32
MAX_SOCKET_PATH = 100


class RuntimeDirError(OmegaError):
    code = "unavailable"


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
        """Create the runtime dir 0700 (and refuse one that others could use)."""
        try:
            self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.runtime_dir.stat()
        except OSError as problem:
            raise RuntimeDirError(f"cannot create runtime dir {self.runtime_dir}: {problem.strerror}") from None
        if info.st_uid != os.getuid():
            raise RuntimeDirError(f"runtime dir {self.runtime_dir} belongs to another user; set OMEGA_RUNTIME_DIR")
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(self.runtime_dir, 0o700)

    def create_key(self) -> bytes:
        """A fresh random key in a 0600 file (the server does this once per start)."""
        import secrets  # server side only: a client never loads random/secrets for this

        self.ensure_runtime_dir()
        key = secrets.token_bytes(KEY_BYTES)
        temp = self.key.with_suffix(".key.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key.hex().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.key)
        return key

    def read_key(self) -> bytes | None:
        try:
            text = self.key.read_text(encoding="ascii").strip()
            return bytes.fromhex(text)
        except (OSError, ValueError):
            return None
