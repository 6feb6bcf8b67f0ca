"""``:session fork``, ``:session save``, ``:session load`` and ``:session restore --as`` of a big
session run off the event loop (issue 10, item 6; ``server.off_loop``): the copy and the opening
happen in worker threads, so another client's pings are answered *while* the command runs (not
only after it), the results read as the REPL's, and the backend never restarts.

No timing assertions: what is asserted is that pings were answered between the moment the
command was sent and the moment its reply came back. Run on the loop in one go (as before), a
20k-event fork let at most the ping already in flight through: the loop was busy for its whole
length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from omega_core.session.recorded import RecordedSession
from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, servers

DEFINES = 10_000
PER_INPUT = 100
PINGS_DURING = 3
"""Pings answered while the command ran, at least. A blocked loop can still show two there: one
sent just before the command and answered first, one answered just as the command's reply goes out."""


class TimedProbe(Probe):
    """The isolation probe, remembering when each ping was answered (``time.monotonic``)."""

    def __enter__(self) -> "TimedProbe":
        self.answered_at: list[float] = []
        self.lock = threading.Lock()
        super().__enter__()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._client.ping() == "pong":
                    with self.lock:
                        self.answered += 1
                        self.answered_at.append(time.monotonic())
                else:  # pragma: no cover - reported by the assertion
                    self.failures.append("ping did not answer pong")
            except Exception as problem:  # noqa: BLE001 - reported by the assertion
                self.failures.append(f"{type(problem).__name__}: {problem}")
            self._stop.wait(0.002)

    def answered_between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for moment in self.answered_at if start < moment < end)


def build_big_session(server: LiveServer, name: str) -> None:
    """A session of about 20k events written in this process (before the server starts)."""
    session = RecordedSession.open(server.sessions_dir, name, server.config)
    try:
        for start in range(0, DEFINES, PER_INPUT):
            session.execute(" ".join(f"(define k{n} {n})" for n in range(start, start + PER_INPUT)))
    finally:
        session.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("fork-off-loop"))
    make = next(factory)
    try:
        server = make(start=False)
        build_big_session(server, "big")
        server.start()
        yield server
    finally:
        factory.close()


def event_count(client: object, name: str) -> int:
    return next(row["events"] for row in client.list_sessions() if row["name"] == name)  # type: ignore[attr-defined]


def timed_execute(client: object, line: str, session: str) -> tuple[object, float, float]:
    sent = time.monotonic()
    reply = client.execute(line, session)  # type: ignore[attr-defined]
    return reply, sent, time.monotonic()


def test_a_fork_of_a_big_session_runs_off_the_loop_and_switches_to_the_copy(big: LiveServer) -> None:
    server = big
    with server.client(name="forker") as client, TimedProbe(server) as probe:
        assert client.execute("k1", "big").output == "=> 1"  # loaded: the window below is the fork's
        events = event_count(client, "big")
        reply, sent, done = timed_execute(client, ":session fork big-fork", "big")
        assert reply.output.startswith(f"Forked 'big' at seq {events - 1} into 'big-fork' ({events} events)"), reply.output
        assert reply.session == "big-fork"
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the fork ran"
        assert client.execute(f"k{DEFINES - 1}", "big-fork").output == f"=> {DEFINES - 1}"
        rows = {row["name"]: row for row in client.list_sessions()}
        assert rows["big-fork"]["events"] > events  # the copy, plus what was just run in it
    probe.assert_served()


def test_a_save_and_a_load_of_a_big_session_run_off_the_loop(big: LiveServer) -> None:
    server = big
    with server.client(name="loader") as client, TimedProbe(server) as probe:
        events = event_count(client, "big")
        reply, sent, done = timed_execute(client, ":session save big-saved", "big")
        assert reply.output == f"Saved session 'big' as 'big-saved' ({events} events)", reply.output
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the save ran"
        client.execute("(define here 1)", "elsewhere")
        reply, sent, done = timed_execute(client, ":session load big-saved", "elsewhere")
        assert reply.output.endswith(f"Loaded session 'big-saved' ({events} events)"), reply.output
        assert reply.session == "big-saved"
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the load ran"
        assert client.execute("k7", "big-saved").output == "=> 7"
    probe.assert_served()


