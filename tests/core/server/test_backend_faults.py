"""Faults against a LIVE server: bad frames, bad peers, protocol fuzzing, and backend kills.

Every bad input is followed by a check, on another connection, that the server still answers
``ping`` and runs code (``LiveServer.assert_healthy``). Crash tests SIGKILL the backend while real
clients stream work and then prove nothing acknowledged was lost and nothing ran twice.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multiprocess.connection import AuthenticationError

from omega_core.server.client import ServerError
from omega_core.server.protocol import ErrorCode, Op
from tests.core.server.live_server import (
    LiveServer,
    assert_reply_shape,
    log_events,
    raw_call,
    servers,
    silent_socket,
    wait_gone,
)

MAX_FRAME = 4096
MAX_INPUT = 1000


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the bad-input tests: each test leaves it as it found it (healthy)."""
    factory = servers(tmp_path_factory.mktemp("faults"))
    make = next(factory)
    try:
        yield make(server={"max_frame_bytes": MAX_FRAME},
                   language={"max_input_chars": MAX_INPUT, "step_budget": 200_000})
    finally:
        factory.close()


@pytest.fixture
def make_server(tmp_path: Any) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def request(op: str = "ping", session: Any = None, rid: Any = "r1", **args: Any) -> dict[str, Any]:
    return {"v": 1, "id": rid, "op": op, "session": session, "args": args}


# --------------------------------------------------------------------------------------------
# Bad frames on an authenticated connection


