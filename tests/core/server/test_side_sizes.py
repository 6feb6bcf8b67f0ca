"""A loaded session's listing Size: the log's bytes are current, the other files' are read again
only when the server wrote them, the directory changed, or a second passed (``side_sizes``), so a
listing does not ``stat`` every loaded session's files every time."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import anyio
import pytest

from omega_core.config import Config
from omega_core.server import side_sizes
from omega_core.server.catalog_scan import directory_mtime
from omega_core.server.list_reply import rows_from_reply
from omega_core.server.manager import SessionManager
from omega_core.server.persistence import PersistenceManager
from omega_core.server.side_sizes import SIDE_SUFFIXES, SideFileSizes
from omega_core.session.listing import session_files_size


def test_sizes_are_reused_until_forgotten_the_directory_changes_or_they_age(tmp_path: Path) -> None:
    index = tmp_path / "s.index.json"
    index.write_bytes(b"x" * 100)
    sizes = SideFileSizes(tmp_path, ttl_s=1.0)
    mtime = directory_mtime(tmp_path)
    assert sizes.of("s", 10.0, mtime) == 100
    with open(index, "ab") as grown:  # grown in place: the directory's mtime stays
        grown.write(b"y" * 50)
    assert sizes.of("s", 10.5, mtime) == 100  # reused
    assert sizes.of("s", 11.0, mtime) == 150  # a second later: read again
    with open(index, "ab") as grown:
        grown.write(b"z" * 10)
    sizes.forget("s")
    assert sizes.of("s", 11.1, mtime) == 160  # the server wrote it
    (tmp_path / "s.timeline.json").write_bytes(b"t" * 5)
    assert sizes.of("s", 11.2, mtime + 1) == 165  # a new file: the directory changed


def test_only_the_files_beside_the_log_are_counted(tmp_path: Path) -> None:
    for suffix in (*SIDE_SUFFIXES, ".jsonl"):
        (tmp_path / f"s{suffix}").write_bytes(b"x" * 10)
    assert SideFileSizes(tmp_path).of("s", 0.0, 0) == 10 * len(SIDE_SUFFIXES)
    assert SideFileSizes(tmp_path).of("absent", 0.0, 0) == 0


def test_sessions_that_left_are_forgotten_once_the_cache_outgrows_them(tmp_path: Path) -> None:
    sizes = SideFileSizes(tmp_path)
    for number in range(40):
        sizes.of(f"s{number}", 0.0, 0)
    sizes.keep_only({"s1", "s2"})
    assert set(sizes._sizes) == {"s1", "s2"}


def listing(manager: SessionManager) -> dict[str, dict[str, object]]:
    return {entry["name"]: entry for entry in rows_from_reply(json.loads(manager.list_json()))}


def test_listings_of_many_loaded_sessions_stat_their_files_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = SessionManager(dataclasses.replace(Config(), session_dir=str(tmp_path)))
    try:
        for number in range(30):
            manager.get(f"s{number:02d}").session.execute("(define x 1)")
        listing(manager)
        stats: list[str] = []
        real_stat = os.stat
        monkeypatch.setattr(side_sizes.os, "stat", lambda path, *a, **k: (stats.append(str(path)), real_stat(path, *a, **k))[1])
        for _ in range(5):
            listing(manager)
        session_files = [path for path in stats if path.endswith(SIDE_SUFFIXES)]
        assert session_files == []  # before: 4 stats per loaded session per listing
    finally:
        manager.close_all()


def test_the_size_follows_what_the_flush_round_writes(tmp_path: Path) -> None:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path))
    manager = SessionManager(config)
    persistence = PersistenceManager(config, manager)
    try:
        instance = manager.get("busy")
        listing(manager)
        instance.session.execute(" ".join(f"(define v{n} (list {n} {n}))" for n in range(300)))
        anyio.run(persistence.flush_round)  # states and index written in place or replaced
        on_disk = session_files_size(manager.sessions_dir, "busy")
        assert listing(manager)["busy"]["size"] == on_disk
    finally:
        manager.close_all()
