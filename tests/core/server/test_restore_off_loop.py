"""A snapshot restored in place through the server (``:session restore ID`` typed, or the
``restore`` op) replays in a worker thread like ``goto`` (``off_loop.restore_in_place``), with
the REPL's report, errors and undo snapshot."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from omega_core.config import Config
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_core.server.off_loop import restore_in_place
from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture
def repl(tmp_path: Path) -> Iterator[ReplState]:
    state = ReplState.open(dataclasses.replace(Config(), session_dir=str(tmp_path)), "restore-here")
    try:
        yield state
    finally:
        state.close()


def test_the_replay_of_a_restore_in_place_runs_in_a_worker_thread(repl: ReplState,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    process(repl, "(define x 1)")
    _, made, _ = process(repl, ":session snapshot first")
    snapshot_id = made.split()[1]
    process(repl, "(set! x 2)")
    threads: list[int] = []
    prepare = repl.session.prepare_goto

    def recording(seq: int) -> object:
        threads.append(threading.get_ident())
        return prepare(seq)

    monkeypatch.setattr(repl.session, "prepare_goto", recording)
    report = anyio.run(restore_in_place, repl, snapshot_id)
    assert threads and threads[0] != threading.get_ident()
    assert report.startswith("Jumped to seq ") and f"\nRestored {snapshot_id} (what it replaced is snapshot " in report
    assert process(repl, "x")[1] == "=> 1"
    undo = report.rsplit(":session restore ", 1)[1].split()[0]
    assert process(repl, f":session restore {undo}")[1].endswith("undoes this)")  # the REPL's own path
    assert process(repl, "x")[1] == "=> 2"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("restore-off-loop"))
    make = next(factory)
    try:
        yield make()
    finally:
        factory.close()


def test_a_typed_restore_in_place_reads_as_the_repl_s_and_goes_back(srv: LiveServer) -> None:
    with srv.client(name="typed") as client, Probe(srv) as probe:
        client.execute("(define y 1)", "rs")
        snapshot_id = client.execute(":session snapshot one", "rs").output.split()[1]
        client.execute("(set! y 2)", "rs")
        reply = client.execute(f":session restore {snapshot_id}", "rs")
        assert reply.output.startswith("Jumped to seq ") and f"Restored {snapshot_id}" in reply.output, reply.output
        assert client.execute("y", "rs").output == "=> 1"
        assert client.execute(":session restore nope", "rs").output.startswith("error: ")
        assert client.execute(":session restore", "rs").output.startswith("usage: :session restore ID")
    probe.assert_served()


def test_the_restore_op_in_place_goes_back(srv: LiveServer) -> None:
    with srv.client(name="op") as client:
        client.execute("(define z 1)", "rs-op")
        made = client.call("snapshot", "rs-op", description="before")
        client.execute("(set! z 2)", "rs-op")
        result = client.call("restore", "rs-op", id=made["id"])
        assert result["session"] == "rs-op" and f"Restored {made['id']}" in result["report"], result
        assert client.execute("z", "rs-op").output == "=> 1"
