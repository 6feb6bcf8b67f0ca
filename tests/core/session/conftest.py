"""Fixtures of the session file tests: copies of OmegaLLM's own session files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")
FIXTURE_NAMES = ("squares", "errors", "effects_mock")


@pytest.fixture
def omegallm_dir(tmp_path: Path) -> Path:
    """A writable directory holding copies of the three OmegaLLM sessions (logs and indexes)."""
    target = tmp_path / "sessions"
    target.mkdir()
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            shutil.copyfile(path, target / path.name)  # copyfile: the originals are read-only
    return target
