"""Server paths: short socket names, a private runtime dir, a private random key."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.server.paths import KEY_BYTES, MAX_SOCKET_PATH, RuntimeDirError, ServerPaths


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="omp-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def paths_for(runtime: Path, session_dir: str = "/tmp/some/project/.omega-session") -> ServerPaths:
    return ServerPaths.for_config(Config(session_dir=session_dir, runtime_dir=str(runtime)))


def test_files_live_in_the_runtime_dir_and_the_socket_path_is_short(short_dir: Path) -> None:
    paths = paths_for(short_dir / "rt", "/" + "very-long-directory-name/" * 20 + ".omega-session")
    assert paths.socket.parent == paths.key.parent == paths.log.parent == paths.pid.parent == short_dir / "rt"
    assert len(str(paths.socket).encode()) <= MAX_SOCKET_PATH
    assert paths.socket.name.endswith(".sock") and paths.key.name.endswith(".key")


def test_two_session_dirs_get_two_sockets_and_one_dir_always_the_same(short_dir: Path) -> None:
    a = paths_for(short_dir, "/tmp/project-a/.omega-session")
    b = paths_for(short_dir, "/tmp/project-b/.omega-session")
    assert a.socket != b.socket
    assert paths_for(short_dir, "/tmp/project-a/.omega-session").socket == a.socket
    assert paths_for(short_dir, "/tmp/project-a/x/../.omega-session").socket == a.socket


def test_a_runtime_dir_too_long_for_a_socket_is_refused_with_a_fix(short_dir: Path) -> None:
    with pytest.raises(RuntimeDirError) as caught:
        paths_for(short_dir / ("x" * 120))
    assert "too long" in caught.value.message
    assert "OMEGA_RUNTIME_DIR" in caught.value.message
    assert caught.value.code == "unavailable"


def test_the_runtime_dir_is_created_0700(short_dir: Path) -> None:
    paths = paths_for(short_dir / "a" / "rt")
    paths.ensure_runtime_dir()
    assert stat.S_IMODE(paths.runtime_dir.stat().st_mode) == 0o700


def test_an_existing_runtime_dir_open_to_others_is_refused_not_chmodded(short_dir: Path) -> None:
    runtime = short_dir / "rt"
    runtime.mkdir(mode=0o755)
    os.chmod(runtime, 0o755)
    with pytest.raises(RuntimeDirError) as caught:
        paths_for(runtime).ensure_runtime_dir()
    assert "mode 0755" in caught.value.message and str(runtime) in caught.value.message
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o755  # never chmodded: not ours to change


def test_a_runtime_dir_owned_by_someone_else_is_refused(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = paths_for(short_dir)
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)
    with pytest.raises(RuntimeDirError) as caught:
        paths.ensure_runtime_dir()
    assert f"owned by uid {real_uid}" in caught.value.message
    with pytest.raises(RuntimeDirError):
        paths.create_key()  # and no key is written there
    assert not paths.key.exists()


def test_the_key_is_32_random_bytes_in_a_0600_file(short_dir: Path) -> None:
    paths = paths_for(short_dir / "rt")
    key = paths.create_key()
    assert isinstance(key, bytes) and len(key) == KEY_BYTES == 32
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    assert paths.read_key() == key
    again = paths.create_key()
    assert again != key and paths.read_key() == again
    assert not list(paths.runtime_dir.glob("*.tmp"))


def test_a_missing_or_damaged_key_reads_as_none(short_dir: Path) -> None:
    paths = paths_for(short_dir)
    assert paths.read_key() is None
    paths.key.write_text("not hex at all")
    os.chmod(paths.key, 0o600)
    assert paths.read_key() is None
