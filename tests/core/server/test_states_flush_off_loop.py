"""The flush loop writes checkpoint states in a worker thread, not on the event loop (a 16 MiB
global's state held the loop 50-100 ms there), in pieces; the references are installed on the
loop afterwards, and a flush or close on the session's own thread meanwhile writes nothing twice."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from omega_core.config import Config
from omega_core.lang.serialize_shared import STRING_PIECE_CHARS
from omega_core.server.manager import SessionManager
from omega_core.server.persistence import PersistenceManager
from omega_core.session.checkpoint_states import CheckpointStates
from omega_core.session.recorded import RecordedSession
from omega_core.session.states import StateStore

BIG_DOUBLINGS = 20
"""``(grow "x" 20)``: a string of 1 Mi characters (16 pieces)."""


def config_for(tmp_path: Path) -> Config:
    return dataclasses.replace(Config(), session_dir=str(tmp_path))


def define_big(session: RecordedSession) -> None:
    session.execute("(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))")
    session.execute(f'(define big (grow "x" {BIG_DOUBLINGS}))')


def assert_big_restored(session: RecordedSession) -> None:
    """The last state of ``session`` read from its file holds the big string (not a replay's)."""
    last = max(session.states.refs, key=lambda state_id: int(state_id.split("-")[1]))
    fresh = CheckpointStates(session.paths.states, session.states.refs)
    assert fresh.restore(last).globals["big"] == "x" * (1 << BIG_DOUBLINGS)
    assert session.execute("(string-length big)")[-1].value == str(1 << BIG_DOUBLINGS)


def state_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_the_flush_loop_writes_states_in_a_worker_thread_in_pieces(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_for(tmp_path)
    manager = SessionManager(config)
    persistence = PersistenceManager(config, manager)
    writers: list[tuple[str, int]] = []
    real_pieces, real_text = StateStore.append_pieces, StateStore.append_text

    def pieces(store: StateStore, parts: list[str]) -> int:
        writers.append((threading.current_thread().name, len(parts)))
        return real_pieces(store, parts)

    def text(store: StateStore, line: str) -> int:
        writers.append((threading.current_thread().name, 1))
        return real_text(store, line)

    monkeypatch.setattr(StateStore, "append_pieces", pieces)
    monkeypatch.setattr(StateStore, "append_text", text)
    try:
        session = manager.get("big").session
        define_big(session)
        pending = set(session.states.pending)
        assert pending
        loop_thread: list[str] = []

        async def flush() -> None:
            loop_thread.append(threading.current_thread().name)
            await persistence.flush_round()

        anyio.run(flush)
        assert writers and all(name != loop_thread[0] for name, _ in writers), writers
        assert max(parts for _, parts in writers) >= (1 << BIG_DOUBLINGS) // STRING_PIECE_CHARS
        assert not session.states.pending
        assert pending <= set(session.states.refs)
        lines = state_lines(session.paths.states)
        assert any(record == ["str", "x" * (1 << BIG_DOUBLINGS)]
                   for line in lines if "recordsOf" in line for record in line["records"])
    finally:
        manager.close_all()
    reopened = RecordedSession.open(config.sessions_dir, "big", config)
    try:
        assert_big_restored(reopened)
    finally:
        reopened.close()


def test_a_flush_on_the_session_thread_while_a_job_is_out_writes_nothing_twice(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    session = RecordedSession.open(config.sessions_dir, "s", config)
    try:
        define_big(session)
        job = session.flush_states_job()
        assert job is not None
        session.flush_states()  # e.g. an eviction before the worker thread ran the job
        size = session.paths.states.stat().st_size
        assert job() == 0  # its states are written already
        session.states_flushed(0)
        assert session.paths.states.stat().st_size == size
        ids = [line["stateId"] for line in state_lines(session.paths.states) if "stateId" in line]
        assert len(ids) == len(set(ids))
    finally:
        session.close()


def test_a_close_before_the_job_is_installed_keeps_what_the_job_wrote(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    session = RecordedSession.open(config.sessions_dir, "s", config)
    define_big(session)
    job = session.flush_states_job()
    assert job is not None and job() > 0
    written = dict(session.states.pending)
    session.close()  # the job's references are installed first: no second copy of its states
    ids = [line["stateId"] for line in state_lines(session.paths.states) if "stateId" in line]
    assert sorted(ids) == sorted(written)
    reopened = RecordedSession.open(config.sessions_dir, "s", config)
    try:
        assert_big_restored(reopened)
    finally:
        reopened.close()
