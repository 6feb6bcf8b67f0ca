"""Atomic replacement of whole files (index, sidecar): readers see the old file or the new one.

Recipe: write a temporary file in the same directory (so ``os.replace`` is a rename within one file
system), fsync it, rename it over the target, fsync the directory (so the rename itself survives a
power cut). On any failure the target is untouched and the temporary file is removed; an OSError
becomes a StorageError naming the path and the OS's reason (disk full, read-only, permissions).

Temporary files are named ``.<target>.<pid>-<random>.tmp``: they start with "." and end in ".tmp", so
they can never be mistaken for a session's files by a listing (ours or OmegaLLM's), and they name the
process writing them, so the start-up sweep (``sweep``) removes only those whose writer is dead.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omega_core.session.errors import StorageError, storage_error

__all__ = ["StorageError", "FILE_MODE", "atomic_write_bytes", "atomic_write_json", "fsync_dir", "dumps_compact",
           "compact_json_pieces", "stage_new_file", "publish_staged", "discard_staged"]

# Session files hold the user's code, prompts and model answers: private to the user by default.
FILE_MODE = 0o600

# Directory fsync is unsupported on some file systems; these errors mean "cannot", not "failed".
_DIR_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES, errno.EPERM})


def fsync_dir(directory: Path) -> None:
    """Make a rename or a file creation in ``directory`` durable (best effort where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in _DIR_FSYNC_UNSUPPORTED:
            return
        raise storage_error("open the directory", directory, exc) from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise storage_error("sync the directory", directory, exc) from exc
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | Sequence[bytes]) -> None:
    """os.write until everything is written (a regular file may take a short write); ``data`` may
    be pieces, written one after the other (``compact_json_pieces``)."""
    for piece in (data,) if isinstance(data, bytes) else data:
        view = memoryview(piece)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def atomic_write_bytes(path: Path, data: bytes | Sequence[bytes], fsync: bool = True) -> None:
    """Replace ``path`` by ``data`` (bytes, or pieces written in order) atomically; ``fsync=False``
    skips both fsyncs (tests, caches).

    Raises StorageError if the OS refuses; the old file then stays as it was.
    """
    path = Path(path)
    tmp = stage_new_file(path, data, fsync)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        discard_staged(tmp)
        raise storage_error("write", path, exc) from exc
    if fsync:
        fsync_dir(path.parent)


def stage_new_file(path: Path, data: bytes | Sequence[bytes], fsync: bool = True) -> Path:
    """Write ``data`` to a new temporary file beside ``path`` (named as the sweep expects) and
    return it, to be put in place by ``os.replace`` (``atomic_write_bytes``) or by
    ``publish_staged``: a file that must not be seen before others that go with it are written
    (a copied session's log appears last, so a listing never reads a copy without its index)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except OSError as exc:
        raise storage_error("write", path, exc) from exc
    try:
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
    except OSError as exc:
        discard_staged(tmp)
        raise storage_error("write", path, exc) from exc
    finally:
        os.close(fd)
    return tmp


def publish_staged(tmp: Path, path: Path) -> None:
    """Put a staged file in place under ``path``, which must not exist (``FileExistsError``
    otherwise: the staged file is then left to the caller's ``discard_staged``)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise storage_error("write", path, exc) from exc
    discard_staged(tmp)
    fsync_dir(Path(path).parent)


def discard_staged(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""One encoder for every call: ``json.dumps`` with options builds a new one each time (2x slower)."""


def dumps_compact(obj: Any) -> str:
    """JSON as this package writes it: compact, UTF-8 text kept as is, no NaN/Infinity.

    NaN and Infinity are refused (ValueError) because they are not JSON and OmegaLLM's JSON.parse
    would reject the whole file. Text with lone surrogates (not encodable as UTF-8) is written with
    \\u escapes instead, which every JSON reader accepts.
    """
    text = _COMPACT.encode(obj)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text


PIECE_ITEMS = 256
"""Items of a long list or mapping that ``compact_json_pieces`` encodes in one call."""


def compact_json_pieces(obj: Any) -> list[bytes]:
    """``(dumps_compact(obj) + "\\n")`` in UTF-8, as pieces whose concatenation is exactly that.

    Why pieces: the JSON encoder is one C call that keeps the GIL until it is done, and the index
    of a session of 80,000 events (20,000 checkpoints, 2.8 MB) took 42 ms to encode: a worker
    thread rewriting it held every other client of the server for that long. Here a mapping at
    the top is encoded key by key, and a list or mapping under it of more than ``PIECE_ITEMS``
    items that many at a time, so no call lasts long. Anything else is encoded whole. Text with
    lone surrogates falls back to ``dumps_compact`` of the whole (rare: \\u escapes throughout)."""
    if type(obj) is not dict:
        return [(dumps_compact(obj) + "\n").encode("utf-8")]
    texts: list[str] = []
    for number, (key, value) in enumerate(obj.items()):
        head = ("{" if number == 0 else ",") + _COMPACT.encode({key: None})[1:-5]
        if type(value) is list and len(value) > PIECE_ITEMS:
            texts.append(head + "[")
            texts.extend(_group_texts(value, len(value), lambda group: _COMPACT.encode(list(group))[1:-1]))
            texts.append("]")
        elif type(value) is dict and len(value) > PIECE_ITEMS:
            texts.append(head + "{")
            texts.extend(_group_texts(value.items(), len(value), lambda group: _COMPACT.encode(dict(group))[1:-1]))
            texts.append("}")
        else:
            texts.append(head + _COMPACT.encode(value))
    texts.append("}\n" if texts else "{}\n")
    try:
        return [text.encode("utf-8") for text in texts]
    except UnicodeEncodeError:
        return [(dumps_compact(obj) + "\n").encode("utf-8")]


def _group_texts(items: Any, count: int, encode: Any) -> list[str]:
    """The JSON of ``items`` ``PIECE_ITEMS`` at a time (each without its brackets), comma-joined."""
    iterator = iter(items)
    texts = []
    for start in range(0, count, PIECE_ITEMS):
        text = encode(itertools.islice(iterator, PIECE_ITEMS))
        texts.append(text if start == 0 else "," + text)
    return texts


def atomic_write_json(path: Path, obj: Any, fsync: bool = True) -> None:
    """Replace ``path`` by ``obj`` as compact JSON plus a final newline, atomically.

    The JSON is built before any file is touched, so a value that is not JSON (ValueError,
    TypeError: a bug of the caller) leaves the disk as it was. Built in pieces
    (``compact_json_pieces``): a big index is no single long call.
    """
    atomic_write_bytes(path, compact_json_pieces(obj), fsync=fsync)
