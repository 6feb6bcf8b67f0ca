"""The pool gives idle sessions' descriptors back and takes them again on use (issue 10, item 8;
``SessionManager.limit_open_files`` / ``release_idle_files``, ``RecordedSession.release_idle_files``
/ ``reopen_files``): sessions stay loaded with their work, their logs go on without a gap, a log
written by another program meanwhile is read again from disk, and a failure stays in its session."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config
from omega_core.server.manager import SessionManager
from omega_core.session.errors import LogLocked
from omega_core.session.log import SessionLogWriter
from tests.core.server.live_server import log_next_seq


def make_manager(tmp_path: Path, **server: Any) -> SessionManager:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    return SessionManager(dataclasses.replace(config, server=dataclasses.replace(config.server, **server)))


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[SessionManager]:
    made = make_manager(tmp_path, max_open_logs=3, close_idle_files_s=30.0, fsync="always")
    try:
        yield made
    finally:
        made.close_all()


def open_descriptors(directory: Path) -> int:
    """Descriptors of this process open on files under ``directory``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(directory)):
                count += 1
        except OSError:
            continue
    return count


def test_thirty_loaded_sessions_hold_the_descriptors_of_three(manager: SessionManager) -> None:
    for number in range(30):
        manager.get(f"s{number}").session.execute(f"(define x {number})")
    assert len(manager.pool) == 30 and manager.stats.evictions == 0
    assert manager.open_files_count() == 3
    assert open_descriptors(manager.sessions_dir) <= 3 * 2
    for number in range(30):  # every one comes back with its work, and its log goes on without a gap
        session = manager.get(f"s{number}").session
        assert session.execute("(* x 2)")[0].value == str(number * 2)
        assert log_next_seq(session.paths.log) == session.next_seq
    assert manager.open_files_count() == 3


def test_sessions_idle_for_close_idle_files_s_give_their_files_back(manager: SessionManager) -> None:
    for name in ("old", "new"):
        manager.get(name).session.execute("(define y 7)")
    manager.pool["old"].last_access = time.time() - 31
    assert manager.release_idle_files() == ["old"]
    assert not manager.pool["old"].session.files_open and manager.pool["new"].session.files_open
    assert manager.get("old").session.files_open  # reopened by use
    assert manager.get("old").session.execute("y")[0].value == "7"


def test_close_idle_files_s_zero_turns_the_idle_rule_off(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, close_idle_files_s=0.0)
    try:
        manager.get("a").session.execute("(define y 1)")
        manager.pool["a"].last_access = 0.0
        assert manager.release_idle_files() == []
        assert manager.pool["a"].session.files_open
    finally:
        manager.close_all()


def test_a_log_awaiting_its_interval_fsync_keeps_its_files_until_synced(tmp_path: Path) -> None:
    """Closing such a log would fsync it on the loop: the idle rule waits for the fsync loop, and
    the budget takes clean logs first."""
    manager = make_manager(tmp_path, max_open_logs=2, close_idle_files_s=30.0, fsync="interval")
    try:
        manager.get("dirty").session.execute("(define d 1)")
        manager.get("clean").session.execute("(define d 2)")
        manager.pool["clean"].session._writer.fsync()  # what the fsync loop does
        manager.get("third").session.execute("(define d 3)")  # one over the budget of two
        open_now = [name for name, instance in manager.pool.items() if instance.session.files_open]
        assert open_now == ["dirty", "third"]  # dirty is older, but clean went first
        manager.pool["dirty"].last_access = 0.0
        assert manager.release_idle_files() == []
        manager.pool["dirty"].session._writer.fsync()
        assert manager.release_idle_files() == ["dirty"]
    finally:
        manager.close_all()


def test_a_session_running_a_command_keeps_its_files(manager: SessionManager) -> None:
    busy = manager.get("busy")
    busy.session.execute("(define z 1)")
    busy.busy += 1
    try:
        busy.last_access = 0.0
        for number in range(6):
            manager.get(f"other{number}").session.execute("(define z 2)")
        assert manager.release_idle_files() == []
        assert busy.session.files_open
    finally:
        busy.busy -= 1


def test_a_log_written_by_another_program_while_released_is_read_again_from_disk(manager: SessionManager) -> None:
    session = manager.get("shared").session
    session.execute("(define w 1)")
    session.release_idle_files()
    events = session.next_seq
    with SessionLogWriter(session.paths.log, next_seq=events) as other:  # the flock is free meanwhile
        other.append([{"seq": events, "ts": 0, "type": "input", "code": "(define w 2)"},
                      {"seq": events + 1, "ts": 0, "type": "result", "value": "w"}])
    again = manager.get("shared")
    assert again.session is not session and session.closed
    assert again.session.next_seq == events + 2
    assert again.session.execute("w")[0].value == "2"  # the other program's input, replayed
    assert log_next_seq(again.session.paths.log) == again.session.next_seq


def test_a_log_held_by_another_writer_when_reopening_is_refused_clearly(manager: SessionManager) -> None:
    session = manager.get("held").session
    session.execute("(define v 1)")
    session.release_idle_files()
    with SessionLogWriter(session.paths.log, next_seq=session.next_seq):
        with pytest.raises(LogLocked, match="already open for writing elsewhere"):
            manager.get("held")
    assert manager.get("held").session.execute("v")[0].value == "1"


def test_a_failure_while_giving_files_back_marks_only_that_session_degraded(
        manager: SessionManager, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = manager.get("bad")
    bad.session.execute("(define u 1)")
    manager.get("good").session.execute("(define u 2)")

    def refuse() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bad.session, "flush_states", refuse)
    bad.last_access = 0.0
    manager.pool["good"].last_access = 0.0
    assert manager.release_idle_files() == ["good"]
    assert "bad" in manager.health.degraded() and "good" not in manager.health.degraded()
    monkeypatch.undo()
    assert manager.get("bad").session.execute("u")[0].value == "1"


def test_the_budget_follows_a_low_descriptor_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    manager = make_manager(tmp_path, max_open_logs=256)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (64, 64))
    try:
        assert manager.open_files_budget() == 8  # a quarter of 64 descriptors, two per session
    finally:
        manager.close_all()

