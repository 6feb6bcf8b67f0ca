"""Trust on the local transport, as ssh's StrictModes: use a runtime dir, key file or socket only if
the current user owns it, it is not a symbolic link, and it gives no access to group or others.

Why: the runtime dir is where the client finds the key and the socket. Another local user who
could create that dir (or a file in it) first could plant a key of their own and listen on the
socket path, and the client would hand them the user's code. What such a user cannot fake is
ownership: only root can give a file away, so a dir that is ours, not a link and closed to others
cannot hold anything we did not put there. The client therefore checks the dir (lstat) before it
reads the key (``O_NOFOLLOW`` then ``fstat``) and the socket (lstat) before connecting, and refuses
before sending a byte, saying which path, what is wrong and how to fix it.

The directories above the runtime dir must not let others replace it: each is owned by root or by
us, and one that others may write to must carry the sticky bit (as /tmp does).
"""

from __future__ import annotations

import errno
import os
import stat

from omega_core.errors import OmegaError

# Paths are handled as text (os.path), not pathlib: every ``omega --batch`` runs these checks, and
# pathlib (with fnmatch, urllib.parse, ipaddress) costs more to import than the checks themselves.


class RuntimeDirError(OmegaError):
    """The runtime dir cannot be used (too long a path, cannot be created, or untrusted)."""

    code = "unavailable"

DIR_FIX = "remove it or set OMEGA_RUNTIME_DIR to a directory you own with mode 0700"
PARENT_FIX = ("set OMEGA_RUNTIME_DIR to a directory you own with mode 0700 whose parents only you or root "
              "can change")
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UntrustedPath(RuntimeDirError):
    """A runtime dir, key file or socket that another user could control: refused, never used."""

    code = "unavailable"

    def __init__(self, path: os.PathLike[str] | str, problem: str, fix: str) -> None:
        from pathlib import Path  # only when refusing: kept out of the client's start-up

        super().__init__(f"refusing {path}: {problem}; {fix}")
        self.path = Path(path)


def _you() -> str:
    return f"you (uid {os.getuid()})"


def _check_owner_and_mode(path: os.PathLike[str] | str, info: os.stat_result, fix: str, closed_bits: int = 0o077) -> None:
    if info.st_uid != os.getuid():
        raise UntrustedPath(path, f"owned by uid {info.st_uid}, not {_you()}", fix)
    mode = stat.S_IMODE(info.st_mode)
    if mode & closed_bits:
        raise UntrustedPath(path, f"mode {mode:04o} gives access to group or others", fix)


def _link_target(path: os.PathLike[str] | str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _parents(path: str) -> list[str]:
    """``Path(path).parents`` of an absolute, normalised ``path`` as text: nearest first, ``/`` last."""
    parents = []
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return parents
        parents.append(parent)
        path = parent


def check_ancestors(directory: os.PathLike[str] | str) -> None:
    """Every directory above ``directory`` must be owned by root or us, and sticky if others can
    write to it: otherwise its owner could swap our runtime dir for theirs after we checked it."""
    absolute = os.path.abspath(directory)
    for prefix in _parents(absolute):  # a link on the way is followed at every use: it must be trusted too
        try:
            info = os.lstat(prefix)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in (0, os.getuid()):
            raise UntrustedPath(prefix, f"(on the way to the runtime dir {directory}) is a symbolic link owned by "
                                f"uid {info.st_uid}, not {_you()} or root", PARENT_FIX)
    try:
        here = os.path.realpath(os.path.dirname(absolute))
    except OSError:
        return
    for ancestor in (here, *_parents(here)):
        try:
            info = os.stat(ancestor)
        except OSError:
            continue  # not there yet: the server creates it
        if info.st_uid not in (0, os.getuid()):
            raise UntrustedPath(ancestor, f"(a parent of the runtime dir {directory}) is owned by uid "
                                f"{info.st_uid}, not {_you()} or root", PARENT_FIX)
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            raise UntrustedPath(ancestor, f"(a parent of the runtime dir {directory}) is writable by group or "
                                f"others (mode {stat.S_IMODE(info.st_mode):04o}) without the sticky bit",
                                f"run chmod go-w {ancestor}, or {PARENT_FIX}")


def check_runtime_dir(directory: os.PathLike[str] | str) -> None:
    """The runtime dir is ours, a real directory and 0700 (or stricter). FileNotFoundError if absent."""
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode):
        raise UntrustedPath(directory, f"it is a symbolic link (to {_link_target(directory)})", DIR_FIX)
    if not stat.S_ISDIR(info.st_mode):
        raise UntrustedPath(directory, "it is not a directory", DIR_FIX)
    _check_owner_and_mode(directory, info, DIR_FIX)
    check_ancestors(directory)


def read_private_file(path: os.PathLike[str] | str, limit: int = 4096) -> bytes:
    """The bytes of a file that is ours, regular and 0600 (checked on the open descriptor, so it
    cannot be swapped between check and read). FileNotFoundError if it is absent."""
    fix = f"remove it (the server writes a new one when it starts: omega server restart) or run chmod 600 {path}"
    try:
        fd = os.open(path, os.O_RDONLY | NO_FOLLOW | CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError as problem:
        if problem.errno == errno.ELOOP or os.path.islink(path):
            raise UntrustedPath(path, f"it is a symbolic link (to {_link_target(path)})", fix) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedPath(path, "it is not a regular file", fix)
        _check_owner_and_mode(path, info, fix)
        return os.read(fd, limit)
    finally:
        os.close(fd)


def check_socket(path: os.PathLike[str] | str) -> None:
    """The socket is ours, a socket (not a link) and nobody else may connect to it (no group/other
    write bit: read and execute bits grant nothing on a socket). FileNotFoundError if absent."""
    info = os.lstat(path)
    fix = f"stop whatever listens there, remove {path} and start the server again (omega server start)"
    if stat.S_ISLNK(info.st_mode):
        raise UntrustedPath(path, f"it is a symbolic link (to {_link_target(path)})", fix)
    if not stat.S_ISSOCK(info.st_mode):
        raise UntrustedPath(path, "it is not a socket", fix)
    _check_owner_and_mode(path, info, fix, closed_bits=0o022)  # connecting to a socket needs write access


def make_private_dirs(directory: os.PathLike[str] | str) -> bool:
    """Create ``directory`` (and missing parents) with mode 0700 without following a link at its
    own path; True if this call created it. Never chmods: a dir that exists is checked, not fixed."""
    directory = os.path.normpath(os.path.abspath(directory))
    missing = []
    for ancestor in (directory, *_parents(directory)):
        if os.path.lexists(ancestor):
            break
        missing.append(ancestor)
    created = False
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)  # mkdir never follows a link at the last component
            created = path == directory
        except FileExistsError:
            created = False
    check_runtime_dir(directory)
    return created


def read_key_file(runtime_dir: os.PathLike[str] | str, key_path: os.PathLike[str] | str) -> bytes | None:
    """The server's key from ``key_path`` (hex text), or None if there is none (or it is not a key).
    Raises ``UntrustedPath`` if the runtime dir or the key file could be someone else's (checked
    before reading)."""
    try:
        check_runtime_dir(runtime_dir)
        text = read_private_file(key_path).decode("ascii").strip()
        return bytes.fromhex(text)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
