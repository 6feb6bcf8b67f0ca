"""Trust on the local transport: the client refuses a runtime dir, key or socket that another user
could control, before it connects or sends anything, and says which path, what is wrong and what to do.

Tests run as root: "another user" is simulated with chown to ``nobody`` (skipped where impossible).
What a real impostor running as another uid can do is create files it owns (in /tmp, or in a dir it
owns) and listen on them; it cannot make them owned by us. So the ownership check is what stops it.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.server.client import OmegaClient, ServerUnavailable
from omega_core.server.paths import RuntimeDirError, ServerPaths
from omega_core.server.trust import UntrustedPath

NOBODY = 65534


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="omt-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def config_for(runtime: Path, base: Path) -> Config:
    return Config(session_dir=str(base / "sd"), runtime_dir=str(runtime))


def give_to_nobody(*paths: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    try:
        for path in paths:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    except OSError as problem:
        pytest.skip(f"chown impossible here: {problem}")


class Impostor:
    """Listens on a socket path with a key of its own and records every connection and byte."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.accepted = 0
        self.received = b""
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(0.5)
            try:
                while data := conn.recv(65536):
                    self.received += data
            except OSError:
                pass
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def refusal(config: Config, autostart: bool = False) -> str:
    client = OmegaClient(config, autostart=autostart, connect_timeout_s=3)
    try:
        with pytest.raises(ServerUnavailable) as caught:
            client.execute('(define secret "hunter2")')
    finally:
        client.close()
    return caught.value.message


def plant_server(runtime: Path, config: Config) -> tuple[ServerPaths, Impostor]:
    """Key file and listening socket of an impostor in ``runtime`` (0600 key, as a real one)."""
    paths = ServerPaths.for_config(config)
    fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"ab" * 32)
    os.close(fd)
    impostor = Impostor(paths.socket)
    os.chmod(paths.socket, 0o600)
    return paths, impostor


