"""``omega_core.server.wire``: the client's standard-library end talks to a real multiprocess peer."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
from multiprocess.connection import Listener

from omega_core.server.wire import AuthenticationError, SocketConnection, answer_challenge, deliver_challenge

KEY = b"k" * 32


def serve(path: Path, key: bytes, work: Callable[[Any], None]) -> threading.Thread:
    listener = Listener(str(path), family="AF_UNIX", authkey=key)

    def run() -> None:
        try:
            conn = listener.accept()
        except Exception:  # noqa: BLE001 - a refused client: the test checks the client side
            listener.close()
            return
        try:
            work(conn)
        finally:
            conn.close()
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def dial(path: Path, key: bytes) -> SocketConnection:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    conn = SocketConnection(sock)
    answer_challenge(conn, key)
    deliver_challenge(conn, key)
    return conn


def test_handshake_and_frames_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "s"
    big = b"x" * 200_000

    def echo(conn: Any) -> None:
        for _ in range(3):
            conn.send_bytes(conn.recv_bytes())

    thread = serve(path, KEY, echo)
    conn = dial(path, KEY)
    for payload in (b"{}", b"", big):
        conn.send_bytes(payload)
        assert conn.poll(5)
        assert conn.recv_bytes() == payload
    assert conn.poll(5)  # the peer closed: EOF is readable
    with pytest.raises(EOFError):
        conn.recv_bytes()
    conn.close()
    assert conn.closed
    with pytest.raises(OSError):
        conn.fileno()
    thread.join(5)


def test_a_wrong_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    thread = serve(path, KEY, lambda conn: None)
    with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
        dial(path, b"other key")
    thread.join(5)


def test_frames_over_the_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    thread = serve(path, KEY, lambda conn: conn.send_bytes(b"y" * 1000))
    conn = dial(path, KEY)
    with pytest.raises(OSError):
        conn.recv_bytes(100)
    conn.close()
    thread.join(5)


def test_poll_times_out_when_nothing_comes(tmp_path: Path) -> None:
    path = tmp_path / "s"
    done = threading.Event()
    thread = serve(path, KEY, lambda conn: done.wait(5))
    conn = dial(path, KEY)
    assert conn.poll(0.05) is False
    done.set()
    conn.close()
    thread.join(5)


def test_a_bare_challenge_that_starts_with_a_brace_is_answered_as_bare() -> None:
    """A 3.11 challenge is random bytes: one starting with ``{`` and holding ``}`` is not a digest name."""
    import hmac as _hmac

    from omega_core.server.wire import DEFAULT_DIGEST, _response

    key, message = b"k" * 32, b"{\xd1\x00}" + b"x" * 16
    assert _response(key, message) == _hmac.new(key, message, DEFAULT_DIGEST).digest()
    named = b"{sha256}" + b"y" * 20
    assert _response(key, named) == b"{sha256}" + _hmac.new(key, b"y" * 20, "sha256").digest()
