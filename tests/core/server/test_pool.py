"""The session pool of a LIVE server: LRU by count, a memory bound, flush before eviction, no
eviction of a session in use, and a listing that includes what is only on disk."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import load_config
from omega_core.session.recorded import RecordedSession
from tests.core.server.live_server import LiveServer, log_events, log_next_seq, servers

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def loaded(client: Any) -> list[str]:
    return sorted(row["name"] for row in client.list_sessions() if row["loaded"])


def test_touching_five_sessions_with_room_for_two_evicts_the_least_recently_used(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"max_cached_sessions": 2})
    with srv.client() as client:
        for k in range(1, 6):
            assert client.execute(f"(define v {k})", f"s{k}").ok
        info = client.status()
        assert info["sessions_in_pool"] == 2
        assert info["pool"]["evictions"] == 3
        assert loaded(client) == ["s4", "s5"]
        # s4 used again, then a new one: s5 (least recently used) goes, not s4
        assert client.execute("v", "s4").output == "=> 4"
        assert client.execute("v", "s1").output == "=> 1"  # reloaded from disk
        assert loaded(client) == ["s1", "s4"]
        info = client.status()
        assert info["pool"]["evictions"] == 4 and info["sessions_in_pool"] == 2
        assert info["pool"]["misses"] >= 6 and info["pool"]["hits"] >= 1
        for k in range(1, 6):  # every evicted session still has its work
            assert client.execute("v", f"s{k}").output == f"=> {k}"


def test_an_evicted_dirty_session_is_flushed_first_and_keeps_its_work(make_server: Callable[..., LiveServer]) -> None:
    # no background flush during the test: only the eviction can write the index
    srv = make_server(server={"max_cached_sessions": 2, "save_interval_ms": 600_000, "fsync": "never"})
    paths = srv.sessions_dir
    with srv.client() as client:
        assert client.execute("(define kept (list 1 2 3)) (define (f x) (* x 10))", "dirty").ok
        for k in range(20):
            assert client.execute(f"(set! kept (cons {k} kept))", "dirty").ok
        assert not (paths / "dirty.index.json").exists()  # not flushed yet
        assert client.execute("1", "other1").ok
        assert "dirty" in loaded(client)
        assert client.execute("2", "other2").ok  # evicts "dirty"
        assert "dirty" not in loaded(client)
        index = json.loads((paths / "dirty.index.json").read_text())
        assert index["eventCount"] == log_next_seq(paths / "dirty.jsonl")
        assert (paths / "dirty.states.ndjson").exists()
        assert index["checkpoints"] and index["checkpoints"][-1]["stateId"] in index["states"]
        assert client.execute("(length kept)", "dirty").output == "=> 23"
        assert client.execute("(f (car kept))", "dirty").output == "=> 190"
        opened = client.open_session("dirty")
        assert opened["warnings"] == []  # reloaded from an index that was up to date


@pytest.mark.slow
def test_a_session_running_a_command_is_not_evicted(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"max_cached_sessions": 2})
    runner = srv.client(name="runner")
    other = srv.client(name="other")
    try:
        assert runner.execute("(define (spin) (spin)) (define before 1)", "busy").ok
        outcome: list[Any] = []
        worker = threading.Thread(target=lambda: outcome.append(runner.execute("(set! before 2) (spin)", "busy")))
        worker.start()
        time.sleep(0.3)
        for k in range(4):
            assert other.execute(f"(define w {k})", f"t{k}").ok
            assert "busy" in loaded(other), f"the running session was evicted after touching t{k}"
        info = other.status()
        assert info["pool"]["evictions"] >= 2
        assert info["sessions_in_pool"] <= 3  # the busy one plus the two allowed
        assert runner.interrupt("busy") == {"interrupted": True}
        worker.join(10)
        assert outcome and outcome[0].results[-1]["error_code"] == "interrupted"
        assert runner.execute("before", "busy").output == "=> 2"
        assert other.status()["sessions_in_pool"] <= 2  # back within the bound once it is idle
    finally:
        runner.close()
        other.close()
    codes = [e.get("code") for e in log_events(srv.sessions_dir / "busy.jsonl") if e.get("type") == "input"]
    assert codes.count("(set! before 2) (spin)") == 1


@pytest.mark.slow
def test_two_hundred_sessions_under_a_small_memory_bound_keep_the_pool_bounded(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"max_memory_mb": 1, "max_cached_sessions": 1000})
    highest = 0
    with srv.client() as client:
        for k in range(200):
            assert client.execute(f"(define x {k})", f"m{k:03d}").ok
            if k % 10 == 9:
                info = client.status()
                pool = info["pool"]
                highest = max(highest, info["sessions_in_pool"])
                assert info["sessions_in_pool"] <= 16, info  # 1 MiB / 64 KiB base per session
                assert pool["memory_estimate_bytes"] <= pool["max_memory_bytes"] or info["sessions_in_pool"] == 1
        info = client.status()
        assert info["pool"]["evictions"] >= 200 - 16
        rows = client.list_sessions()
        assert len([r for r in rows if r["name"].startswith("m")]) == 200
        assert client.execute("x", "m000").output == "=> 0"  # evicted long ago, still all there
        assert client.execute("x", "m123").output == "=> 123"
    assert highest >= 2  # the bound is memory, not a pool of one


def test_a_session_a_connected_client_works_in_is_not_evicted_for_memory(
        make_server: Callable[..., LiveServer]) -> None:
    """Evicted whenever another client ran a command, a session bigger than the memory budget was
    loaded again for each of its own commands (30 s each for four million pairs)."""
    srv = make_server(server={"max_memory_mb": 1, "max_cached_sessions": 1000})
    with srv.client(name="big-user") as big_user:
        big_user.execute('(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))', "big")
        assert big_user.execute('(string-length (begin (define text (grow "abcd" 19)) text))', "big").output \
            == "=> 2097152"
        with srv.client(name="others") as others:
            for k in range(4):
                assert others.execute(f"(define x {k})", f"small{k}").ok
            assert "big" in loaded(others)  # over the budget alone, but in use
            assert big_user.execute("(string-length text)", "big").output == "=> 2097152"
    with srv.client(name="others") as others:
        for k in range(4, 8):  # nobody works in "big" any more: it goes first
            assert others.execute(f"(define x {k})", f"small{k}").ok
        assert "big" not in loaded(others)
        assert others.execute("(string-length text)", "big").output == "=> 2097152"


def _write_session(sessions_dir: Path, name: str, inputs: list[str]) -> None:
    """A session written by another program (here: this process) while the server is not looking."""
    config = load_config(environ={"OMEGA_SESSION_DIR": str(sessions_dir.parent), "OMEGA_RUNTIME_DIR": "/tmp"})
    session = RecordedSession.open(sessions_dir, name, config)
    try:
        for line in inputs:
            session.execute(line)
    finally:
        session.close()


def _counts(log: Path) -> tuple[int, int]:
    events = [e for e in log_events(log) if "seq" in e]
    return len(events), sum(1 for e in events if e.get("type") == "checkpoint")


def test_list_sessions_includes_sessions_on_disk_not_loaded_with_right_counts_sorted(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(start=False)
    sessions_dir = srv.sessions_dir
    sessions_dir.mkdir(parents=True)
    for path in FIXTURES.iterdir():  # OmegaLLM's own files
        if path.name != "README.md":
            shutil.copyfile(path, sessions_dir / path.name)
    _write_session(sessions_dir, "Zed", ["(define a 1)", "(+ a 1)"])
    _write_session(sessions_dir, "alpha", ["(define (sq x) (* x x))", "(sq 3)", "(car 1)"])
    _write_session(sessions_dir, "_under", [])
    (sessions_dir / "not a session.jsonl").write_text("{}\n")  # invalid name: never listed
    srv.start()
    with srv.client() as client:
        assert client.execute("(define live 1)", "live").ok
        rows = client.list_sessions()
        names = [row["name"] for row in rows]
        assert names == sorted(names)
        expected = sorted(p.name[:-len(".jsonl")] for p in sessions_dir.glob("*.jsonl") if " " not in p.name)
        assert names == expected
        for row in rows:
            events, checkpoints = _counts(sessions_dir / f"{row['name']}.jsonl")
            assert (row["events"], row["checkpoints"]) == (events, checkpoints), row
            assert row["loaded"] is (row["name"] == "live"), row
            assert row["size"] >= (sessions_dir / f"{row['name']}.jsonl").stat().st_size
        # a session that appears on disk while the server runs is listed too
        _write_session(sessions_dir, "late", ["(+ 1 2)"])
        late = [row for row in client.list_sessions() if row["name"] == "late"]
        assert late and (late[0]["events"], late[0]["checkpoints"]) == _counts(sessions_dir / "late.jsonl")
        assert not late[0]["loaded"]
        # an unloaded session (OmegaLLM's) opens and keeps its counts
        fixture = next(name for name in names if name not in ("Zed", "alpha", "_under", "live"))
        before = next(row for row in rows if row["name"] == fixture)
        client.open_session(fixture)
        after = next(row for row in client.list_sessions() if row["name"] == fixture)
        assert after["loaded"] and after["events"] == before["events"]


@pytest.mark.slow
def test_clients_alternating_over_more_sessions_than_the_pool_holds_lose_nothing(
        make_server: Callable[..., LiveServer]) -> None:
    """Loads and evictions interleave with commands waiting for their session: every reply is ok
    and every command lands in its session's log exactly once."""
    srv = make_server(server={"max_cached_sessions": 1})
    workers = 3
    rounds = 40
    clients = [srv.client(name=f"w{k}") for k in range(workers)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            client = clients[k]
            assert client.execute(f"(define c{k} 0)", f"p{k}").ok
            for _ in range(rounds):
                reply = client.execute(f"(set! c{k} (+ c{k} 1))", f"p{k}")
                assert reply.ok, reply.output
        except BaseException as problem:  # noqa: BLE001 - reported below
            errors.append(problem)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        for k, client in enumerate(clients):
            assert client.execute(f"c{k}", f"p{k}").output == f"=> {rounds}"
    finally:
        for client in clients:
            client.close()
    for k in range(workers):
        codes = [e.get("code") for e in log_events(srv.sessions_dir / f"p{k}.jsonl") if e.get("type") == "input"]
        assert codes.count(f"(set! c{k} (+ c{k} 1))") == rounds
