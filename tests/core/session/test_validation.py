"""Log validation on open (seq gaps, duplicates, a log shorter than its index) and ``:session repair``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.repl.processor import process
from omega_core.server.list_reply import rows_from_reply
from omega_core.server.manager import SessionManager
from omega_core.session.errors import CorruptLog
from omega_core.session.recorded import RecordedSession


def make_session(tmp_path: Path, inputs: int = 10, index: bool = True) -> tuple[Config, Path, bytes]:
    config = Config(session_dir=str(tmp_path))
    session = RecordedSession.open(config.sessions_dir, "s", config)
    for number in range(inputs):
        session.execute(f"(define x{number} {number})")
    session.close()
    if not index:
        (config.sessions_dir / "s.index.json").unlink()
    return config, config.sessions_dir / "s.jsonl", (config.sessions_dir / "s.jsonl").read_bytes()


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def refused(config: Config) -> CorruptLog:
    with pytest.raises(CorruptLog) as caught:
        RecordedSession.open(config.sessions_dir, "s", config)
    return caught.value


@pytest.mark.parametrize("index", [True, False])
@pytest.mark.parametrize("damage", ["missing", "duplicated"])
def test_a_line_missing_or_duplicated_mid_log_is_reported_with_file_and_offset(tmp_path: Path, damage: str,
                                                                              index: bool) -> None:
    config, log, good = make_session(tmp_path, index=index)
    lines = lines_of(good)
    middle = len(lines) // 2
    if damage == "missing":
        del lines[middle]
    else:
        lines.insert(middle, lines[middle])
    log.write_bytes(b"\n".join(lines))
    index_path = config.sessions_dir / "s.index.json"
    index_before = index_path.read_bytes() if index else None
    problem = refused(config)
    assert str(log) in problem.message and "byte " in problem.message and ":session repair s" in problem.message
    if not index:  # the whole log is read: the exact line is named
        assert ("seq gap" if damage == "missing" else "duplicate seq") in problem.message, problem.message
    else:
        assert index_path.read_bytes() == index_before  # never overwritten


@pytest.mark.parametrize("cut", ["empty", "header only"])
def test_a_log_shorter_than_its_index_is_refused_and_the_index_kept(tmp_path: Path, cut: str) -> None:
    config, log, good = make_session(tmp_path)
    index_path = config.sessions_dir / "s.index.json"
    index_before = index_path.read_bytes()
    claimed = json.loads(index_before)["eventCount"]
    log.write_bytes(b"" if cut == "empty" else lines_of(good)[0] + b"\n")
    for _ in range(2):
        problem = refused(config)
        assert str(log) in problem.message
        if cut == "header only":
            assert f"shorter than its index claims ({claimed} events" in problem.message, problem.message
    assert index_path.read_bytes() == index_before
    assert log.read_bytes() == (b"" if cut == "empty" else lines_of(good)[0] + b"\n")


def test_the_session_list_marks_a_damaged_session_and_repair_fixes_it(tmp_path: Path) -> None:
    config, log, good = make_session(tmp_path, index=False)
    lines = lines_of(good)
    cut_line = len(lines) // 2
    del lines[cut_line]
    log.write_bytes(b"\n".join(lines))
    manager = SessionManager(config)
    repl = manager.get("main").repl
    _, output, _ = process(repl, ":session load s")
    assert "damaged" in output
    _, listing, _ = process(repl, ":session list")
    marked = [line for line in listing.splitlines() if line.startswith("  s ")]
    assert marked and "[damaged: session log" in marked[0] and "seq gap" in marked[0], listing
    rows = {row["name"]: row for row in rows_from_reply(json.loads(manager.list_json()))}
    assert "seq gap" in rows["s"]["damaged"] and "damaged" not in rows["main"]
    assert "seq gap" in {row["name"]: row for row in manager.list()}["s"]["damaged"]
    _, report, _ = process(repl, ":session repair s")
    assert report.startswith("Repaired session 's': kept "), report
    assert ".damaged-" in report and "index rebuilt" in report
    backups = sorted(config.sessions_dir.glob("s.jsonl.damaged-*.bak"))
    assert backups and backups[0].read_bytes() == b"\n".join(lines)
    _, listing, _ = process(repl, ":session list")
    assert "damaged" not in listing, listing
    assert "damaged" not in json.loads(manager.list_json())
    state, output, _ = process(repl, ":session load s")
    assert state.session.name == "s" and "damaged" not in output
    kept = state.session.next_seq
    assert 0 < kept < len(lines_of(good)) - 2
    _, output, _ = process(state, "(+ 1 2)")
    assert "=> 3" in output
    manager.close_all()


def test_repair_of_a_log_shorter_than_its_index_rebuilds_the_index_with_a_backup(tmp_path: Path) -> None:
    config, log, good = make_session(tmp_path)
    index_path = config.sessions_dir / "s.index.json"
    index_before = index_path.read_bytes()
    log.write_bytes(lines_of(good)[0] + b"\n")
    refused(config)
    manager = SessionManager(config)
    repl = manager.get("main").repl
    _, report, _ = process(repl, ":session repair s")
    assert "kept 0 events" in report, report
    manager.close_all()
    assert sorted(config.sessions_dir.glob("s.index.json.damaged-*.bak"))[0].read_bytes() == index_before
    session = RecordedSession.open(config.sessions_dir, "s", config)
    assert session.next_seq == 0
    session.close()


def test_repair_without_a_server_and_of_a_healthy_open_session(tmp_path: Path) -> None:
    from omega_core.repl.state import ReplState

    config, log, good = make_session(tmp_path)
    log.write_bytes(good[: len(good) // 2] + b"\x00garbage{\n" + good[len(good) // 2:])
    repl = ReplState.open(config, "main")
    _, report, _ = process(repl, ":session repair s")
    assert report.startswith("Repaired session 's'"), report
    _, output, _ = process(repl, ":session repair main")
    assert "nothing to repair" in output
    repl.close()


def test_repair_of_a_consistent_session_changes_nothing(tmp_path: Path) -> None:
    from omega_core.session.repair import NothingToRepair, repair_session

    config, log, good = make_session(tmp_path)
    with pytest.raises(NothingToRepair) as caught:
        repair_session(config.sessions_dir, "s")
    assert "nothing to repair" in caught.value.message
    assert log.read_bytes() == good and not list(config.sessions_dir.glob("*.bak"))


def test_in_a_server_a_damaged_session_opens_read_only_until_repaired_from_inside(tmp_path: Path) -> None:
    from omega_core.session.validation import SessionDamaged

    config, log, good = make_session(tmp_path)
    index_path = config.sessions_dir / "s.index.json"
    lines = lines_of(good)
    del lines[len(lines) // 2]
    log.write_bytes(b"\n".join(lines))
    index_before = index_path.read_bytes()
    manager = SessionManager(config)
    instance = manager.get("s", create=False)
    session = instance.session
    assert session.damaged is not None and str(log) in session.damaged
    assert session.checkpoints and session.tail_events(5)  # what the panes show still works
    with pytest.raises(SessionDamaged) as caught:
        session.execute("(define y 1)")
    assert caught.value.code == "read_only" and ":session repair s" in caught.value.message
    with pytest.raises(SessionDamaged):
        session.goto(1)
    manager.close_all()  # eviction/shutdown flushes: the index of a damaged log is not touched
    assert index_path.read_bytes() == index_before and log.read_bytes() == b"\n".join(lines)
    state, output, _ = process(manager.get("s", create=False).repl, ":session repair s")
    assert output.startswith("Repaired session 's'"), output
    assert state.session.damaged is None and state.session.name == "s"
    _, output, _ = process(state, "(+ 40 2)")
    assert output == "=> 42"
    manager.close_all()
