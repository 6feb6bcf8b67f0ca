"""``ThinClient`` (the batch's single-threaded client): the frames ``protocol`` would send, and
against a real server the promises a batch relies on: a run with no server is left to the full
client, and after a break it reconnects, re-opens its session and resends under the same id, so
the backend answers from its record instead of running the command twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_core.server import protocol
from omega_core.server.client_settings import PATH_FIELDS, ClientPaths
from omega_core.server.paths import ServerPaths
from omega_core.server.thin_client import ThinClient, encode_request
from omega_core.server.wire import SocketConnection
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    yield from servers(tmp_path)


def client_paths(paths: ServerPaths) -> ClientPaths:
    return ClientPaths({name: str(getattr(paths, name)) for name in PATH_FIELDS})


def thin_client(server: LiveServer) -> ThinClient:
    return ThinClient(client_paths(server.paths), server.config.server.max_frame_bytes, connect_timeout_s=15.0)


@pytest.mark.parametrize("session, args", [(None, {}), ("work", {"line": "(+ 1 2)", "first_line": 4}),
                                           ("ü", {"line": "\"é\" ; ☃", "nested": {"a": [1, None, True]}})])
def test_frames_are_the_protocols_own(session: str | None, args: dict[str, Any]) -> None:
    expected = protocol.encode(protocol.request("7", "execute", session, **args))
    assert encode_request("7", "execute", session, args) == expected


def test_no_server_means_try_connect_is_false_and_nothing_is_started(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    fields = {name: str(runtime / f"omega-x.{name}") for name in PATH_FIELDS}
    fields.update(runtime_dir=str(runtime), session_dir=str(tmp_path / "sd"))
    client = ThinClient(ClientPaths(fields), 1 << 20, connect_timeout_s=1.0)
    assert client.try_connect() is False
    assert sorted(p.name for p in runtime.iterdir()) == []


def test_a_run_on_a_live_server(make_server: Any) -> None:
    server = make_server()
    client = thin_client(server)
    try:
        assert client.try_connect()
        client.open_session("thin")
        reply = client.execute("(define n 41)\n(+ n 1)", "thin", first_line=3)
        assert reply.ok and reply.output.endswith("=> 42") and reply.session == "thin"
        assert [row["line"] for row in reply.results] == [3, 4]
        failed = client.execute("(car 1)", "thin")
        assert not failed.ok and failed.results[0]["error_code"] == "eval_error"
        assert client.status()["config"]["session_dir"] == str(server.config.session_dir)
        client.delete_session("thin")
    finally:
        client.close()


def test_a_break_after_sending_reconnects_and_the_command_runs_once(make_server: Any) -> None:
    server = make_server()
    client = thin_client(server)
    try:
        assert client.try_connect()
        client.open_session("once")
        client.execute("(define n 0)", "once")
        cut: list[bool] = []
        original = SocketConnection.recv_bytes

        def recv_then_cut(conn: SocketConnection, maxlength: int | None = None) -> bytes:
            if not cut:  # the reply is there (the backend ran the command): cut before reading it
                assert conn.poll(20.0)
                cut.append(True)
                conn.close()
                raise EOFError("cut by the test")
            return original(conn, maxlength)

        SocketConnection.recv_bytes = recv_then_cut  # type: ignore[method-assign]
        try:
            reply = client.execute("(begin (set! n (+ n 1)) n)", "once")
        finally:
            SocketConnection.recv_bytes = original  # type: ignore[method-assign]
        assert cut == [True] and client.reconnects == 1 and client.restore_errors == []
        assert reply.output == "=> 1"
        assert client.execute("n", "once").output == "=> 1"  # not run twice
    finally:
        client.close()


def test_a_frame_over_the_limit_is_refused_before_sending(make_server: Any) -> None:
    server = make_server()
    client = ThinClient(client_paths(server.paths), 200, connect_timeout_s=15.0)
    try:
        assert client.try_connect()
        with pytest.raises(Exception, match=r"over the frame limit of 200 bytes \(\[server\] max_frame_bytes\)"):
            client.execute("x" * 300, "big")
    finally:
        client.close()