def test_a_restore_as_a_new_session_runs_off_the_loop(big: LiveServer) -> None:
    server = big
    with server.client(name="restorer") as client, TimedProbe(server) as probe:
        made = client.execute(":session snapshot big-point", "big")
        snapshot_id = made.output.split()[1] if made.output.startswith("Snapshot ") else None
        assert snapshot_id is not None, made.output
        reply, sent, done = timed_execute(client, f":session restore {snapshot_id} --as big-restored", "big")
        assert "as new session 'big-restored'" in reply.output, reply.output
        assert reply.session == "big-restored"
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the restore ran"
        assert client.execute("k42", "big-restored").output == "=> 42"
    probe.assert_served()


def test_the_restore_op_as_a_new_session_runs_off_the_loop(big: LiveServer) -> None:
    server = big
    with server.client(name="restore-op") as client, TimedProbe(server) as probe:
        made = client.call("snapshot", "big", description="for the op")
        sent = time.monotonic()
        result = client.call("restore", "big", id=made["id"], **{"as": "big-restored-op"})
        done = time.monotonic()
        assert result["session"] == "big-restored-op", result
        assert "as new session 'big-restored-op'" in result["report"], result
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the restore ran"
        assert client.execute("k43", "big-restored-op").output == "=> 43"
    probe.assert_served()


def test_a_rename_of_a_big_loaded_session_copies_it_off_the_loop(big: LiveServer) -> None:
    server = big
    with server.client(name="renamer") as client, TimedProbe(server) as probe:
        assert client.execute(":session save big-to-rename", "big").output.startswith("Saved")
        assert client.execute("k5", "big-to-rename").output == "=> 5"  # loaded: no replay in the window
        events = event_count(client, "big-to-rename")
        sent = time.monotonic()
        client.rename_session("big-to-rename", "big-renamed")
        done = time.monotonic()
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the rename ran"
        names = {row["name"]: row for row in client.list_sessions()}
        assert "big-to-rename" not in names and names["big-renamed"]["events"] == events
        assert client.execute("k6", "big-renamed").output == "=> 6"
    probe.assert_served()


@pytest.mark.parametrize(("line", "expected"), [
    (":session fork", "usage: :session fork NAME"),
    (":session fork ../x", "error: "),
    (":session fork big", "error: a session named 'big' already exists"),
    (":session load nothing-here", "error: no session named 'nothing-here'"),
])
def test_errors_of_commands_run_off_the_loop_read_as_the_repl_s(big: LiveServer, line: str,
                                                                expected: str) -> None:
    server = big
    with server.client(name="errors") as client:
        client.execute("(define y 1)", "fork-errors")
        reply = client.execute(line, "fork-errors")
        assert reply.output.startswith(expected), reply.output
        assert reply.session == "fork-errors"
        assert client.execute("y", "fork-errors").output == "=> 1"



def test_metrics_of_another_big_session_load_it_off_the_loop(big: LiveServer) -> None:
    server = big
    with server.client(name="metrics") as client, TimedProbe(server) as probe:
        assert client.execute(":session save big-metrics", "big").output.startswith("Saved")
        client.close_session("big-metrics")  # unloaded: the metrics below must load it (a replay)
        client.execute("(define here 1)", "metrics-elsewhere")
        reply, sent, done = timed_execute(client, ":session metrics big-metrics", "metrics-elsewhere")
        assert "big-metrics" in reply.output and not reply.output.startswith("error"), reply.output
        assert reply.session == "metrics-elsewhere"
        assert probe.answered_between(sent, done) >= PINGS_DURING, f"only {probe.answered_between(sent, done)} ping(s) answered while the metrics loaded"
    probe.assert_served()
