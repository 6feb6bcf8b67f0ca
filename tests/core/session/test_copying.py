"""Copies of sessions (``:session save``, ``fork``): the copy's log is put in place last, whole.

A listing that ran while a copy was written found its log before its index and sidecar, and read
the whole log to count its checkpoints (a worker busy 75-108 ms for 68,680 events, the listing
waiting). Now everything else is written first and the log is linked into place at the end."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config
from omega_core.session import copying
from omega_core.session.copying import SessionExists, copy_session
from omega_core.session.recorded import RecordedSession


def make_source(tmp_path: Path) -> RecordedSession:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path))
    source = RecordedSession.open(tmp_path, "source", config)
    for number in range(3):
        source.execute(f"(define v{number} {number})")
    return source


@pytest.mark.parametrize("upto", [None, 2])
def test_the_copy_log_appears_after_its_index_and_nothing_staged_stays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upto: int | None) -> None:
    source = make_source(tmp_path)
    seen_when_indexed: list[bool] = []
    real_write_index = copying.write_index

    def checking_write_index(path: Path, index: Any) -> None:
        seen_when_indexed.append((tmp_path / "copy.jsonl").exists())
        real_write_index(path, index)

    monkeypatch.setattr(copying, "write_index", checking_write_index)
    count = copy_session(source, "copy", upto_seq=upto)
    source.close()
    assert seen_when_indexed == [False]
    assert (tmp_path / "copy.jsonl").exists() and (tmp_path / "copy.meta.json").exists()
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
    copied = RecordedSession.open(tmp_path, "copy", dataclasses.replace(Config(), session_dir=str(tmp_path)))
    assert copied.next_seq == count
    copied.close()


def test_a_session_created_meanwhile_under_the_name_is_kept_and_the_copy_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(tmp_path)
    real_write_index = copying.write_index

    def racing_write_index(path: Path, index: Any) -> None:
        real_write_index(path, index)
        (tmp_path / "copy.jsonl").write_bytes(b"theirs\n")

    monkeypatch.setattr(copying, "write_index", racing_write_index)
    with pytest.raises(SessionExists, match="created meanwhile"):
        copy_session(source, "copy")
    source.close()
    assert (tmp_path / "copy.jsonl").read_bytes() == b"theirs\n"
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
