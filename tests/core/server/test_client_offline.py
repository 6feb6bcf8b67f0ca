"""The client without a real server: clear failures, and retry with the same ids after a break.

A fake server here is a ``multiprocess.connection.Listener`` in a thread that plays a script.
Sockets live under a short /tmp dir (pytest's tmp_path is too long for AF_UNIX paths).
"""

from __future__ import annotations

import json
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from multiprocess.connection import Connection, Listener

from omega_core.config import Config
from omega_core.server import protocol
from omega_core.server.client import ExecuteReply, OmegaClient, ServerError, ServerUnavailable
from omega_core.server.paths import ServerPaths
from omega_core.server.protocol import ErrorCode

Script = Callable[["FakeServer"], None]


class FakeServer:
    """Listens on ``paths.socket`` with ``key`` and runs ``script(self)`` in a thread."""

    def __init__(self, paths: ServerPaths, key: bytes, script: Script) -> None:
        self.paths = paths
        self.listener = Listener(str(paths.socket), family="AF_UNIX", authkey=key)
        self.script = script
        self.frames: list[dict[str, Any]] = []  # every request received, in order
        self.errors: list[BaseException] = []
        self.connections: list[Connection] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.script(self)
        except BaseException as problem:  # reported by the test through .errors
            self.errors.append(problem)

    def accept(self) -> Connection:
        conn = self.listener.accept()
        self.connections.append(conn)
        return conn

    def receive(self, conn: Connection) -> dict[str, Any]:
        if not conn.poll(5):
            raise TimeoutError("the client sent nothing")
        message = json.loads(conn.recv_bytes().decode("utf-8"))
        self.frames.append(message)
        return message

    def until_closed(self, conn: Connection) -> None:
        """Wait for the client to hang up (anything it still sends is recorded)."""
        try:
            while not self.stopping.is_set():
                if conn.poll(0.05):
                    self.frames.append(json.loads(conn.recv_bytes().decode("utf-8")))
        except (EOFError, OSError):
            return

    def answer(self, conn: Connection, request: dict[str, Any], result: Any) -> None:
        conn.send_bytes(protocol.encode(protocol.ok_reply(request["id"], result)))

    def stop(self) -> None:
        """End the script (unblocking a pending accept) and close everything."""
        self.stopping.set()
        if self.thread.is_alive():
            with socket.socket(socket.AF_UNIX) as poke:  # a handshake that fails ends accept()
                try:
                    poke.connect(str(self.paths.socket))
                except OSError:
                    pass
        self.thread.join(5)
        for conn in self.connections:
            conn.close()
        self.listener.close()
        assert not self.thread.is_alive(), "fake server thread did not end"


@pytest.fixture
def runtime() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="omc-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def config(runtime: Path, tmp_path: Path) -> Config:
    return Config(session_dir=str(tmp_path / "sessions"), runtime_dir=str(runtime))


@pytest.fixture
def servers() -> Iterator[list[FakeServer]]:
    started: list[FakeServer] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[FakeServer], config: Config, script: Script, key: bytes | None = None) -> FakeServer:
    paths = ServerPaths.for_config(config)
    written = paths.create_key()
    server = FakeServer(paths, key if key is not None else written, script)
    servers.append(server)
    return server


def test_no_server_and_no_autostart_is_a_clear_unavailable(config: Config) -> None:
    client = OmegaClient(config, autostart=False, connect_timeout_s=1)
    began = time.monotonic()
    with pytest.raises(ServerUnavailable) as caught:
        client.connect()
    assert time.monotonic() - began < 1  # nothing to wait for
    paths = ServerPaths.for_config(config)
    message = caught.value.message
    assert caught.value.code == "unavailable"
    assert "no Omega server is running" in message
    assert str(paths.socket) in message
    assert "omega server status" in message
    assert str(paths.log) in message
    client.close()


def test_a_stale_socket_file_with_nothing_listening_is_unavailable(config: Config) -> None:
    paths = ServerPaths.for_config(config)
    paths.create_key()
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(paths.socket))  # a socket file nobody listens on (a crashed server's)
    with pytest.raises(ServerUnavailable) as caught:
        OmegaClient(config, autostart=False, connect_timeout_s=1).connect()
    assert "refused" in caught.value.message and str(paths.socket) in caught.value.message