BAD_FRAMES: list[tuple[str, bytes, str, Any]] = [
    ("garbage", b"\x00\x01garbage{{", ErrorCode.BAD_REQUEST, None),
    ("empty", b"", ErrorCode.BAD_REQUEST, None),
    ("not-utf8", b"\xff\xfe\xfd{\"v\":1}", ErrorCode.BAD_REQUEST, None),
    ("json-array", b'[1, 2, {"v": 1}]', ErrorCode.BAD_REQUEST, None),
    ("json-string", b'"ping"', ErrorCode.BAD_REQUEST, None),
    ("version-2", json.dumps({**request(), "v": 2}).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("version-true", json.dumps({**request(), "v": True}).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("version-missing", json.dumps({k: v for k, v in request().items() if k != "v"}).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("unknown-op", json.dumps(request("launch_missiles")).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("op-not-text", json.dumps(request(7)).encode(), ErrorCode.BAD_REQUEST, "r1"),  # type: ignore[arg-type]
    ("missing-id", json.dumps({k: v for k, v in request().items() if k != "id"}).encode(), ErrorCode.BAD_REQUEST, None),
    ("id-true", json.dumps({**request(), "id": True}).encode(), ErrorCode.BAD_REQUEST, None),
    ("args-list", json.dumps({**request("execute", "main"), "args": ["(+ 1 2)"]}).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("args-string", json.dumps({**request("execute", "main"), "args": "(+ 1 2)"}).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("session-number", json.dumps(request("execute", 5, line="1")).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("execute-no-line", json.dumps(request("execute", "main")).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("execute-line-number", json.dumps(request("execute", "main", line=12)).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("goto-bad-seq", json.dumps(request("goto", "health", seq=-1)).encode(), ErrorCode.BAD_REQUEST, "r1"),
    ("trace-count-text", json.dumps(request("trace", "health", count="all")).encode(), ErrorCode.BAD_REQUEST, "r1"),
]


@pytest.mark.parametrize("label, frame, code, reply_id", BAD_FRAMES, ids=[case[0] for case in BAD_FRAMES])
def test_a_bad_frame_gets_an_error_reply_and_harms_nothing(srv: LiveServer, label: str, frame: bytes, code: str,
                                                           reply_id: Any) -> None:
    srv.assert_healthy("health")  # the session "health" exists (goto/trace cases address it)
    conn = srv.raw()
    try:
        reply = raw_call(conn, frame)
        assert_reply_shape(reply, reply_id, check_id=True)
        assert reply["ok"] is False and reply["error"]["code"] == code, reply
        # the same connection goes on working after an error reply
        assert raw_call(conn, request(rid="after"))["result"] == "pong"
    finally:
        conn.close()
    srv.assert_healthy()


def logs(srv: LiveServer) -> list[str]:
    """The session logs on disk (derived files come and go with background flushes)."""
    return sorted(p.name for p in srv.sessions_dir.glob("*.jsonl")) if srv.sessions_dir.exists() else []


BAD_NAMES = ["../x", "a/b", "..", ".", "a\x00b", "x" * 65, ".hidden", "tab\tname", "na me", "é"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
@pytest.mark.parametrize("op, args", [("execute", {"line": "(define leaked 1)"}), ("open", {}),
                                      ("goto", {"seq": 0}), ("delete", {"confirm": "x"})])
def test_an_invalid_session_name_is_refused_before_any_file_is_touched(srv: LiveServer, name: str, op: str,
                                                                       args: dict[str, Any]) -> None:
    before = logs(srv)
    parent = sorted(os.listdir(srv.session_dir))
    conn = srv.raw()
    try:
        reply = raw_call(conn, request(op, name, rid=f"{op}-name", **args))
    finally:
        conn.close()
    assert_reply_shape(reply, f"{op}-name", check_id=True)
    assert reply["ok"] is False and reply["error"]["code"] == ErrorCode.INVALID_NAME, reply
    message = reply["error"]["message"]
    assert "\x00" not in message and "\t" not in message  # control characters are escaped
    assert logs(srv) == before and sorted(os.listdir(srv.session_dir)) == parent
    srv.assert_healthy()


@pytest.mark.parametrize("op, args", [("execute", {"line": "(define leaked 1)"}), ("open", {})])
def test_an_empty_session_name_is_invalid_not_the_default_session(srv: LiveServer, op: str,
                                                                  args: dict[str, Any]) -> None:
    conn = srv.raw()
    try:
        reply = raw_call(conn, request(op, "", rid="empty-name", **args))
    finally:
        conn.close()
    assert_reply_shape(reply, "empty-name", check_id=True)
    assert reply["ok"] is False and reply["error"]["code"] == ErrorCode.INVALID_NAME, reply


def test_a_64_character_name_is_fine_and_65_is_not(srv: LiveServer) -> None:
    with srv.client() as client:
        assert client.execute("(+ 1 1)", "y" * 64).output == "=> 2"
        conn = srv.raw()
        try:
            reply = raw_call(conn, request("execute", "y" * 65, line="(+ 1 1)"))
        finally:
            conn.close()
        assert reply["error"]["code"] == ErrorCode.INVALID_NAME
        assert client.delete_session("y" * 64) == {"deleted": "y" * 64}


def test_an_oversized_frame_is_too_large_and_closes_only_that_connection(srv: LiveServer) -> None:
    watcher = srv.client(name="bystander")
    try:
        assert watcher.ping() == "pong"
        conn = srv.raw()
        try:
            conn.send_bytes(json.dumps(request("execute", "big", line="x" * (MAX_FRAME * 3))).encode())
            assert conn.poll(10), "no reply to an oversized frame"
            reply = json.loads(conn.recv_bytes())
            assert_reply_shape(reply)
            assert reply["ok"] is False and reply["error"]["code"] == ErrorCode.TOO_LARGE, reply
            assert str(MAX_FRAME) in reply["error"]["message"]
            with pytest.raises((EOFError, OSError)):  # the connection is closed after it
                for _ in range(3):
                    conn.send_bytes(json.dumps(request()).encode())
                    if not conn.poll(5):
                        raise AssertionError("connection neither answered nor closed")
                    conn.recv_bytes()
        finally:
            conn.close()
        assert watcher.ping() == "pong"  # an existing connection did not notice
        assert watcher.reconnects == 0
        assert not (srv.sessions_dir / "big.jsonl").exists()
    finally:
        watcher.close()
    srv.assert_healthy()


def _padded(size: int) -> bytes:
    """An execute of ``(+ 1 2)`` whose frame is exactly ``size`` bytes (an ignored arg pads it)."""
    base = json.dumps(request("execute", "edge", rid=f"edge-{size}", line="(+ 1 2)", pad="")).encode()
    frame = json.dumps(request("execute", "edge", rid=f"edge-{size}", line="(+ 1 2)",
                               pad="p" * (size - len(base)))).encode()
    assert len(frame) == size
    return frame


def test_a_frame_of_exactly_the_limit_is_served_and_one_byte_more_is_not(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        reply = raw_call(conn, _padded(MAX_FRAME))
        assert reply["ok"] is True and reply["result"]["output"] == "=> 3", reply
        reply = raw_call(conn, _padded(MAX_FRAME + 1))
        assert reply["ok"] is False and reply["error"]["code"] == ErrorCode.TOO_LARGE, reply
    finally:
        conn.close()
    srv.assert_healthy()


def test_an_input_over_max_input_chars_is_too_large_and_not_recorded(srv: LiveServer) -> None:
    with srv.client() as client:
        client.execute("(define kept 1)", "inputs")
        log = srv.sessions_dir / "inputs.jsonl"
        size = log.stat().st_size
        with pytest.raises(ServerError) as caught:
            client.execute("(list " + "1 " * MAX_INPUT + ")", "inputs")
        assert caught.value.code == ErrorCode.TOO_LARGE
        assert "max_input_chars" in caught.value.message and str(MAX_INPUT) in caught.value.message
        assert log.stat().st_size == size
        exact = "(quote " + "b" * (MAX_INPUT - 8) + ")"
        assert len(exact) == MAX_INPUT
        assert client.execute(exact, "inputs").ok  # exactly the limit is fine
        assert client.execute("kept", "inputs").output == "=> 1"
    srv.assert_healthy()


# --------------------------------------------------------------------------------------------
# Bad peers


def test_a_peer_with_the_wrong_key_is_refused(srv: LiveServer) -> None:
    for _ in range(3):
        with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
            conn = srv.raw(authkey=secrets.token_bytes(32))
            try:  # should not get here; if it did, the server must not serve it
                conn.send_bytes(json.dumps(request()).encode())
                conn.recv_bytes()
            finally:
                conn.close()
        srv.assert_healthy()


def test_a_peer_that_speaks_no_handshake_is_dropped(srv: LiveServer) -> None:
    sock = silent_socket(srv.paths.socket)
    try:
        sock.settimeout(10)
        sock.recv(1024)  # the server's challenge
        sock.sendall(b"\x00\x00\x00\x05hello")  # not an answer to it
        sock.settimeout(10)
        data = sock.recv(1024)
        # FAILURE then EOF, or straight EOF: never a served connection
        while data:
            assert b"#WELCOME#" not in data
            data = sock.recv(1024)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        sock.close()
    srv.assert_healthy()


@pytest.mark.slow
def test_silent_peers_time_out_in_5_s_while_others_are_served(srv: LiveServer) -> None:
    silent = [silent_socket(srv.paths.socket) for _ in range(8)]
    began = time.monotonic()
    try:
        with srv.client(name="meanwhile") as client:
            latencies = []
            while time.monotonic() - began < 3.5:
                start = time.monotonic()
                assert client.ping() == "pong"
                latencies.append(time.monotonic() - start)
                time.sleep(0.05)
            assert client.execute("(+ 40 2)", "meanwhile").output == "=> 42"
            assert max(latencies) < 0.5, max(latencies)
        closed_after = []
        for sock in silent:
            sock.settimeout(10)
            try:
                while sock.recv(4096):  # the challenge, then EOF when the handshake times out
                    pass
            except ConnectionResetError:
                pass
            closed_after.append(time.monotonic() - began)
        assert all(4.0 <= t <= 8.0 for t in closed_after), closed_after
    finally:
        for sock in silent:
            sock.close()
    srv.assert_healthy()


def test_a_peer_that_stops_mid_frame_does_not_block_others(srv: LiveServer) -> None:
    conn = srv.raw()
    try:
        # a header announcing 1000 bytes, then only 10 of them
        fd = socket.socket(fileno=os.dup(conn.fileno()))
        fd.sendall((1000).to_bytes(4, "big") + b'{"v":1,"id"')
        fd.close()
        srv.assert_healthy()
        with srv.client() as client:
            assert client.status()["clients"] >= 2
    finally:
        conn.close()
    srv.assert_healthy()


def test_frames_sent_in_one_write_or_a_byte_at_a_time_are_all_answered(srv: LiveServer) -> None:
    """The backend takes frames apart itself (``framing``): any split of the byte stream works."""
    conn = srv.raw()
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        frames = [json.dumps(request("ping", rid=f"p{k}")).encode() for k in range(5)]
        sock.sendall(b"".join(len(frame).to_bytes(4, "big") + frame for frame in frames))
        slow = json.dumps(request("ping", rid="slow")).encode()
        for byte in len(slow).to_bytes(4, "big") + slow:
            sock.sendall(bytes([byte]))
        sock.close()
        replies = []
        for _ in range(6):
            assert conn.poll(20), "a pipelined request was not answered"
            replies.append(json.loads(conn.recv_bytes()))
        assert sorted(reply["id"] for reply in replies) == sorted([f"p{k}" for k in range(5)] + ["slow"])
        assert all(reply["ok"] and reply["result"] == "pong" for reply in replies)
    finally:
        conn.close()
    srv.assert_healthy()


def test_shutdown_while_a_command_runs_interrupts_it_answers_it_and_stops(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server()
    with srv.client() as runner, srv.client() as stopper:
        assert runner.execute("(define (spin) (spin))", "busy").ok
        outcome: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: outcome.setdefault("reply", runner.execute("(spin)", "busy")))
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        stopper.shutdown()
        thread.join(20)
        assert not thread.is_alive()
        reply = outcome["reply"]
        assert not reply.ok and "interrupted" in reply.output  # answered, not cut off
        assert wait_gone(srv.supervisor_pid or 0, 10), "the server did not stop"
        assert time.monotonic() - started < 5.0
    assert any(event.get("type") == "error" for event in log_events(srv.sessions_dir / "busy.jsonl"))


def test_a_peer_that_vanishes_with_a_request_in_flight_harms_nothing(srv: LiveServer) -> None:
    with srv.client() as client:
        client.execute("(define (spin n) (if (= n 0) 0 (spin (- n 1))))", "vanish")
    conn = srv.raw()
    conn.send_bytes(json.dumps(request("execute", "vanish", line="(spin 100000)")).encode())
    conn.close()  # the reply has nowhere to go
    time.sleep(0.3)
    srv.assert_healthy()
    with srv.client() as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the command still ran to its end (once)
            inputs = [e for e in log_events(srv.sessions_dir / "vanish.jsonl") if e.get("code") == "(spin 100000)"]
            if inputs:
                break
            time.sleep(0.05)
        assert len(inputs) == 1
        assert client.execute("(+ 1 2)", "vanish").output == "=> 3"


# --------------------------------------------------------------------------------------------
# Protocol fuzzing against the live server

FUZZ_OPS = [op.value for op in Op if op not in (Op.SHUTDOWN, Op.RESTART)]
"""Every op but the two whose success is to stop the backend."""

json_leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=12)
names = st.sampled_from(["fz", "fz-2", "health", None, "", "..", "../x", "a\x00b", "x" * 65, ".h"]) | st.text(max_size=12)
arg_values = {
    "line": st.sampled_from(["(+ 1 2)", "(define q 1)", "(car 1)", "((", ")", ":session list", ":help", "(display \"x\")",
                             ":session checkpoints", "(undefined-thing)"]) | st.text(max_size=40),
    "seq": st.integers(-5, 50) | json_value,
    "count": st.integers(-5, 100) | json_value,
    "limit": st.integers(-5, 100) | json_value,
    "to": names,
    "confirm": names,
    "create": st.booleans() | json_value,
    "first_line": st.integers(-3, 5) | json_value,
    "client_id": st.text(max_size=10) | json_value,
    "name": st.text(max_size=10) | json_value,
    "read_only": st.booleans(),
}
fuzz_args = st.fixed_dictionaries({}, optional={key: value for key, value in arg_values.items()}) | st.dictionaries(
    st.text(max_size=8), json_value, max_size=4) | json_value
well_formed = st.fixed_dictionaries(
    {
        "v": st.just(1),
        "id": st.integers(0, 2**31) | st.text(min_size=1, max_size=12),
        "op": st.sampled_from(FUZZ_OPS),
    },
    optional={"session": names, "args": fuzz_args},
)
odd = st.fixed_dictionaries(
    {},
    optional={
        "v": st.just(1) | json_value,
        "id": st.integers(0, 2**31) | st.text(min_size=1, max_size=12) | json_value,
        "op": st.sampled_from(FUZZ_OPS) | st.text(max_size=10) | json_value,
        "session": names | json_value,
        "args": fuzz_args,
    },
)
fuzz_request = st.one_of(well_formed, well_formed, odd)
"""Mostly requests that pass some of the checks: many are fully valid, with odd args and names."""


class _Fuzz:
    conn: Any = None
    count = 0
    ok = 0


@pytest.mark.slow
def test_random_requests_always_get_a_well_formed_reply_and_the_server_stays_up(srv: LiveServer) -> None:
    fuzz = _Fuzz()
    fuzz.conn = srv.raw()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
    @given(message=fuzz_request)
    def check(message: dict[str, Any]) -> None:
        if fuzz.conn is None or fuzz.conn.closed:
            fuzz.conn = srv.raw()
        fuzz.count += 1
        reply = raw_call(fuzz.conn, json.dumps(message).encode("utf-8"))
        while "push" in reply:  # a fuzzed `subscribe` makes later commands push events here
            assert fuzz.conn.poll(20.0), "no reply after a push"
            reply = json.loads(fuzz.conn.recv_bytes().decode("utf-8"))
        valid_id = isinstance(message.get("id"), (str, int)) and not isinstance(message.get("id"), bool)
        well_versioned = message.get("v") == 1 and type(message.get("v")) is int
        assert_reply_shape(reply, message.get("id"), check_id=valid_id and well_versioned)
        fuzz.ok += reply["ok"]
        if not reply["ok"]:
            assert reply["error"]["code"] != ErrorCode.INTERNAL, (message, reply)
        if fuzz.count % 25 == 0:
            pong = raw_call(fuzz.conn, request(rid=f"ping-{fuzz.count}"))
            while "push" in pong:
                assert fuzz.conn.poll(20.0), "no reply to ping after a push"
                pong = json.loads(fuzz.conn.recv_bytes().decode("utf-8"))
            assert pong["result"] == "pong"

    try:
        check()
    finally:
        if fuzz.conn is not None:
            fuzz.conn.close()
    assert fuzz.count >= 100 and fuzz.ok > 0
    srv.assert_healthy()
    assert srv.status()["backend_pid"] in srv.seen  # never restarted: the same backend served it all
    assert srv.status()["restarts"] == 0


# --------------------------------------------------------------------------------------------
# Crash tests: SIGKILL of the backend while clients work


@pytest.mark.slow
def test_killing_the_backend_twice_loses_and_doubles_nothing_for_three_streaming_clients(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server()
    workers = 3
    clients = [srv.client(name=f"streamer-{k}") for k in range(workers)]
    acked = [0] * workers
    errors: list[BaseException] = []
    stop = threading.Event()
    for k, client in enumerate(clients):
        assert client.execute(f"(define n{k} 0)", f"c{k}").ok

    def stream(k: int) -> None:
        try:
            while not stop.is_set():
                reply = clients[k].execute(f"(set! n{k} (+ n{k} 1))", f"c{k}")
                assert reply.ok, reply
                acked[k] += 1
        except BaseException as problem:  # noqa: BLE001 - reported by the main thread
            errors.append(problem)

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    killed = []
    try:
        for _ in range(2):
            time.sleep(0.4)
            pid = srv.backend_pid()
            assert pid not in killed
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            before = list(acked)
            deadline = time.monotonic() + 10
            while sum(acked) <= sum(before) + workers and time.monotonic() < deadline and not errors:
                time.sleep(0.02)  # wait until work goes on with the new backend
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    assert all(count > 0 for count in acked)
    for k, client in enumerate(clients):  # (each session is held read-write by its streamer)
        assert client.execute(f"n{k}", f"c{k}").output == f"=> {acked[k]}", (k, acked)
    info = srv.status()
    assert info["restarts"] >= 2 and info["backend_pid"] not in killed
    for k, client in enumerate(clients):
        assert client.reconnects >= 1, k
        inputs = [e for e in log_events(srv.sessions_dir / f"c{k}.jsonl") if e.get("type") == "input"]
        increments = [e for e in inputs if e["code"] == f"(set! n{k} (+ n{k} 1))"]
        assert len(increments) == acked[k]  # in the log once each: nothing ran twice
        rids = [e.get("rid") for e in increments]
        assert len(set(rids)) == len(rids)


LOOP = "(define (loop i) (if (= i 0) 0 (loop (- i 1))))"


@pytest.mark.slow
def test_a_kill_during_a_long_computation_leaves_no_partial_effect(make_server: Callable[..., LiveServer]) -> None:
    """On a bare connection (no retry): the killed command is not in the log and changed nothing."""
    srv = make_server()
    with srv.client() as client:
        assert client.execute(LOOP + " (define m 0)", "long").ok
    log = srv.sessions_dir / "long.jsonl"
    before = log.read_bytes()
    pid = srv.backend_pid()
    conn = srv.raw()
    try:
        conn.send_bytes(json.dumps(request("execute", "long", rid="long-1",
                                           line="(set! m 1) (loop 5000000)")).encode())
        time.sleep(0.5)
        assert not conn.poll(0), "the computation should still be running"
        os.kill(pid, signal.SIGKILL)
        assert conn.poll(10), "the connection neither answered nor closed after the kill"
        with pytest.raises((EOFError, OSError)):  # closed: no reply for the killed command
            conn.recv_bytes()
    finally:
        conn.close()
    with srv.client() as client:
        assert client.execute("m", "long").output == "=> 0"  # (set! m 1) left no trace
        assert client.status()["backend_pid"] != pid
    events = log_events(log)
    assert not [e for e in events if "loop 5000000" in str(e.get("code", ""))]
    assert log.read_bytes().startswith(before)  # nothing rewritten, only appended to
    seqs = [e["seq"] for e in events if "seq" in e]
    assert seqs == list(range(len(seqs)))


@pytest.mark.slow
def test_a_kill_during_a_long_computation_retried_by_the_client_runs_it_exactly_once(
        make_server: Callable[..., LiveServer]) -> None:
    """With the client (which resends after reconnecting): the command is in the log exactly once."""
    srv = make_server()
    iterations = 1_500_000
    line = f"(set! m (+ m 1)) (loop {iterations})"
    with srv.client() as client:
        assert client.execute(LOOP + " (define m 0)", "long").ok
        pid = srv.backend_pid()
        outcome: list[Any] = []
        worker = threading.Thread(target=lambda: outcome.append(client.execute(line, "long")))
        worker.start()
        time.sleep(0.5)
        assert not outcome, "the computation should still be running"
        os.kill(pid, signal.SIGKILL)
        worker.join(60)
        assert outcome and outcome[0].ok, outcome
        assert [r["value"] for r in outcome[0].results] == ["null", "0"]
        assert client.reconnects >= 1
        assert client.execute("m", "long").output == "=> 1"
    inputs = [e for e in log_events(srv.sessions_dir / "long.jsonl") if e.get("code") == line]
    assert len(inputs) == 1


HOLDER_SCRIPT = """
import sys, time
from omega_core.config import load_config
from omega_core.server.client import OmegaClient
client = OmegaClient(load_config(sys.argv[1]), name="doomed", autostart=False)
assert client.execute("(define held 1)", "held").ok
print("ready", flush=True)
time.sleep(60)
"""


def test_a_client_killed_with_sigkill_leaves_no_stale_lock(srv: LiveServer) -> None:
    env = dict(os.environ, **srv.environ)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER_SCRIPT, str(srv.config_path)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with srv.client(name="next") as client:
            with pytest.raises(ServerError) as caught:
                client.execute("held", "held")
            assert caught.value.code == ErrorCode.LOCKED and "doomed" in caught.value.message
            holder.kill()
            holder.wait(10)
            deadline = time.monotonic() + 2
            while True:
                try:
                    assert client.execute("held", "held").output == "=> 1"
                    break
                except ServerError as problem:
                    assert problem.code == ErrorCode.LOCKED
                    assert time.monotonic() < deadline, "the dead client's lock was never released"
                    time.sleep(0.05)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    srv.assert_healthy()