def test_a_runtime_dir_owned_by_another_user_is_refused_and_the_impostor_gets_nothing(short_dir: Path,
                                                                                      tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir(mode=0o700)
    config = config_for(runtime, tmp_path)
    paths, impostor = plant_server(runtime, config)
    try:
        give_to_nobody(runtime, paths.key, paths.socket)
        for autostart in (False, True):  # autostart must not "fix" it by starting a server there
            message = refusal(config, autostart)
            assert message.startswith(f"refusing {runtime}: owned by uid {NOBODY}, not you (uid {os.getuid()})"), message
            assert "OMEGA_RUNTIME_DIR" in message
    finally:
        impostor.stop()
    assert impostor.accepted == 0 and impostor.received == b""
    assert not paths.pid.exists()  # no server was started there


def test_a_socket_owned_by_another_user_is_refused_before_connecting(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir(mode=0o700)
    config = config_for(runtime, tmp_path)
    paths, impostor = plant_server(runtime, config)
    try:
        give_to_nobody(paths.socket)
        message = refusal(config)
    finally:
        impostor.stop()
    assert message.startswith(f"refusing {paths.socket}: owned by uid {NOBODY}"), message
    assert impostor.accepted == 0 and impostor.received == b""


def test_a_key_owned_by_another_user_is_refused(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir(mode=0o700)
    config = config_for(runtime, tmp_path)
    paths, impostor = plant_server(runtime, config)
    try:
        give_to_nobody(paths.key)
        message = refusal(config)
    finally:
        impostor.stop()
    assert message.startswith(f"refusing {paths.key}: owned by uid {NOBODY}"), message
    assert impostor.accepted == 0


def test_a_symlinked_runtime_dir_is_refused_and_its_target_left_alone(short_dir: Path, tmp_path: Path) -> None:
    target = short_dir / "elsewhere"
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    link = short_dir / "omega"
    link.symlink_to(target)
    config = config_for(link, tmp_path)
    message = refusal(config, autostart=True)
    assert message.startswith(f"refusing {link}: it is a symbolic link (to {target})"), message
    with pytest.raises(UntrustedPath):
        ServerPaths.for_config(config).ensure_runtime_dir()  # the server side refuses it too
    assert stat.S_IMODE(target.stat().st_mode) == 0o755 and not list(target.iterdir())


def test_a_runtime_dir_open_to_others_is_refused(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir()
    os.chmod(runtime, 0o755)
    config = config_for(runtime, tmp_path)
    message = refusal(config, autostart=True)
    assert message == (f"refusing {runtime}: mode 0755 gives access to group or others; remove it or set "
                       "OMEGA_RUNTIME_DIR to a directory you own with mode 0700")
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o755  # never chmodded
    assert not list(runtime.iterdir())


def test_a_key_readable_by_others_is_refused(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir(mode=0o700)
    config = config_for(runtime, tmp_path)
    paths, impostor = plant_server(runtime, config)
    try:
        os.chmod(paths.key, 0o644)
        message = refusal(config)
    finally:
        impostor.stop()
    assert message.startswith(f"refusing {paths.key}: mode 0644 gives access to group or others"), message
    assert f"chmod 600 {paths.key}" in message
    assert impostor.accepted == 0


def test_a_symlinked_key_is_refused(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir(mode=0o700)
    config = config_for(runtime, tmp_path)
    paths, impostor = plant_server(runtime, config)
    try:
        real = runtime / "real.key"
        paths.key.rename(real)
        paths.key.symlink_to(real)
        message = refusal(config)
    finally:
        impostor.stop()
    assert message.startswith(f"refusing {paths.key}: it is a symbolic link"), message
    assert impostor.accepted == 0


def test_a_parent_writable_by_others_without_the_sticky_bit_is_refused(short_dir: Path, tmp_path: Path) -> None:
    parent = short_dir / "shared"
    parent.mkdir()
    os.chmod(parent, 0o777)
    runtime = parent / "omega"
    runtime.mkdir(mode=0o700)
    with pytest.raises(UntrustedPath) as caught:
        ServerPaths.for_config(config_for(runtime, tmp_path)).ensure_runtime_dir()
    assert caught.value.message.startswith(f"refusing {parent}: (a parent of the runtime dir {runtime})")
    assert f"run chmod go-w {parent}" in caught.value.message
    os.chmod(parent, 0o1777)  # sticky, as /tmp: others cannot rename our dir away
    ServerPaths.for_config(config_for(runtime, tmp_path)).ensure_runtime_dir()


def test_the_server_creates_a_private_dir_and_files_without_following_links(short_dir: Path, tmp_path: Path) -> None:
    runtime = short_dir / "a" / "omega"
    paths = ServerPaths.for_config(config_for(runtime, tmp_path))
    paths.create_key()
    assert stat.S_IMODE(os.lstat(runtime).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(paths.key).st_mode) == 0o600
    victim = short_dir / "victim"
    victim.write_text("keep")
    paths.pid.symlink_to(victim)  # planted where the pid file goes
    with pytest.raises(OSError):
        paths.write_pid(123)
    assert victim.read_text() == "keep"


def test_an_untrusted_dir_is_a_runtime_dir_error_for_callers_that_catch_those(short_dir: Path) -> None:
    runtime = short_dir / "omega"
    runtime.mkdir()
    os.chmod(runtime, 0o750)
    with pytest.raises(RuntimeDirError):
        ServerPaths.for_config(Config(session_dir=str(short_dir / "sd"), runtime_dir=str(runtime))).ensure_runtime_dir()


def test_a_link_on_the_way_owned_by_another_user_is_refused(short_dir: Path, tmp_path: Path) -> None:
    real = short_dir / "real"
    (real / "omega").mkdir(parents=True, mode=0o700)
    os.chmod(real / "omega", 0o700)
    link = short_dir / "link"
    link.symlink_to(real)
    paths = ServerPaths.for_config(config_for(link / "omega", tmp_path))
    paths.ensure_runtime_dir()  # our own link: fine
    give_to_nobody(link)
    with pytest.raises(UntrustedPath) as caught:
        paths.ensure_runtime_dir()
    assert caught.value.message.startswith(f"refusing {link}: (on the way to the runtime dir")
