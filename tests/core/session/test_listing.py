"""Listing sessions: counts from the sidecar, a prefix of the index, or the log; never whole indexes."""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from omega_core.session import events as ev
from omega_core.session.index import new_index, write_index
from omega_core.session.listing import (
    SessionSummary,
    format_session_list,
    list_sessions,
    read_meta,
    write_meta,
)
from omega_core.session.log import SessionLogWriter
from omega_core.session.states import StateStore

FIXTURE_LINES = [
    "  effects_mock (32 events, 9 checkpoints)",
    "  errors (26 events, 5 checkpoints)",
    "  squares (16 events, 4 checkpoints)",
]


class ReadCounter:
    """Counts, per file name, the bytes read through builtins.open while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes: dict[str, int] = defaultdict(int)
        self.opened: list[str] = []
        real_open = builtins.open
        counter = self

        class Counted:
            def __init__(self, f: Any, name: str) -> None:
                self._f, self._name = f, name

            def _count(self, data: Any) -> Any:
                counter.bytes[self._name] += len(data)
                return data

            def read(self, *args: Any) -> Any:
                return self._count(self._f.read(*args))

            def readline(self, *args: Any) -> Any:
                return self._count(self._f.readline(*args))

            def __enter__(self) -> Counted:
                return self

            def __exit__(self, *exc: Any) -> None:
                self._f.close()

            def __getattr__(self, name: str) -> Any:
                return getattr(self._f, name)

        def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            name = Path(os.fsdecode(file)).name if not isinstance(file, int) else str(file)
            self.opened.append(name)
            return Counted(real_open(file, *args, **kwargs), name)

        monkeypatch.setattr(builtins, "open", counting_open)
        real_read_bytes = Path.read_bytes

        def counting_read_bytes(path: Path) -> bytes:
            self.opened.append(path.name)
            data = real_read_bytes(path)
            self.bytes[path.name] += len(data)
            return data

        monkeypatch.setattr(Path, "read_bytes", counting_read_bytes)


def pad_states(index_path: Path, size: int = 10_000_000) -> None:
    """Put ``size`` bytes of padding inside ``states``, keeping OmegaLLM's key order and layout."""
    index = json.loads(index_path.read_text())
    index["states"]["padding"] = "p" * size
    index_path.write_text(json.dumps(index, indent=2))


def test_listing_of_the_omegallm_fixtures(omegallm_dir: Path) -> None:
    summaries = list_sessions(omegallm_dir)
    assert format_session_list(summaries) == FIXTURE_LINES
    squares = summaries[2]
    assert squares.name == "squares" and squares.session_id == "current"
    assert squares.created == "2026-11-21T19:26:55.369Z"
    assert squares.size_bytes == sum((omegallm_dir / f).stat().st_size
                                     for f in ("squares.jsonl", "squares.index.json"))
    assert squares.modified == (omegallm_dir / "squares.jsonl").stat().st_mtime
    with pytest.raises(dataclasses.FrozenInstanceError):
        squares.name = "x"  # type: ignore[misc]


