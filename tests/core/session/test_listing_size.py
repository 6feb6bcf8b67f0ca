"""A session's Size counts every file it owns (log, index, states, sidecar, timeline, temporary
files of a write), found by stats only, never by reading them."""

from __future__ import annotations

import builtins
import shutil
from pathlib import Path
from typing import Any

import pytest

from omega_core.session.listing import list_sessions, session_file_owner, session_files_size, summarize_session


def add_files(directory: Path, name: str) -> int:
    """Give session ``name`` big files beside its log; returns their total size."""
    sizes = {f"{name}.states.ndjson": 50_000, f"{name}.timeline.json": 3_000, f".{name}.index.json.123-0a1b2c3d.tmp": 7_000}
    for file_name, size in sizes.items():
        (directory / file_name).write_bytes(b"x" * size)
    return sum(sizes.values())


def all_bytes(directory: Path, name: str) -> int:
    return sum(path.stat().st_size for path in directory.iterdir() if session_file_owner(path.name) == name)


@pytest.mark.parametrize(("file_name", "owner"), [
    ("a.jsonl", "a"), ("a.index.json", "a"), ("a.states.ndjson", "a"), ("a.meta.json", "a"),
    ("a.timeline.json", "a"), ("a.b.jsonl", "a.b"), ("a.b.index.json", "a.b"), ("a.index.jsonl", "a.index"),
    (".a.states.ndjson.4242-deadbeef.tmp", "a"), (".a.jsonl.0a1b2c3d.tmp", "a"),
    ("README.md", None), (".jsonl", None), ("a.json", None), (".hidden.tmp", None),
])
def test_each_file_has_at_most_one_owner(file_name: str, owner: str | None) -> None:
    assert session_file_owner(file_name) == owner


def test_size_counts_every_file_of_the_session(omegallm_dir: Path) -> None:
    extra = add_files(omegallm_dir, "squares")
    shutil.copyfile(omegallm_dir / "squares.jsonl", omegallm_dir / "squares.x.jsonl")  # a session "squares.x"
    list_sessions(omegallm_dir)  # writes the sidecars, which count too from now on
    by_name = {summary.name: summary for summary in list_sessions(omegallm_dir)}
    squares = by_name["squares"]
    log_and_index = sum((omegallm_dir / f).stat().st_size for f in ("squares.jsonl", "squares.index.json"))
    assert squares.size_bytes == all_bytes(omegallm_dir, "squares")
    assert squares.size_bytes >= log_and_index + extra + (omegallm_dir / "squares.meta.json").stat().st_size
    assert by_name["squares.x"].size_bytes == all_bytes(omegallm_dir, "squares.x")  # not squares' files


def test_one_session_summary_and_stat_only_size(omegallm_dir: Path) -> None:
    add_files(omegallm_dir, "errors")
    summary = summarize_session(omegallm_dir, "errors")
    temp = (omegallm_dir / ".errors.index.json.123-0a1b2c3d.tmp").stat().st_size
    assert summary.size_bytes + temp >= all_bytes(omegallm_dir, "errors") - (omegallm_dir / "errors.meta.json").stat().st_size
    assert session_files_size(omegallm_dir, "errors") == all_bytes(omegallm_dir, "errors") - temp
    log = (omegallm_dir / "errors.jsonl").stat().st_size
    assert session_files_size(omegallm_dir, "errors", besides_log=True) == all_bytes(omegallm_dir, "errors") - temp - log


def test_sizes_are_found_without_reading_the_big_files(omegallm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_files(omegallm_dir, "squares")
    list_sessions(omegallm_dir)  # warm: sidecars written
    opened: list[str] = []
    real_open = builtins.open

    def spying_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(Path(str(file)).name)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spying_open)
    (omegallm_dir / "squares.states.ndjson").write_bytes(b"y" * 90_000)  # grows: the size follows
    squares = {s.name: s for s in list_sessions(omegallm_dir)}["squares"]
    assert squares.size_bytes == all_bytes(omegallm_dir, "squares")
    assert not [name for name in opened if name.endswith((".states.ndjson", ".timeline.json", ".tmp"))]
