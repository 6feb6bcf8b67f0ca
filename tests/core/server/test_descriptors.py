"""Descriptors and connections (issue 10, item 8): a cap on clients with a clear refusal, an
accept path that survives running out of descriptors, and a pool bounded by open logs."""

from __future__ import annotations

import dataclasses
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from omega_core.config import Config
from omega_core.server import launcher
from omega_core.server.client import ServerUnavailable
from omega_core.server.manager import SessionManager
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture
def make_server(tmp_path: Any) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def connect_within(server: LiveServer, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client = server.client(connect_timeout_s=5)
            assert client.ping() == "pong"
            return client
        except ServerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_one_client_over_max_clients_is_refused_with_the_reason_and_the_config_key(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(server={"max_clients": 2})
    first = server.client(name="one")
    second = server.client(name="two")
    assert first.ping() == second.ping() == "pong"
    with pytest.raises(ServerUnavailable) as refused:
        server.client(name="three", connect_timeout_s=5).ping()
    message = str(refused.value)
    assert "too many clients: 2 connected; raise [server] max_clients" in message
    assert first.ping() == "pong"  # the others are untouched
    first.close()
    third = connect_within(server, 10)  # a place is free again
    assert third.execute("(+ 1 2)", "s").output == "=> 3"


def test_running_out_of_descriptors_never_wedges_the_accept_path(
        make_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose hard limit is 64 descriptors, flooded by 90 connections: some fail, and once
    they are gone a new client connects and runs code."""
    server = make_server(start=False)

    real_popen = subprocess.Popen

    def limited_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        return real_popen(*args, **kwargs, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))

    # The launcher imports subprocess when it starts a server: patch the module's Popen for that start.
    monkeypatch.setattr(subprocess, "Popen", limited_popen)
    server.start()
    monkeypatch.undo()
    flood = []
    for _ in range(90):  # silent peers: each holds a descriptor in the backend until its handshake times out
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1)
        try:
            sock.connect(str(server.paths.socket))
        except OSError:  # the listen backlog is full: refused or timed out
            sock.close()
            continue
        flood.append(sock)
    deadline = time.monotonic() + 20
    while "Too many open files" not in server.paths.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the backend never ran out of descriptors"
        time.sleep(0.05)
    for sock in flood:
        sock.close()
    client = connect_within(server, 20)
    assert client.execute("(* 6 7)", "after-flood").output == "=> 42"
    assert server.supervisor_pid is not None and launcher.pid_alive(server.supervisor_pid)


def test_the_pool_never_holds_more_open_logs_than_max_open_logs(tmp_path: Path) -> None:
    """Beyond ``max_open_logs`` the least recently used sessions close their files and stay loaded."""
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, max_open_logs=2))
    manager = SessionManager(config)
    try:
        for number in range(5):
            manager.get(f"s{number}").session.execute(f"(define x {number})")
            assert manager.open_files_count() <= 2
        assert list(manager.pool) == ["s0", "s1", "s2", "s3", "s4"]
        assert [name for name, instance in manager.pool.items() if instance.session.files_open] == ["s3", "s4"]
        assert manager.get("s0").session.execute("x")[0].value == "0"  # reopened with its work
    finally:
        manager.close_all()


class FakeConn:
    """Stands for a ``multiprocess`` connection whose handshake passes (the key checks are patched)."""

    def __init__(self) -> None:
        self.closed = False
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def test_a_handshake_thread_that_cannot_dup_its_socket_closes_it_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.server import accepting
    from omega_core.server import connection as connection_module

    adopted: list[Any] = []
    acceptor = accepting.Acceptor(None, b"k", Config().server, stopping=lambda: False, client_count=lambda: 0,
                                  adopt=adopted.append)
    monkeypatch.setattr(accepting, "deliver_challenge", lambda conn, key: None)
    monkeypatch.setattr(accepting, "answer_challenge", lambda conn, key: None)

    def no_descriptor(fd: int) -> int:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(connection_module.os, "dup", no_descriptor)
    conn = FakeConn()
    acceptor.serve(conn, 1)  # used to raise (and leak the connection)
    assert conn.closed and not adopted


def test_the_accept_loop_survives_any_exception_from_accept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.server import accepting

    calls = []
    stopped: list[bool] = []

    class Listener:
        def accept(self) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise OSError(24, "Too many open files")
            if len(calls) == 2:
                raise RuntimeError("can't start new thread")
            stopped.append(True)
            raise OSError(24, "Too many open files")

    acceptor = accepting.Acceptor(Listener(), b"k", Config().server, stopping=lambda: bool(stopped),
                                  client_count=lambda: 0, adopt=lambda connection: None)
    monkeypatch.setattr(accepting, "ACCEPT_RETRY_S", 0.001)
    acceptor.run()
    assert len(calls) == 3
