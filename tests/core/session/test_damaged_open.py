"""Opening a damaged session never leaks a descriptor or the log's flock: every open path (open/load,
goto, the copy source of rename/fork, list) opens a damaged file twice (the same clear error both
times, never ``locked``; in a server the session opens read-only and refuses changes), then the
repaired file opens normally in the same process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.errors import OmegaError
from omega_core.repl.processor import process
from omega_core.server.manager import SessionManager
from omega_core.session.recorded import RecordedSession


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def make_session(sessions_dir: Path, name: str = "bad") -> bytes:
    session = RecordedSession.open(sessions_dir, name, Config(session_dir=str(sessions_dir.parent)))
    for number in range(6):
        session.execute(f"(define x{number} {number})")
    session.close()
    (sessions_dir / f"{name}.index.json").unlink()  # opening must read the whole log (replay)
    return (sessions_dir / f"{name}.jsonl").read_bytes()


def damage(log: Path, good: bytes) -> None:
    """Bytes flipped in the middle of the file (not the torn-tail case a crash leaves)."""
    middle = len(good) // 2
    log.write_bytes(good[:middle] + b"\x00garbage{" + good[middle + 9:])


def manager_for(tmp_path: Path) -> SessionManager:
    return SessionManager(Config(session_dir=str(tmp_path)))


def assert_damage_reported_twice_then_repaired(tmp_path: Path, attempt) -> None:  # type: ignore[no-untyped-def]
    sessions = tmp_path / "sessions"
    sessions.mkdir(exist_ok=True)
    good = make_session(sessions)
    log = sessions / "bad.jsonl"
    damage(log, good)
    before = open_fds()
    for _ in range(2):
        with pytest.raises(OmegaError) as caught:
            attempt()
        assert "damaged" in caught.value.message and "locked" not in caught.value.message, caught.value.message
        assert str(log) in caught.value.message
    assert open_fds() == before  # nothing left open by the failed opens
    log.write_bytes(good)
    attempt()


def test_open_of_a_damaged_log_leaks_nothing(tmp_path: Path) -> None:
    config = Config(session_dir=str(tmp_path))
    opened: list[RecordedSession] = []
    assert_damage_reported_twice_then_repaired(
        tmp_path, lambda: opened.append(RecordedSession.open(config.sessions_dir, "bad", config)))
    assert opened[0].next_seq > 0
    opened[0].close()


def test_load_through_the_server_manager_leaks_nothing(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)
    repl = manager.get("main").repl

    def load() -> None:  # a damaged session loads read-only: the change is refused, not "locked"
        state, output, _ = process(repl, ":session load bad")
        assert state.session.name == "bad", output
        state.session.execute("(define y 1)")

    assert_damage_reported_twice_then_repaired(tmp_path, load)
    manager.close_all()


def test_goto_open_path_leaks_nothing(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)

    def goto() -> None:  # what op_goto does: load (off the loop) then jump
        manager.preload("bad", create=False)
        manager.get("bad", create=False).session.goto(1)

    assert_damage_reported_twice_then_repaired(tmp_path, goto)
    manager.close_all()


def test_copy_source_of_rename_leaks_nothing(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)
    assert_damage_reported_twice_then_repaired(tmp_path, lambda: manager.rename("bad", "renamed"))
    assert (tmp_path / "sessions" / "renamed.jsonl").exists()
    manager.close_all()


def test_list_of_a_damaged_session_then_open_after_repair(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)

    def list_then_open() -> None:
        assert "bad" in [row["name"] for row in manager.list()]
        manager.get("bad", create=False).session.execute("(define y 1)")

    assert_damage_reported_twice_then_repaired(tmp_path, list_then_open)
    manager.close_all()
