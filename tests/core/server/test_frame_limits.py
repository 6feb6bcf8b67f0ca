"""Protocol robustness (issue 11, item 6) on a real server: a frame nested too deep is answered
``bad_request`` naming the limit (with its id when it has one), a frame left unfinished is dropped
after ``[server] frame_stall_timeout_s``, and every request gets exactly one reply."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from omega_core.server.protocol import MAX_JSON_DEPTH
from tests.core.server.live_server import LiveServer, assert_reply_shape, servers


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("frames"))
    make = next(factory)
    try:
        yield make(server={"frame_stall_timeout_s": 0.5})
    finally:
        factory.close()


def replies(conn: Any, count: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    got = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count:
        assert conn.poll(max(0.0, deadline - time.monotonic())), f"only {len(got)} of {count} replies"
        got.append(json.loads(conn.recv_bytes()))
    return got


def deep(depth: int, request_id: Any = "deep-1") -> bytes:
    head = b'{"v":1,' + (b'"id":' + json.dumps(request_id).encode() + b"," if request_id is not None else b"")
    return head + b'"op":"ping","session":null,"args":{"x":' + b"[" * depth + b"]" * depth + b"}}"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 9_000, 100_000])
def test_a_deeply_nested_frame_gets_one_bad_request_reply_with_its_id(srv: LiveServer, depth: int) -> None:
    conn = srv.raw()
    try:
        conn.send_bytes(deep(depth))
        conn.send_bytes(json.dumps({"v": 1, "id": "after", "op": "ping", "session": None, "args": {}}).encode())
        first, second = replies(conn, 2)
        assert_reply_shape(first, "deep-1", check_id=True)
        assert first["error"]["code"] == "bad_request"
        assert f"more than {MAX_JSON_DEPTH} levels" in first["error"]["message"]
        assert second == {"v": 1, "id": "after", "ok": True, "result": "pong"}
        assert not conn.poll(0.2)  # exactly one reply each
    finally:
        conn.close()


def test_a_deep_frame_without_an_id_is_answered_with_a_null_id(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        conn.send_bytes(deep(50_000, request_id=None))
        (reply,) = replies(conn, 1)
        assert reply["id"] is None and reply["error"]["code"] == "bad_request"
    finally:
        conn.close()


def test_nesting_within_the_limit_is_served(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        conn.send_bytes(deep(MAX_JSON_DEPTH - 3, request_id="ok"))  # the frame's own {} and args add 2
        (reply,) = replies(conn, 1)
        assert reply["ok"] is True and reply["id"] == "ok"
    finally:
        conn.close()


def test_brackets_inside_strings_do_not_count(srv: LiveServer) -> None:
    with srv.client() as client:
        reply = client.execute('(string-length "' + "[" * 500 + '")', "brackets")
        assert reply.ok and reply.results[0]["value"] == "500", reply


def test_a_frame_that_stalls_midway_is_dropped_and_the_connection_closed(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        # a header announcing 1 MB, then 10 bytes, then silence
        conn._send(struct.pack("!i", 1_000_000) + b'{"v":1,"id"')  # type: ignore[attr-defined]
        (reply,) = replies(conn, 1, timeout_s=20)
        assert reply["ok"] is False and reply["error"]["code"] == "bad_request"
        assert "frame_stall_timeout_s" in reply["error"]["message"]
        with pytest.raises((EOFError, OSError)):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                conn.poll(1)
                conn.recv_bytes()
        assert "unfinished" in srv.paths.log.read_text(errors="replace")
    finally:
        conn.close()
    srv.assert_healthy()


def test_a_slow_but_finished_frame_is_served(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        payload = json.dumps({"v": 1, "id": "slow", "op": "ping", "session": None, "args": {}}).encode()
        data = struct.pack("!i", len(payload)) + payload
        conn._send(data[:8])  # type: ignore[attr-defined]
        time.sleep(0.1)  # well under the 0.5 s stall limit (a pause, not a wait for a condition)
        conn._send(data[8:])  # type: ignore[attr-defined]
        (reply,) = replies(conn, 1)
        assert reply["result"] == "pong"
    finally:
        conn.close()