def test_listing_reads_only_a_prefix_of_each_index(omegallm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("squares", "errors", "effects_mock"):
        pad_states(omegallm_dir / f"{name}.index.json")
    counter = ReadCounter(monkeypatch)
    lines = format_session_list(list_sessions(omegallm_dir))
    monkeypatch.undo()
    assert lines == FIXTURE_LINES
    for name in ("squares", "errors", "effects_mock"):
        assert 0 < counter.bytes[f"{name}.index.json"] <= 64 * 1024
        assert counter.bytes[f"{name}.jsonl"] <= 16 * 1024


def test_second_listing_uses_the_sidecar(omegallm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    list_sessions(omegallm_dir)
    meta = read_meta(omegallm_dir / "errors.meta.json")
    assert meta is not None and meta.event_count == 26 and meta.checkpoint_count == 5
    assert meta.log_size == (omegallm_dir / "errors.jsonl").stat().st_size
    raw = json.loads((omegallm_dir / "errors.meta.json").read_text())
    assert raw == {"version": 1, "sessionId": "current", "created": "2026-11-21T19:26:55.769Z",
                   "eventCount": 26, "checkpointCount": 5, "logSize": meta.log_size}
    counter = ReadCounter(monkeypatch)
    lines = format_session_list(list_sessions(omegallm_dir))
    monkeypatch.undo()
    assert lines == FIXTURE_LINES
    assert not any(name.endswith((".index.json", ".jsonl")) for name in counter.opened)


def test_sidecar_is_trusted_only_for_the_log_size_it_names(omegallm_dir: Path) -> None:
    log_size = (omegallm_dir / "squares.jsonl").stat().st_size
    write_meta(omegallm_dir / "squares.meta.json", session_id="current", created=None, event_count=99,
               checkpoint_count=42, log_size=log_size)
    assert "  squares (99 events, 42 checkpoints)" in format_session_list(list_sessions(omegallm_dir))
    write_meta(omegallm_dir / "squares.meta.json", session_id="current", created=None, event_count=99,
               checkpoint_count=42, log_size=log_size - 1)  # stale: ignored and rewritten
    assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES
    assert read_meta(omegallm_dir / "squares.meta.json").log_size == log_size
    (omegallm_dir / "errors.meta.json").write_text("{not json")
    assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES


def test_stale_index_falls_back_to_the_log(omegallm_dir: Path) -> None:
    list_sessions(omegallm_dir)  # writes sidecars, which the append below makes stale
    with SessionLogWriter(omegallm_dir / "squares.jsonl") as writer:
        assert writer.next_seq == 16
        writer.append([ev.input_event(16, "(square 5)"), ev.result_event(17, "25"),
                       ev.checkpoint_event(18, 0, "manual", "state-18")])
    lines = format_session_list(list_sessions(omegallm_dir))
    assert "  squares (19 events, 5 checkpoints)" in lines
    assert read_meta(omegallm_dir / "squares.meta.json").event_count == 19


def test_missing_index_counts_the_log(omegallm_dir: Path) -> None:
    (omegallm_dir / "effects_mock.index.json").unlink()
    (omegallm_dir / "errors.index.json").write_text("{broken")
    assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES


def test_torn_tail_is_not_counted(omegallm_dir: Path) -> None:
    with open(omegallm_dir / "errors.jsonl", "ab") as f:
        f.write(b'{"seq":26,"ts":1,"type":"checkpoint","d":0,"reason":"manual","stateId":"st')
    (omegallm_dir / "errors.index.json").unlink()
    assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES


def test_our_own_session_files(tmp_path: Path) -> None:
    with SessionLogWriter(tmp_path / "mine.jsonl", session_id="mine") as writer:
        offsets = writer.append([ev.input_event(0, "(+ 1 2)"), ev.result_event(1, "3"),
                                 ev.checkpoint_event(2, 0, "manual", "state-2")])
        index = new_index("mine")
        with StateStore(tmp_path / "mine.states.ndjson") as store:
            index["states"]["state-2"] = store.append("state-2", {"machine": "opaque"})
        index["eventCount"] = writer.next_seq
        index["checkpoints"] = [{"seq": 2, "byteOffset": offsets[2], "stateId": "state-2", "reason": "manual"}]
        write_index(tmp_path / "mine.index.json", index)
    (tmp_path / ".hidden.jsonl").write_text("")
    (tmp_path / "bad name.jsonl").write_text("")
    (tmp_path / "subdir.jsonl").mkdir()
    summaries = list_sessions(tmp_path)
    assert format_session_list(summaries) == ["  mine (3 events, 1 checkpoints)"]
    assert summaries[0].size_bytes == sum((tmp_path / f).stat().st_size
                                          for f in ("mine.jsonl", "mine.index.json", "mine.states.ndjson"))


def test_no_sessions(tmp_path: Path) -> None:
    assert list_sessions(tmp_path / "missing") == []
    assert list_sessions(tmp_path) == []
    assert format_session_list([]) == ["  (no sessions)"]


def test_read_only_directory_still_lists(omegallm_dir: Path) -> None:
    omegallm_dir.chmod(0o500)
    try:
        if os.access(omegallm_dir, os.W_OK):
            pytest.skip("running with privileges that ignore directory permissions")
        assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES
        assert not (omegallm_dir / "squares.meta.json").exists()
    finally:
        omegallm_dir.chmod(0o700)


def test_sidecar_write_errors_are_ignored(omegallm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", refuse)
    assert format_session_list(list_sessions(omegallm_dir)) == FIXTURE_LINES
    assert not (omegallm_dir / "squares.meta.json").exists()
    assert not [p for p in omegallm_dir.iterdir() if p.name.endswith(".tmp")]


def test_summary_is_a_record() -> None:
    summary = SessionSummary("a", "a", None, 1, 0, 10, 0.0)
    assert format_session_list([summary]) == ["  a (1 events, 0 checkpoints)"]


@pytest.mark.parametrize("upto", [None, 3])
def test_a_saved_or_forked_copy_is_listed_from_its_sidecar_without_reading_its_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upto: int | None) -> None:
    """``copy_session`` knows the copy's counts: it writes the listing's sidecar, so the server's
    catalog does not read the whole log of a new copy (108 ms on its loop for 68,680 events)."""
    from omega_core.config import Config
    from omega_core.session import listing
    from omega_core.session.copying import copy_session
    from omega_core.session.recorded import RecordedSession

    config = dataclasses.replace(Config(), session_dir=str(tmp_path))
    source = RecordedSession.open(tmp_path, "source", config)
    for number in range(4):
        source.execute(f"(define v{number} {number})")
    source.execute("(+ 1 2)")
    count = copy_session(source, "copy", upto_seq=upto)
    source.close()
    monkeypatch.setattr(listing, "count_log_checkpoints",
                        lambda *args: (_ for _ in ()).throw(AssertionError("read the copy's log")))
    reader_calls: list[str] = []
    real_reader = listing.SessionLogReader
    monkeypatch.setattr(listing, "SessionLogReader", lambda path, *a, **k: (reader_calls.append(str(path)),
                                                                            real_reader(path, *a, **k))[1])
    summary = listing.summarize_session(tmp_path, "copy")
    assert not reader_calls
    assert summary.event_count == count
    monkeypatch.undo()
    (tmp_path / "copy.meta.json").unlink()
    from_log = listing.summarize_session(tmp_path, "copy")  # the counts the log gives are the same
    assert (from_log.event_count, from_log.checkpoint_count, from_log.session_id, from_log.created) == (
        summary.event_count, summary.checkpoint_count, summary.session_id, summary.created)
