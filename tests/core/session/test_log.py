"""The append-only session log: writer, reader, torn tails, damage, and reading from the end."""

from __future__ import annotations

import errno
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from omega_core.session import events as ev
from omega_core.session import log as log_module
from omega_core.session.errors import BadOffset, CorruptLog, LogLocked, StorageError
from omega_core.session.log import FsyncPolicy, SessionLogReader, SessionLogWriter


def command(seq: int, code: str = "(+ 1 2)", value: str = "3") -> list[dict[str, Any]]:
    """The events of one small command, as a REPL would log them."""
    return [ev.input_event(seq, code, ts=1000 + seq), ev.step_event(seq + 1, 0, code, ts=1000 + seq),
            ev.result_event(seq + 2, value, ts=1001 + seq)]


def write_events(path: Path, count: int, batch: int = 1000) -> None:
    with SessionLogWriter(path, "never") as writer:
        seq = 0
        while seq < count:
            n = min(batch, count - seq)
            writer.append([ev.step_event(s, 0, f"(f {s})", ts=s) for s in range(seq, seq + n)])
            seq += n


def test_new_log_gets_a_header(tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    with SessionLogWriter(path) as writer:
        assert writer.next_seq == 0
        assert writer.size == path.stat().st_size
    first = path.read_bytes().split(b"\n")[0]
    header = json.loads(first)
    assert list(header) == ["type", "version", "id", "created"]
    assert header["type"] == "session" and header["version"] == 1 and header["id"] == "demo"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", header["created"])
    assert b" " not in first  # compact JSON
    assert SessionLogReader(path).header() == header


def test_round_trip_and_offsets(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    written: list[dict[str, Any]] = []
    offsets: list[int] = []
    with SessionLogWriter(path, session_id="sid") as writer:
        for i, code in enumerate(["(define x 1)", "(display \"caf\u00e9 \u2028 \u65e5\u672c\")", "x"]):
            batch = command(writer.next_seq, code, str(i))
            batch.append(ev.checkpoint_event(writer.next_seq + 3, 0, ev.CheckpointReason.MANUAL,
                                             f"state-{writer.next_seq + 3}", ts=5))
            offsets += writer.append(batch)
            written += batch
        assert writer.size == path.stat().st_size
    data = path.read_bytes()
    for offset, event in zip(offsets, written):
        assert json.loads(data[offset:].split(b"\n", 1)[0]) == event
    with SessionLogReader(path) as reader:
        assert reader.header()["id"] == "sid"
        assert list(reader.iter_events()) == list(zip(offsets, written))
        assert reader.read_event_at(offsets[5]) == written[5]
        assert reader.tail(2) == list(zip(offsets, written))[-2:]
        assert reader.next_seq() == 12
        assert list(reader.iter_events(offsets[4])) == list(zip(offsets, written))[4:]


def test_one_write_per_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.jsonl"
    writer = SessionLogWriter(path, "interval")
    calls: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: Any) -> int:
        calls.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    writer.append(command(0) + [ev.checkpoint_event(3, 0, "manual", "state-3")])
    assert len(calls) == 1
    writer.append(command(4))
    assert len(calls) == 2
    writer.close()


def test_short_writes_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.jsonl"
    writer = SessionLogWriter(path)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    offsets = writer.append(command(0))
    monkeypatch.undo()
    writer.close()
    with SessionLogReader(path) as reader:
        assert [o for o, _ in reader.iter_events()] == offsets
        assert [e["seq"] for _, e in reader.iter_events()] == [0, 1, 2]


def test_append_does_not_read_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.jsonl"
    write_events(path, 5000)
    writer = SessionLogWriter(path, next_seq=5000)

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("append must not read the log")

    monkeypatch.setattr(os, "read", no_reading)
    monkeypatch.setattr("builtins.open", no_reading)
    size_before = writer.size
    (offset,) = writer.append([ev.step_event(5000, 0, "x")])
    monkeypatch.undo()
    assert offset == size_before
    writer.close()


def test_bad_seq_is_refused_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with SessionLogWriter(path) as writer:
        writer.append(command(0))
        size = path.stat().st_size
        with pytest.raises(ValueError, match="expected 4"):
            writer.append([ev.input_event(3, "a"), ev.input_event(5, "b")])
        with pytest.raises(ValueError):
            writer.append([{"type": "input", "code": "no seq"}])
        assert path.stat().st_size == size


def test_reopen_continues_the_log(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with SessionLogWriter(path) as writer:
        writer.append(command(0))
    with SessionLogWriter(path) as writer:  # next seq read from the last line
        assert writer.next_seq == 3
        assert writer.size == path.stat().st_size
        writer.append(command(3))
    with SessionLogWriter(path, next_seq=6) as writer:  # or given by the caller
        writer.append(command(6))
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == list(range(9))
    assert path.read_bytes().count(b'"type":"session"') == 1


def test_only_one_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    first = SessionLogWriter(path)
    with pytest.raises(LogLocked) as info:
        SessionLogWriter(path)
    assert info.value.code == "locked"
    first.close()
    SessionLogWriter(path).close()


def test_fsync_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(log_module, "_sync", lambda fd: synced.append(fd))
    with SessionLogWriter(tmp_path / "a.jsonl", "always") as writer:
        synced.clear()
        writer.append(command(0))
        assert len(synced) == 1 and not writer.needs_fsync
    with SessionLogWriter(tmp_path / "i.jsonl", FsyncPolicy.INTERVAL) as writer:
        synced.clear()
        writer.append(command(0))
        assert synced == [] and writer.needs_fsync
        writer.fsync()
        assert len(synced) == 1 and not writer.needs_fsync
    synced.clear()
    with SessionLogWriter(tmp_path / "n.jsonl", "never") as writer:
        writer.append(command(0))
        assert not writer.needs_fsync
    assert synced == []
    with pytest.raises(ValueError):
        SessionLogWriter(tmp_path / "x.jsonl", "sometimes")


def test_an_interval_sync_due_at_close_can_be_left_to_a_thread_that_holds_no_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server's pool closing a session must not wait for the disk on its loop; the thread
    syncs a descriptor of its own, so the log can be opened again at once (the writer's lock
    goes with its descriptor)."""
    synced_in: list[str] = []
    monkeypatch.setattr(log_module, "_sync", lambda fd: synced_in.append(threading.current_thread().name))
    path = tmp_path / "i.jsonl"
    writer = SessionLogWriter(path, FsyncPolicy.INTERVAL)
    writer.append(command(0))
    synced_in.clear()
    writer.close(sync_in_background=True)
    assert threading.current_thread().name not in synced_in  # the closing thread did not wait for it
    SessionLogWriter(path, FsyncPolicy.INTERVAL).close()  # not locked by the syncing thread
    deadline = time.monotonic() + 10
    while "omega-log-sync" not in synced_in and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "omega-log-sync" in synced_in
    writer = SessionLogWriter(path, FsyncPolicy.INTERVAL)
    writer.append(command(3))
    synced_in.clear()
    writer.close()  # as the backend does when it stops: here
    assert synced_in == [threading.current_thread().name]
    writer = SessionLogWriter(path, FsyncPolicy.INTERVAL)
    writer.append(command(6))
    path.unlink()  # removed behind the server's back: it cannot be opened again
    synced_in.clear()
    writer.close(sync_in_background=True)  # no error: its own descriptor is synced, here
    assert synced_in == [threading.current_thread().name]


def test_failed_append_leaves_no_torn_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.jsonl"
    writer = SessionLogWriter(path)
    writer.append(command(0))
    size = path.stat().st_size
    real_write = os.write
    calls: list[int] = []

    def partial_then_full(fd: int, data: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", partial_then_full)
    with pytest.raises(StorageError, match="No space left"):
        writer.append(command(3))
    monkeypatch.undo()
    assert path.stat().st_size == size
    assert writer.next_seq == 3
    writer.append(command(3))
    writer.close()
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == list(range(6))


def torn_log(tmp_path: Path, tail: bytes, name: str = "x") -> tuple[Path, int]:
    path = tmp_path / f"{name}.jsonl"
    with SessionLogWriter(path) as writer:
        writer.append(command(0))
    good = path.stat().st_size
    with open(path, "ab") as f:
        f.write(tail)
    return path, good


def test_torn_last_line_is_skipped_and_repaired(tmp_path: Path) -> None:
    tail = b'{"seq":3,"ts":1,"type":"inp'
    path, good = torn_log(tmp_path, tail)
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == [0, 1, 2]
        assert [e["seq"] for _, e in reader.tail(5)] == [0, 1, 2]
        assert reader.next_seq() == 3
        warning = reader.repair_torn_tail()
    assert warning == f"session 'x': cut off a torn last line ({len(tail)} bytes) at byte {good}"
    assert path.stat().st_size == good
    with SessionLogReader(path) as reader:
        assert reader.repair_torn_tail() is None


def test_invalid_last_line_with_newline_is_torn(tmp_path: Path) -> None:
    path, good = torn_log(tmp_path, b"\x00\x00\x00\x00\n")
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == [0, 1, 2]
        assert reader.tail(1)[0][1]["seq"] == 2
        assert "cut off a torn last line (5 bytes)" in (reader.repair_torn_tail() or "")
    assert path.stat().st_size == good


def test_complete_last_line_missing_its_newline_is_kept(tmp_path: Path) -> None:
    line = json.dumps(ev.input_event(3, "kept"), separators=(",", ":")).encode()
    path, good = torn_log(tmp_path, line)
    with SessionLogReader(path) as reader:
        assert "added the missing newline" in (reader.repair_torn_tail() or "")
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == [0, 1, 2, 3]


def test_writer_repairs_a_torn_tail_before_appending(tmp_path: Path) -> None:
    path, good = torn_log(tmp_path, b'{"seq":3,"ts"')
    with SessionLogWriter(path) as writer:
        assert writer.repair_warning is not None and "cut off a torn last line" in writer.repair_warning
        assert writer.next_seq == 3
        assert writer.append(command(3))[0] == good
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.iter_events()] == list(range(6))


def test_torn_header_only(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"type":"sess')
    with SessionLogWriter(path) as writer:
        assert writer.repair_warning is not None
        writer.append(command(0))
    with SessionLogReader(path) as reader:
        assert reader.header()["id"] == "h"


def test_damaged_middle_line_raises_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    with SessionLogWriter(path) as writer:
        writer.append(command(0))
        writer.append(command(3))
    lines = path.read_bytes().split(b"\n")
    lines[2] = b'{"seq":1,"ts":1,"type":"st'  # line 3 of the file
    path.write_bytes(b"\n".join(lines))
    with SessionLogReader(path) as reader:
        with pytest.raises(CorruptLog) as info:
            list(reader.iter_events())
        assert info.value.line == 3
        assert str(path) in info.value.message and "line 3" in info.value.message
        assert info.value.code == "unavailable"
        tail = reader.tail(4)  # the end is still readable
        assert [e["seq"] for _, e in tail] == [2, 3, 4, 5]
        with pytest.raises(CorruptLog):
            reader.tail(10)


def test_read_event_at_refuses_offsets_inside_a_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with SessionLogWriter(path) as writer:
        offsets = writer.append(command(0))
    with SessionLogReader(path) as reader:
        assert reader.read_event_at(offsets[1])["seq"] == 1
        with pytest.raises(BadOffset):
            reader.read_event_at(offsets[1] + 3)
        with pytest.raises(BadOffset):
            reader.read_event_at(path.stat().st_size)
        assert reader.read_event_at(0)["type"] == "session"


def test_missing_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nohead.jsonl"
    path.write_bytes(b'{"seq":0,"ts":1,"type":"input","code":"x"}\n')
    with SessionLogReader(path) as reader:
        with pytest.raises(CorruptLog, match="no valid header"):
            reader.header()
        assert [e["seq"] for _, e in reader.iter_events()] == [0]


class CountingFile:
    """Wraps a binary file and counts the bytes read through it."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._f.readline(size)
        self.bytes_read += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def test_tail_of_a_100k_event_log_reads_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    write_events(path, 100_000, batch=10_000)
    size = path.stat().st_size
    with SessionLogReader(path) as reader:
        counting = CountingFile(reader._f)
        reader._f = counting
        last = reader.tail(50)
        assert [e["seq"] for _, e in last] == list(range(99_950, 100_000))
        assert counting.bytes_read <= 2 * log_module.BLOCK_SIZE
        assert reader.next_seq() == 100_000
        assert counting.bytes_read <= 3 * log_module.BLOCK_SIZE < size // 30
    # The first half of the file turned to garbage: the end is still read fine.
    with open(path, "r+b") as f:
        f.write(b"\xff" * (size // 2))
    with SessionLogReader(path) as reader:
        assert [e["seq"] for _, e in reader.tail(50)] == list(range(99_950, 100_000))
        with pytest.raises(CorruptLog):
            next(reader.iter_events())


def test_tail_edge_cases(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    SessionLogWriter(path).close()
    with SessionLogReader(path) as reader:
        assert reader.tail(3) == []
        assert reader.tail(0) == []
        assert reader.next_seq() == 0
        assert list(reader.iter_events()) == []
    with SessionLogWriter(path) as writer:
        writer.append([ev.input_event(0, "x" * 200_000)])  # one line longer than a block
    with SessionLogReader(path) as reader:
        ((offset, event),) = reader.tail(10)
        assert event["code"] == "x" * 200_000 and reader.read_event_at(offset) == event


def test_omegallm_log_reads(tmp_path: Path, omegallm_dir: Path) -> None:
    with SessionLogReader(omegallm_dir / "errors.jsonl") as reader:
        assert reader.header()["id"] == "current"
        events = [e for _, e in reader.iter_events()]
        assert [e["seq"] for e in events] == list(range(26))
        assert events[6]["type"] == "error" and "stack" in events[6]
        assert reader.next_seq() == 26
