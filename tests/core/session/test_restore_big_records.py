"""A restore that reads a records line too long to cache keeps it for itself only and has a
release thread free it (a line of four million records, parsed, took over a gigabyte, and freeing
it at once held the GIL over a second); short lines stay cached for the next restore."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config
from omega_core.lang import release
from omega_core.lang.printer import write_string
from omega_core.session import checkpoint_restore
from omega_core.session.recorded import RecordedSession


def test_a_long_records_line_is_kept_for_its_restore_only_and_freed_by_a_thread(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    session = RecordedSession.open(tmp_path, "big", Config())
    session.execute("(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))")
    session.execute("(define xs (build 3000 '()))")
    session.flush_states()
    state_id = session.checkpoints[-1]["stateId"]
    released: list[list[Any]] = []
    real_release = checkpoint_restore.release_in_background

    def recording(roots: list[Any], first: Any = None) -> Any:
        released.append(list(roots))
        return real_release(roots, first)

    monkeypatch.setattr(checkpoint_restore, "release_in_background", recording)
    monkeypatch.setattr(checkpoint_restore, "RECORDS_CACHE_BYTES", 1024)  # the list's line is longer
    monkeypatch.setattr(checkpoint_restore, "RELEASE_RECORDS_AT", 1000)
    states = session.states
    states._records_cache.clear()
    states._records_cache_bytes = 0
    machine = states.restore(state_id)
    assert write_string(machine.globals["xs"]).startswith("(1 2 3")
    assert max(len(entry["records"]) for _, entry in states._records_cache.values()) < 3000  # the long one: not cached
    assert len(released) == 1 and len(released[0][0]["records"]) >= 3000  # handed to a release thread
    monkeypatch.setattr(checkpoint_restore, "RECORDS_CACHE_BYTES", 64 * 1024 * 1024)
    released.clear()
    again = states.restore(state_id)
    assert write_string(again.globals["xs"]) == write_string(machine.globals["xs"])
    assert max(len(entry["records"]) for _, entry in states._records_cache.values()) >= 3000  # short enough now: cached
    assert released == []  # and nothing handed to a thread
    session.close()
    deadline = time.monotonic() + 30
    while release.releases_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert release.releases_running() == 0
