"""Durability (ARCHITECTURE.md section 3) on a LIVE server, read back straight from the files:
log append before acknowledgement, background derived files, atomic index replacement, the fsync
modes, flushing on SIGTERM and on idle shutdown; and a full disk at the unit level."""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config, load_config
from omega_core.errors import OmegaError
from omega_core.session import log as log_module
from omega_core.session.recorded import RecordedSession
from tests.core.server.live_server import LiveServer, log_events, log_next_seq, servers, wait_gone


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def read_index(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


# --------------------------------------------------------------------------------------------
# The log is written before the reply


@pytest.mark.parametrize("fsync", ["interval", "always", "never"])
def test_every_acknowledged_execute_is_already_in_the_log_file(make_server: Callable[..., LiveServer],
                                                               fsync: str) -> None:
    srv = make_server(server={"fsync": fsync, "save_interval_ms": 600_000})
    log = srv.sessions_dir / "durable.jsonl"
    with srv.client() as client:
        for k in range(25):
            line = f"(define d{k} (* {k} {k}))" if k % 5 else f"(car {k})"  # errors are recorded too
            reply = client.execute(line, "durable")
            events = log_events(log)  # read by this process, right after the reply
            inputs = [e for e in events if e.get("type") == "input"]
            assert inputs[-1]["code"] == line
            tail = events[events.index(inputs[-1]) + 1:]
            kinds = [e["type"] for e in tail]
            assert ("result" in kinds) is reply.ok and ("error" in kinds) is (not reply.ok)
            assert log_next_seq(log) == max(e["seq"] for e in events if "seq" in e) + 1
        assert len([e for e in log_events(log) if e.get("type") == "input"]) == 25


def test_fsync_always_syncs_before_execute_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit level: with ``fsync = "always"`` every recorded input is synced before ``execute`` returns,
    with ``interval`` none is (the flusher does it later)."""
    calls: list[int] = []
    real = log_module._sync
    monkeypatch.setattr(log_module, "_sync", lambda fd: (calls.append(fd), real(fd))[1])
    for policy, expect_sync in (("always", True), ("interval", False)):
        config = _config(tmp_path / policy, fsync=policy)
        session = RecordedSession.open(config.sessions_dir, "s", config)
        try:
            for k in range(5):
                calls.clear()
                session.execute(f"(define v{k} {k})")
                assert bool(calls) is expect_sync, (policy, calls)
            if policy == "interval":
                assert session._writer is not None and session._writer.needs_fsync
        finally:
            session.close()


# --------------------------------------------------------------------------------------------
# Derived files in the background


def test_states_and_index_are_written_in_the_background(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 100})
    paths = srv.sessions_dir
    with srv.client() as client:
        assert client.execute("(define (f x) (+ x 1)) (define big 0)", "bg").ok
        wait_for(lambda: (paths / "bg.states.ndjson").exists(), 3, "the states file")
        # enough inputs for the index to be due (it is rewritten when the log has grown enough)
        for k in range(80):
            assert client.execute("(set! big (f big))", "bg").ok
        count = log_next_seq(paths / "bg.jsonl")

        def index_caught_up() -> bool:
            try:
                index = read_index(paths / "bg.index.json")
            except FileNotFoundError:
                return False
            return index["eventCount"] >= count - 256

        wait_for(index_caught_up, 3, "the background index write")
        index = read_index(paths / "bg.index.json")
        assert index["sessionId"] == "bg" and index["checkpoints"]
        last = index["checkpoints"][-1]
        with open(paths / "bg.jsonl", "rb") as handle:  # byteOffset points at that checkpoint's line
            handle.seek(last["byteOffset"])
            line = json.loads(handle.readline())
        assert line["seq"] == last["seq"] and line["type"] == "checkpoint" and line["stateId"] == last["stateId"]
        assert client.status()["last_flush"] is not None


def test_a_short_session_gets_its_index_in_the_background(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 100})
    with srv.client() as client:
        assert client.execute("(define x 1)", "short").ok
        wait_for(lambda: (srv.sessions_dir / "short.index.json").exists(), 1.5, "the index of a short session")


@pytest.mark.slow
def test_the_index_is_never_seen_half_written(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 10, "index_interval_ms": 0, "fsync": "never"})
    index_path = srv.sessions_dir / "atomic.index.json"
    stop = threading.Event()
    seen: list[int] = []
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                data = index_path.read_bytes()
            except FileNotFoundError:
                continue
            try:
                index = json.loads(data)
                seen.append(index["eventCount"])
            except (ValueError, KeyError) as problem:
                bad.append(f"{problem}: {data[:80]!r}...{data[-80:]!r}")

    thread = threading.Thread(target=reader)
    with srv.client() as client:
        assert client.execute("(define n 0)", "atomic").ok
        thread.start()
        try:
            for _ in range(400):
                assert client.execute("(set! n (+ n 1))", "atomic").ok
            time.sleep(0.2)
        finally:
            stop.set()
            thread.join(10)
    assert not bad, bad[:3]
    assert len(set(seen)) >= 3, sorted(set(seen))  # it really was rewritten while being read
    assert seen == sorted(seen)  # and never went backwards
    leftovers = [p.name for p in srv.sessions_dir.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


# --------------------------------------------------------------------------------------------
# Stopping flushes everything


def _assert_flushed(sessions_dir: Path, names: list[str]) -> None:
    for name in names:
        index = read_index(sessions_dir / f"{name}.index.json")
        assert index["eventCount"] == log_next_seq(sessions_dir / f"{name}.jsonl"), name
        meta = json.loads((sessions_dir / f"{name}.meta.json").read_text())
        assert meta["eventCount"] == index["eventCount"]
        assert meta["logSize"] == (sessions_dir / f"{name}.jsonl").stat().st_size
        assert all(cp["stateId"] in index["states"] for cp in index["checkpoints"][-1:])


def test_sigterm_to_the_supervisor_flushes_everything_and_removes_its_files(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 600_000})
    names = ["t1", "t2"]
    with srv.client() as client:
        for name in names:
            for k in range(12):
                assert client.execute(f"(define {name}v{k} {k})", name).ok
        backend = int(client.status()["backend_pid"])
        assert not (srv.sessions_dir / "t1.index.json").exists()
    assert srv.supervisor_pid is not None
    os.kill(srv.supervisor_pid, signal.SIGTERM)
    assert wait_gone(srv.supervisor_pid, 10), "the supervisor did not stop on SIGTERM"
    assert wait_gone(backend, 5), "the backend outlived its supervisor"
    _assert_flushed(srv.sessions_dir, names)
    assert not srv.paths.socket.exists() and not srv.paths.pid.exists()
    # and it all comes back
    srv.start()
    with srv.client() as client:
        assert client.execute("t2v11", "t2").output == "=> 11"
        assert client.open_session("t1")["warnings"] == []


@pytest.mark.slow
def test_idle_shutdown_stops_a_server_without_clients_and_flushes(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"idle_shutdown_s": 1, "save_interval_ms": 600_000})
    with srv.client() as client:
        assert client.execute("(define idle 1)", "idle").ok
        time.sleep(2.0)  # a connected client, even a quiet one, keeps it up
        assert client.ping() == "pong"
        assert client.execute("(set! idle 2)", "idle").ok
    closed = time.monotonic()
    assert srv.supervisor_pid is not None
    assert wait_gone(srv.supervisor_pid, 6), "no idle shutdown"
    assert time.monotonic() - closed >= 0.9
    _assert_flushed(srv.sessions_dir, ["idle"])
    assert not srv.paths.socket.exists() and not srv.paths.pid.exists()


# --------------------------------------------------------------------------------------------
# A full disk (unit level: tests run as root, so permissions cannot make a file unwritable)


def _config(base: Path, **server: Any) -> Config:
    base.mkdir(parents=True, exist_ok=True)
    text = "[server]\n" + "".join(f'{key} = {json.dumps(value)}\n' for key, value in server.items())
    (base / "omega.toml").write_text(text)
    return load_config(base / "omega.toml", environ={"OMEGA_SESSION_DIR": str(base / "sd"),
                                                      "OMEGA_RUNTIME_DIR": "/tmp/omega-unused"})


def _no_space(*args: Any, **kwargs: Any) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def full_disk_session(tmp_path: Path) -> Iterator[RecordedSession]:
    config = _config(tmp_path)
    session = RecordedSession.open(config.sessions_dir, "full", config)
    try:
        yield session
    finally:
        session.close()


def test_a_full_disk_fails_the_command_clearly_and_leaves_the_log_as_it_was(
        full_disk_session: RecordedSession, monkeypatch: pytest.MonkeyPatch) -> None:
    session = full_disk_session
    session.execute("(define kept 1)")
    session.execute("(define (sq x) (* x x))")
    log = session.paths.log
    before = log.read_bytes()
    seq = session.next_seq
    checkpoints = list(session.checkpoints)
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", _no_space)
        with pytest.raises(OmegaError) as caught:
            session.execute("(define lost 2)")
    message = caught.value.message
    assert str(log) in message and "No space" in message, message
    assert log.read_bytes() == before
    assert session.next_seq == seq
    # reads still work
    assert [e["seq"] for e in session.tail_events(3)] == [seq - 3, seq - 2, seq - 1]
    assert session.checkpoints == checkpoints
    assert [event["seq"] for _, event in session.iter_events()][-1] == seq - 1
    # the disk recovers: the next command works and takes the next seq, no gap
    results = session.execute("(sq kept)")
    assert results[0].value == "1"
    events = log_events(log)
    inputs = [e for e in events if e.get("type") == "input"]
    assert inputs[-1]["code"] == "(sq kept)" and inputs[-1]["seq"] == seq
    assert [e["seq"] for e in events if "seq" in e] == list(range(session.next_seq))


def test_a_full_disk_during_a_flush_keeps_the_old_index_and_the_session_usable(
        full_disk_session: RecordedSession, monkeypatch: pytest.MonkeyPatch) -> None:
    session = full_disk_session
    session.execute("(define a 1)")
    session.flush(force_index=True)
    index_before = session.paths.index.read_bytes()
    session.execute("(define b 2)")
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", _no_space)
        with pytest.raises(OmegaError) as caught:
            session.flush(force_index=True)
    assert "No space" in caught.value.message
    assert session.paths.index.read_bytes() == index_before
    assert not [p for p in session.paths.log.parent.iterdir() if p.name.endswith(".tmp")]
    assert session.execute("(+ a b)")[0].value == "3"
    session.flush(force_index=True)
    assert read_index(session.paths.index)["eventCount"] == session.next_seq


def test_a_command_that_could_not_be_recorded_leaves_no_effect_in_memory(
        full_disk_session: RecordedSession, monkeypatch: pytest.MonkeyPatch) -> None:
    session = full_disk_session
    session.execute("(define kept 1)")
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", _no_space)
        with pytest.raises(OmegaError):
            session.execute("(define lost 2) (set! kept 99)")
    live = [r.value if r.ok else r.error_code for r in session.execute("kept")]
    session.close()
    for derived in (session.paths.index, session.paths.states, session.paths.meta):
        derived.unlink(missing_ok=True)  # caches of the log: what the log alone gives
    rebuilt = RecordedSession.open(session.paths.log.parent, "full", session.config)
    try:
        from_log = [r.value if r.ok else r.error_code for r in rebuilt.execute("kept")]
    finally:
        rebuilt.close()
    assert from_log == ["1"]
    assert live == from_log  # memory agrees with the log
