"""The start-up sweep removes temp files left by a crashed writer, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.session.atomic import atomic_write_bytes
from omega_core.session.sweep import sweep_temp_files

from tests.core.server.live_server import servers as _servers


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield from _servers(tmp_path)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_files_whose_writer_is_gone_are_removed(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        gone = dead_pid()
        stale = tmp_path / f".fk1.jsonl.{gone}-0123abcd.tmp"
        stale.write_bytes(b"x" * 1000)
        in_use = tmp_path / f".fk2.jsonl.{live.pid}-0123abcd.tmp"
        in_use.write_bytes(b"y")
        mine = tmp_path / f".s.index.json.{os.getpid()}-0123abcd.tmp"
        mine.write_bytes(b"z")
        old_style = tmp_path / ".fk3.jsonl.89abcdef.tmp"  # written by a version without the pid
        old_style.write_bytes(b"w")
        os.utime(old_style, (time.time() - 60, time.time() - 60))
        new_old_style = tmp_path / ".fk4.jsonl.89abcdef.tmp"
        new_old_style.write_bytes(b"v")
        session_files = [tmp_path / "fk1.jsonl", tmp_path / "a.index.json", tmp_path / ".hidden.tmp"]
        for path in session_files:
            path.write_bytes(b"{}")
        removed = sweep_temp_files(tmp_path, started_before=time.time() - 30)
    finally:
        live.kill()
        live.wait()
    assert sorted(item.path for item in removed) == sorted([stale, old_style])
    assert {item.path: item.size for item in removed}[stale] == 1000
    assert all(path.exists() for path in [in_use, mine, new_old_style, *session_files])


def test_atomic_writes_name_their_writer(tmp_path: Path) -> None:
    target = tmp_path / "s.index.json"
    atomic_write_bytes(target, b"{}", fsync=False)
    assert target.read_bytes() == b"{}" and not list(tmp_path.glob(".*.tmp"))
    assert sweep_temp_files(tmp_path, started_before=time.time()) == []


def test_a_starting_backend_sweeps_what_a_crash_left_and_logs_it(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers(start=False)
    sessions = server.sessions_dir
    sessions.mkdir(parents=True)
    leftover = sessions / f".fk.jsonl.{dead_pid()}-0123abcd.tmp"
    leftover.write_bytes(b"x" * 600)
    server.start()
    deadline = time.monotonic() + 15
    while leftover.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not leftover.exists()
    server.assert_healthy()
    log_text = server.paths.log.read_text(errors="replace")
    assert f"removed the leftover temp file {leftover} (600 bytes)" in log_text
