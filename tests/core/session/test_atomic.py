"""Atomic file replacement: the old file survives every failure, errors name path and reason."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.errors import OmegaError
from omega_core.session import atomic
from omega_core.session.atomic import StorageError, atomic_write_bytes, atomic_write_json


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "x.index.json"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, b"two", fsync=False)
    assert target.read_bytes() == b"two"
    assert leftovers(tmp_path) == []
    assert target.stat().st_mode & 0o777 == 0o600


def test_json_is_compact_utf8_with_newline(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"a": [1, 2], "t": "\u00e9\u2028"})
    assert target.read_bytes() == '{"a":[1,2],"t":"\u00e9\u2028"}\n'.encode()


def test_lone_surrogates_are_escaped(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"t": "a\ud800b"})
    assert json.loads(target.read_bytes()) == {"t": "a\ud800b"}


def test_nan_is_refused_before_touching_the_disk(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_bytes(b"old")
    with pytest.raises(ValueError):
        atomic_write_json(target, {"x": float("nan")})
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_failed_rename_keeps_old_file_and_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.index.json"
    target.write_bytes(b"old")

    def refuse(src: Any, dst: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StorageError) as info:
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []
    assert str(target) in info.value.message
    assert "Input/output error" in info.value.message
    assert info.value.code == "unavailable"
    assert isinstance(info.value, OmegaError)


def test_disk_full_during_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.index.json"
    target.write_bytes(b"old")
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:3]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(StorageError) as info:
        atomic_write_bytes(target, b"0123456789")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []
    assert info.value.os_errno == errno.ENOSPC
    assert "No space left on device" in info.value.message
    assert "disk is full" in info.value.message


def test_read_only_file_system_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.index.json"
    target.write_bytes(b"old")

    def erofs(*args: Any, **kwargs: Any) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "open", erofs)
    with pytest.raises(StorageError) as info:
        atomic_write_json(target, {"a": 1})
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert "Read-only file system" in info.value.message
    assert str(target) in info.value.message


def test_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    target = directory / "x.index.json"
    target.write_bytes(b"old")
    directory.chmod(0o500)
    try:
        if os.access(directory, os.W_OK):
            pytest.skip("running with privileges that ignore directory permissions")
        with pytest.raises(StorageError) as info:
            atomic_write_bytes(target, b"new")
        assert "Permission denied" in info.value.message
        assert target.read_bytes() == b"old"
    finally:
        directory.chmod(0o700)


def test_directory_fsync_unsupported_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic.atomic_write_bytes(tmp_path / "x", b"data")
    assert (tmp_path / "x").read_bytes() == b"data"


_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_JSON_VALUES = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=5)
                            | st.dictionaries(st.text(max_size=5), inner, max_size=5), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8),
                       _JSON_VALUES | st.lists(_JSON_VALUES, min_size=0, max_size=700)
                       | st.dictionaries(st.text(max_size=6), _JSON_VALUES, max_size=700), max_size=6)
       | _JSON_VALUES)
def test_json_in_pieces_is_exactly_the_json_of_one_call(obj: Any) -> None:
    assert b"".join(atomic.compact_json_pieces(obj)) == (atomic.dumps_compact(obj) + "\n").encode("utf-8")


def test_a_big_index_is_encoded_a_few_hundred_items_per_call(tmp_path: Path) -> None:
    """The index of a long session (one checkpoint and state per command) is no one long call:
    each piece holds at most ``PIECE_ITEMS`` checkpoints or states, and the file reads back whole."""
    count = 20 * atomic.PIECE_ITEMS
    index = {"sessionId": "long", "eventCount": 4 * count,
             "checkpoints": [{"seq": 4 * n, "byteOffset": 100 * n, "stateId": f"state-{4 * n}"} for n in range(count)],
             "states": {f"state-{4 * n}": {"file": "long.states.ndjson", "offset": 50 * n} for n in range(count)},
             "receipts": {}}
    pieces = atomic.compact_json_pieces(index)
    longest_checkpoints = max(piece.count(b'"byteOffset"') for piece in pieces)
    longest_states = max(piece.count(b'"file"') for piece in pieces)
    assert longest_checkpoints == atomic.PIECE_ITEMS and longest_states == atomic.PIECE_ITEMS
    atomic_write_json(tmp_path / "long.index.json", index)
    assert json.loads((tmp_path / "long.index.json").read_text(encoding="utf-8")) == index


def test_json_in_pieces_with_lone_surrogates_is_escaped_as_one_call_would(tmp_path: Path) -> None:
    index = {"receipts": {f"r{n}": "\ud800" if n == 700 else "fine" for n in range(1000)}}
    atomic_write_json(tmp_path / "x.json", index)
    data = (tmp_path / "x.json").read_bytes()
    assert b"\\ud800" in data and json.loads(data) == index
