"""``SessionLogReader.tail`` of many events (decoded in one call) gives what the line-by-line path
gives: header left out, torn last line skipped, blank lines skipped, damage reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omega_core.session import log_reader
from omega_core.session.errors import CorruptLog
from omega_core.session.log_reader import SessionLogReader

HEADER = json.dumps({"type": "session", "version": 1, "id": "x", "created": "2026-01-01T00:00:00Z"})
EVENTS = [json.dumps({"seq": i, "ts": i, "type": "input", "code": "(+ 1 2)" * 5}) for i in range(3000)]


def tails(path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:  # type: ignore[type-arg]
    with monkeypatch.context() as patch:
        patch.setattr(log_reader, "BULK_TAIL_MIN", 10**9)
        with SessionLogReader(path) as reader:
            by_line = reader.tail(n)
    with SessionLogReader(path) as reader:
        bulk = reader.tail(n)
    return by_line, bulk


@pytest.mark.parametrize("n", [256, 1000, 2999, 3000, 5000])
def test_bulk_tail_equals_line_by_line(tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([HEADER, *EVENTS[:10], "", "  ", *EVENTS[10:]]) + '\n{"seq": 3000, "ty')
    by_line, bulk = tails(path, n, monkeypatch)
    assert bulk == by_line
    assert len(bulk) == min(n, 3000) and bulk[-1][1]["seq"] == 2999
    assert all(path.read_bytes()[offset:].startswith(b'{"seq": %d' % event["seq"]) for offset, event in bulk)


def test_bulk_tail_reports_a_damaged_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([HEADER, *EVENTS[:2000], "{not json", *EVENTS[2000:]]) + "\n")
    with SessionLogReader(path) as reader:
        assert len(reader.tail(900)) == 900
        with pytest.raises(CorruptLog, match="invalid JSON"):
            reader.tail(1500)