def test_hello_then_a_request_with_typed_reply(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        conn = server.accept()
        hello = server.receive(conn)
        server.answer(conn, hello, {"server": "fake"})
        request = server.receive(conn)
        conn.send_bytes(protocol.encode(protocol.push("session_list", sessions=["main"])))
        server.answer(conn, request, {"output": "=> 3", "results": [{"value": "3", "error": None}], "exit": False, "session": "main"})
        error_request = server.receive(conn)
        conn.send_bytes(protocol.encode(protocol.error_reply(error_request["id"], ErrorCode.LOCKED, "held by alice")))
        server.until_closed(conn)

    server = start(servers, config, script)
    with OmegaClient(config, name="tester", autostart=False, connect_timeout_s=2) as client:
        reply = client.execute("(+ 1 2)", "main")
        assert reply == ExecuteReply("=> 3", [{"value": "3", "error": None}], False, "main", True)
        assert client.poll_pushes() == [{"v": 1, "push": "session_list", "sessions": ["main"]}]
        with pytest.raises(ServerError) as caught:
            client.goto("main", 4)
        assert caught.value.code == ErrorCode.LOCKED and caught.value.message == "held by alice"
        assert client.server_info == {"server": "fake"}
    server.thread.join(5)
    hello, execute, goto = server.frames
    assert hello["op"] == "hello" and hello["session"] is None and hello["v"] == 1
    assert hello["args"] == {"client_id": client.client_id, "name": "tester"}
    assert len(client.client_id) == 32
    assert execute == {"v": 1, "id": execute["id"], "op": "execute", "session": "main", "args": {"line": "(+ 1 2)"}}
    assert goto["args"] == {"seq": 4}
    ids = [frame["id"] for frame in server.frames]
    assert len(set(ids)) == 3 and all(isinstance(i, str) for i in ids)
    assert client.reconnects == 0


def test_a_break_mid_request_reconnects_and_resends_the_same_id(config: Config, servers: list[FakeServer]) -> None:
    seen: dict[str, Any] = {}

    def script(server: FakeServer) -> None:
        first = server.accept()
        server.answer(first, hello := server.receive(first), {})
        seen["hello1"] = hello
        seen["request1"] = server.receive(first)
        first.close()  # dies mid-request, before answering
        second = server.accept()
        seen["hello2"] = hello2 = server.receive(second)
        server.answer(second, hello2, {})
        seen["request2"] = retried = server.receive(second)
        server.answer(second, retried, {"output": "=> 3", "results": [], "exit": False, "session": "main"})
        server.until_closed(second)

    server = start(servers, config, script)
    notices: list[int] = []
    client = OmegaClient(config, autostart=False, connect_timeout_s=5)
    client.on_reconnect = lambda: notices.append(client.reconnects)
    with client:
        reply = client.execute("(+ 1 2)", "main")
    server.thread.join(5)
    assert not server.errors, server.errors
    assert reply.output == "=> 3"
    assert seen["request2"] == seen["request1"]  # same id, same op, same args
    assert seen["hello2"]["args"]["client_id"] == seen["hello1"]["args"]["client_id"] == client.client_id
    assert seen["hello2"]["id"] != seen["hello1"]["id"]
    assert client.reconnects == 1 and notices == [1]


def test_after_a_reconnect_opened_and_subscribed_sessions_are_restored(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        first = server.accept()
        for _ in range(3):  # hello, open, subscribe
            server.answer(first, server.receive(first), {})
        server.receive(first)  # the ping
        first.close()
        second = server.accept()
        for _ in range(4):  # hello, open, subscribe, the retried ping
            server.answer(second, server.receive(second), "pong")
        server.until_closed(second)

    server = start(servers, config, script)
    with OmegaClient(config, autostart=False, connect_timeout_s=5) as client:
        client.open_session("work")
        client.subscribe("work")
        assert client.ping() == "pong"
    server.thread.join(5)
    assert not server.errors, server.errors
    ops = [(frame["op"], frame["session"]) for frame in server.frames]
    assert ops == [
        ("hello", None), ("open", "work"), ("subscribe", "work"), ("ping", None),
        ("hello", None), ("open", "work"), ("subscribe", "work"), ("ping", None),
    ]
    assert server.frames[3]["id"] == server.frames[7]["id"]


def test_interrupt_goes_out_while_another_thread_waits_for_execute(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        conn = server.accept()
        server.answer(conn, server.receive(conn), {})
        execute = server.receive(conn)
        interrupt = server.receive(conn)  # arrives while execute is unanswered
        server.answer(conn, interrupt, {"interrupted": True})
        conn.send_bytes(protocol.encode(protocol.error_reply(execute["id"], ErrorCode.INTERRUPTED, "interrupted")))
        server.until_closed(conn)

    server = start(servers, config, script)
    outcome: queue.Queue[BaseException | ExecuteReply] = queue.Queue()
    with OmegaClient(config, autostart=False, connect_timeout_s=5) as client:

        def run() -> None:
            try:
                outcome.put(client.execute("(loop)", "main"))
            except BaseException as problem:
                outcome.put(problem)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 5
        while len(server.frames) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.interrupt("main") == {"interrupted": True}
        worker.join(5)
    problem = outcome.get(timeout=1)
    assert isinstance(problem, ServerError) and problem.code == ErrorCode.INTERRUPTED
    server.thread.join(5)
    assert not server.errors, server.errors


def test_a_server_with_another_key_gives_the_key_refused_message(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        while not server.stopping.is_set():  # refuse every attempt (the client retries briefly first)
            try:
                server.accept()
            except Exception:  # AuthenticationError: the expected outcome
                pass

    start(servers, config, script, key=b"k" * 32)
    with pytest.raises(ServerUnavailable) as caught:
        OmegaClient(config, autostart=False, connect_timeout_s=3).connect()
    message = caught.value.message
    assert "the server refused our key: was the key file replaced? try omega server restart" in message
    assert str(ServerPaths.for_config(config).key) in message


def test_nothing_comes_back_after_close(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        conn = server.accept()
        server.answer(conn, server.receive(conn), {})
        server.until_closed(conn)

    start(servers, config, script)
    client = OmegaClient(config, autostart=False, connect_timeout_s=2).connect()
    client.close()
    client.close()
    with pytest.raises(ServerUnavailable, match="closed"):
        client.ping()


def test_a_frame_over_the_limit_is_refused_before_sending(config: Config, servers: list[FakeServer]) -> None:
    def script(server: FakeServer) -> None:
        conn = server.accept()
        server.answer(conn, server.receive(conn), {})
        server.until_closed(conn)

    start(servers, config, script)
    from dataclasses import replace

    small = replace(config, server=replace(config.server, max_frame_bytes=1000))
    with OmegaClient(small, autostart=False, connect_timeout_s=2) as client:
        with pytest.raises(ServerError) as caught:
            client.execute("x" * 5000, "main")
    assert caught.value.code == ErrorCode.TOO_LARGE
