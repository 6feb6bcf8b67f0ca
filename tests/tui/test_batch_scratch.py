"""The embedded batch's scratch dir (``batch.make_scratch_dir``/``remove_tree``, in place of
``tempfile``): private, under ``$TMPDIR``, removed entirely, links removed and never followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omega_tui.batch import make_scratch_dir, remove_tree


def test_a_scratch_dir_is_private_and_removed_with_everything_in_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    scratch = Path(make_scratch_dir())
    assert scratch.parent == tmp_path and scratch.name.startswith("omega-batch-")
    assert scratch.stat().st_mode & 0o777 == 0o700
    assert Path(make_scratch_dir()) != scratch
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("x", encoding="utf-8")
    (scratch / "sessions" / "deep").mkdir(parents=True)
    (scratch / "sessions" / "deep" / "log.jsonl").write_text("{}", encoding="utf-8")
    (scratch / "link-to-dir").symlink_to(keep)
    (scratch / "link-to-file").symlink_to(keep / "precious")
    remove_tree(str(scratch))
    assert not scratch.exists()
    assert (keep / "precious").read_text(encoding="utf-8") == "x"  # links removed, not followed
    remove_tree(str(scratch))  # already gone: no error


def test_without_a_usable_tmpdir_it_goes_to_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/nonexistent-omega-dir")
    scratch = make_scratch_dir()
    try:
        assert os.path.dirname(scratch) == "/tmp"
    finally:
        remove_tree(scratch)
