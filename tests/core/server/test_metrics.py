"""Session and server metrics (issue #5 part 2) checked against known workloads.

A real server whose scripted oracle answers from a script file named in the config file it was
started with; a workload of 10 inputs (2 errors, 1 oracle call) whose figures are all known; the
server-wide pool, persistence and restart figures on fresh servers; the same figures as text
through ``execute``; and ``:session metrics`` in-process through ``omega_core.repl.processor.process``.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import omega_core.repl.commands  # noqa: F401 - registers every command
from omega_core.config import load_config
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_core.repl.timeline_commands import session_metrics
from omega_core.server.client import OmegaClient, ServerError
from omega_core.server.protocol import ErrorCode
from omega_core.session.metrics import LATENCY_WINDOW
from tests.core.server.live_server import LiveServer, log_events, servers

ORACLE_SCRIPT = """
[[answer]]
match = "capital of France"
answer = "Paris"
"""
PROMPT = "capital of France"
EXPECTED_TOKENS = len(PROMPT.split()) + len("Paris".split())  # the scripted oracle counts words

WORKLOAD: list[tuple[str, bool]] = [
    ("(define x 10)", True),
    ("(define (sq n) (* n n))", True),
    ("(sq x)", True),
    ("(car 1)", False),
    (f'(string-append "A: " (effect infer.op "{PROMPT}"))', True),
    ("(list 1 2 3)", True),
    ("undefined-thing", False),
    ("(+ x 1)", True),
    ("(define (loop n) (if (= n 0) 0 (loop (- n 1))))", True),
    ("(loop 100)", True),
]
"""10 inputs of one form each: 2 fail, 1 asks the oracle once."""


def oracle_extra(base: Path) -> dict[str, Any]:
    script = base / "oracle-script.toml"
    base.mkdir(parents=True, exist_ok=True)
    script.write_text(ORACLE_SCRIPT, encoding="utf-8")
    return {"oracle": {"kind": "scripted", "script": str(script)}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("metrics")
    factory = servers(base)
    make = next(factory)
    try:
        yield make(extra=oracle_extra(base / "script"))
    finally:
        factory.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def session_files_size(sessions_dir: Path, name: str) -> int:
    """Every file of session ``name`` on disk (log, index, states, meta, timeline)."""
    return sum(path.stat().st_size for path in sessions_dir.glob(f"{name}.*") if path.is_file())


def wait_until_flushed(client: OmegaClient, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = client.call("metrics")
        if data["persistence"]["queue"] == 0 and data["persistence"]["last_flush"] is not None:
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.02)


def run_workload(client: OmegaClient, session: str) -> tuple[int, list[float]]:
    """Run WORKLOAD; return the sum of the steps its form results report and each round trip (ms)."""
    steps = 0
    round_trips = []
    for line, ok in WORKLOAD:
        started = time.perf_counter()
        reply = client.execute(line, session)
        round_trips.append((time.perf_counter() - started) * 1000)
        assert reply.ok is ok, (line, reply.output)
        assert len(reply.results) == 1
        steps += reply.results[0]["steps"]
    return steps, round_trips


def check_latency(latency: dict[str, Any], count: int) -> None:
    window = latency["window"]
    assert len(window) == count
    assert all(value >= 0 for value in window)
    assert min(window) <= latency["p50"] <= latency["p99"] <= max(window)
    assert latency["p50"] in window and latency["p99"] in window
    assert latency["avg"] == pytest.approx(statistics.fmean(window), abs=0.01)


# --------------------------------------------------------------------------------------------
# Session metrics against a known workload


def test_session_metrics_match_a_known_workload(srv: LiveServer) -> None:
    session = "known"
    began = time.time()
    with srv.client(name="worker") as client:
        steps, round_trips = run_workload(client, session)
        wait_until_flushed(client)
        data = client.call("metrics", session)
        on_disk = session_files_size(srv.sessions_dir, session)
        ended = time.time()

        assert data["commands"] == 10
        assert data["errors"] == 2
        assert data["steps"] == steps and steps > 0
        events = [e for e in log_events(srv.sessions_dir / f"{session}.jsonl") if "seq" in e]
        assert steps == sum(e.get("steps", 0) for e in events if e["type"] in ("result", "error"))
        assert data["oracle"]["calls"] == 1
        responses = [e for e in events if e["type"] == "llm_resp"]
        assert len(responses) == 1
        assert data["oracle"]["tokens"] == responses[0]["tokens"] == EXPECTED_TOKENS > 0
        assert data["oracle"]["ms"] >= 0
        check_latency(data["latency_ms"], 10)
        # the server's time per input is part of what the client waited for it
        for server_ms, client_ms in zip(data["latency_ms"]["window"], round_trips):
            assert server_ms <= client_ms + 0.01, (data["latency_ms"]["window"], round_trips)
        assert data["memory"]["current"] > 0 and data["memory"]["peak"] >= data["memory"]["current"]
        assert data["disk_bytes"] == on_disk > 0
        assert began <= data["last_access"] <= ended

        # reading metrics is no command, and the same figures come back
        again = client.call("metrics", session)
        assert {k: again[k] for k in ("commands", "errors", "steps", "oracle", "disk_bytes")} == {
            k: data[k] for k in ("commands", "errors", "steps", "oracle", "disk_bytes")}

        # the same figures as text through execute
        text = client.execute(":session metrics", session).output
        assert text.splitlines()[0] == f"Session '{session}'"
        assert "commands      10 (2 errors)" in text
        assert f"steps         {steps:,}" in text
        assert f"oracle        1 calls, {EXPECTED_TOKENS} tokens" in text
        assert "(last 10)" in text
        assert f"disk          {on_disk:,} bytes" in text
        assert re.search(r"memory        [\d,]+ bytes \(peak [\d,]+\)", text)
        latency = data["latency_ms"]
        assert f"p50 {latency['p50']} ms, p99 {latency['p99']} ms" in text
        # another session's metrics by name
        client.execute("(+ 1 2)", "known-other")
        by_name = client.execute(f":session metrics {session}", "known-other").output
        assert by_name.splitlines()[0] == f"Session '{session}'" and "commands      10 (2 errors)" in by_name
        assert client.call("metrics", "known-other")["commands"] == 1


def test_metrics_op_on_a_missing_or_bad_session(srv: LiveServer) -> None:
    with srv.client(name="asker") as client:
        with pytest.raises(ServerError) as caught:
            client.call("metrics", "no-such-session")
        assert caught.value.code == ErrorCode.NOT_FOUND
        with pytest.raises(ServerError) as caught:
            client.call("metrics", "../etc")
        assert caught.value.code == ErrorCode.INVALID_NAME
    assert not (srv.sessions_dir / "no-such-session.jsonl").exists()


def test_session_metrics_command_for_a_missing_session_is_an_error_and_creates_nothing(srv: LiveServer) -> None:
    with srv.client(name="asker") as client:
        client.execute("(+ 1 1)", "asker-home")
        reply = client.execute(":session metrics ghost-session", "asker-home")
        created = (srv.sessions_dir / "ghost-session.jsonl").exists()
        assert reply.output.startswith("error: ") and "ghost-session" in reply.output, reply.output
        assert not created


def test_a_read_only_follower_reads_the_writers_metrics(srv: LiveServer) -> None:
    with srv.client(name="writer") as writer, srv.client(name="reader") as reader:
        writer.execute("(define a 1)", "shared-metrics")
        writer.execute("(car 1)", "shared-metrics")
        reader.call("access", "shared-metrics", mode="read-only")
        data = reader.call("metrics", "shared-metrics")
        assert (data["commands"], data["errors"]) == (2, 1)
        assert "commands      2 (1 errors)" in reader.execute(":session metrics", "shared-metrics").output


def test_session_metrics_survive_eviction_from_the_pool(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"max_cached_sessions": 1})
    with srv.client(name="evictor") as client:
        client.execute("(define a 1)", "first")
        client.execute("(car 1)", "first")
        client.execute("(define b 2)", "second")  # evicts 'first'
        assert client.call("metrics")["pool"]["evictions"] == 1
        data = client.call("metrics", "first")
        assert (data["commands"], data["errors"]) == (2, 1)


# --------------------------------------------------------------------------------------------
# Server metrics


def test_server_metrics_pool_clients_persistence_and_restarts(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"max_cached_sessions": 2, "save_interval_ms": 50})
    with srv.client(name="a") as a, srv.client(name="b") as b:
        a.connect()
        b.connect()
        start = a.call("metrics")
        assert start["clients"] == 2
        assert start["restarts"] == 0 and start["uptime_s"] >= 0
        assert start["pool"] == {"sessions": 0, "hits": 0, "misses": 0, "evictions": 0, "memory_estimate_bytes": 0,
                                 "max_memory_bytes": start["pool"]["max_memory_bytes"]}
        assert start["persistence"]["bytes_written"] == 0 and start["persistence"]["queue"] == 0
        assert start["releases_running"] == 0  # nothing is being freed in the background

        def pool() -> dict[str, int]:
            return a.call("metrics")["pool"]  # no session: touches no session

        a.execute("(define p 1)", "p1")  # not in the pool: a miss
        assert (pool()["misses"], pool()["hits"]) == (1, 0)
        a.execute("p", "p1")  # loaded: a hit
        now = pool()
        assert (now["misses"], now["hits"], now["sessions"]) == (1, 1, 1)
        assert now["memory_estimate_bytes"] > 0
        b.execute("(define q 1)", "p2")
        b.execute("(define r 1)", "p3")  # over max_cached_sessions = 2: p1 (least recent) goes
        now = pool()
        assert (now["misses"], now["hits"], now["evictions"], now["sessions"]) == (3, 1, 1, 2)
        assert a.execute("p", "p1").output == "=> 1"  # back from disk: a miss, and p2 goes
        now = pool()
        assert (now["misses"], now["hits"], now["evictions"], now["sessions"]) == (4, 1, 2, 2)

        flushed = wait_until_flushed(a)
        written = flushed["persistence"]["bytes_written"]
        assert written > 0
        log = srv.sessions_dir / "p1.jsonl"
        size = log.stat().st_size
        for i in range(5):
            a.execute(f"(define v{i} {i})", "p1")
        grown = log.stat().st_size - size
        after = a.call("metrics")
        assert after["persistence"]["bytes_written"] >= written + grown > written
        assert after["uptime_s"] >= flushed["uptime_s"]
        assert time.time() - wait_until_flushed(a)["persistence"]["last_flush"] < 5

        text = a.execute(":server metrics", "p1").output
        lines = text.splitlines()
        assert lines[0] == "Server"
        assert re.fullmatch(r"  uptime        \d+ s, 0 backend restart\(s\)", lines[1]), lines[1]
        assert lines[2] == "  clients       2"
        assert re.fullmatch(r"  pool          2 sessions, \d+ hits, 4 misses, 2 evictions, about [\d,]+ of [\d,]+ bytes",
                            lines[3]), lines[3]
        assert re.fullmatch(r"  persistence   \d+ session\(s\) waiting, [\d,]+ bytes written, last flush (just now|\d+ s ago)", lines[4]), \
            lines[4]

        b.close()
        deadline = time.monotonic() + 2
        while a.call("metrics")["clients"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)

        backend = int(a.status()["backend_pid"])
        srv.seen.add(backend)
        uptime = a.call("metrics")["uptime_s"]
        os.kill(backend, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while True:
            try:
                data = a.call("metrics")
                if data["restarts"] == 1:
                    break
            except ServerError:
                pass
            assert time.monotonic() < deadline, "the restart never showed in the metrics"
            time.sleep(0.05)
        srv.remember_pids()
        assert data["uptime_s"] <= uptime + 1
        assert "1 backend restart(s)" in a.execute(":server metrics", "p1").output
        assert a.execute("p", "p1").output == "=> 1"  # nothing acknowledged was lost


# --------------------------------------------------------------------------------------------
# In-process: :session metrics through the command processor


class Repl:
    def __init__(self, config: Any, name: str) -> None:
        self.config = config
        self.state = ReplState.open(config, name)

    def __call__(self, line: str) -> str:
        self.state, output, _ = process(self.state, line)
        return output


@pytest.fixture
def repl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repl]:
    monkeypatch.chdir(tmp_path)
    config_path = tmp_path / "omega.toml"
    script = tmp_path / "oracle-script.toml"
    script.write_text(ORACLE_SCRIPT, encoding="utf-8")
    config_path.write_text(f'[oracle]\nkind = "scripted"\nscript = "{script}"\n', encoding="utf-8")
    r = Repl(load_config(config_path), "inproc")
    yield r
    r.state.close()


def test_in_process_session_metrics_match_a_known_workload(repl: Repl) -> None:
    began = time.time()
    for line, ok in WORKLOAD:
        out = repl(line)
        assert out.startswith("error: ") is (not ok), (line, out)
    session = repl.state.session
    session.flush(force_index=True)
    data = session_metrics(repl.state, None)
    events = [e for e in log_events(session.paths.log) if "seq" in e]
    steps = sum(e.get("steps", 0) for e in events if e["type"] in ("result", "error"))
    assert (data["commands"], data["errors"], data["steps"]) == (10, 2, steps)
    assert data["oracle"]["calls"] == 1 and data["oracle"]["tokens"] == EXPECTED_TOKENS
    check_latency(data["latency_ms"], 10)
    assert data["memory"]["current"] > 0 and data["memory"]["peak"] >= data["memory"]["current"]
    assert data["disk_bytes"] == session_files_size(repl.config.sessions_dir, "inproc")
    assert began <= data["last_access"] <= time.time()

    text = repl(":session metrics")
    assert text.splitlines()[0] == "Session 'inproc'"
    assert "commands      10 (2 errors)" in text and f"steps         {steps:,}" in text
    assert f"oracle        1 calls, {EXPECTED_TOKENS} tokens" in text and "(last 10)" in text
    assert repl(":session metrics inproc").splitlines()[1:3] == text.splitlines()[1:3]
    assert repl(":session metrics other").startswith("error: metrics are kept for the session in use")
    assert repl(":session metrics ../x").startswith("error: ")
    assert repl(":server metrics").startswith("error: this REPL runs in-process")


def test_in_process_latency_window_slides(repl: Repl) -> None:
    total = LATENCY_WINDOW + 10
    for i in range(total):
        repl(f"(+ {i} 1)")
    data = session_metrics(repl.state, None)
    assert data["commands"] == total and data["errors"] == 0
    check_latency(data["latency_ms"], LATENCY_WINDOW)
    assert f"(last {LATENCY_WINDOW})" in repl(":session metrics")


def test_in_process_peak_memory_stays_at_its_high_point(repl: Repl) -> None:
    first = session_metrics(repl.state, None)["memory"]
    for i in range(30):
        repl(f"(define g{i} (list {i} {i}))")
    grown = session_metrics(repl.state, None)["memory"]
    assert grown["current"] > first["current"]
    assert grown["peak"] >= grown["current"] and grown["peak"] >= first["peak"]


def test_disk_bytes_counts_every_file_of_the_session(repl: Repl) -> None:
    repl("(define a 1)")
    seq = repl.state.session.checkpoint_seqs[-1]
    assert repl(f":session annotate {seq} here --note 'a fairly long note to make the file bigger'").startswith("Annotated")
    repl(":session snapshot kept")
    repl.state.session.flush(force_index=True)
    assert (repl.config.sessions_dir / "inproc.timeline.json").exists()
    data = session_metrics(repl.state, None)
    assert data["disk_bytes"] == session_files_size(repl.config.sessions_dir, "inproc")
