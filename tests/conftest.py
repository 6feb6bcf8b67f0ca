"""Shared fixtures. Keep this small; put fixtures used by one area in that area's conftest."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_omega_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test may read or write the user's sessions, sockets or config.

    The runtime dir is made directly under /tmp rather than under pytest's (long) tmp path because
    it holds the server's AF_UNIX socket, whose path must stay under about 100 bytes.
    XDG_CONFIG_HOME points at an empty dir so a user's ~/.config/omega/config.toml is never read,
    and XDG_CACHE_HOME at another so the app's parsed CSS (``omega_tui.css_cache``) is not written
    to the user's ~/.cache.
    """
    session_dir = tmp_path_factory.mktemp("omega-session")
    config_home = tmp_path_factory.mktemp("xdg-config")
    cache_home = tmp_path_factory.mktemp("xdg-cache")
    runtime_dir = Path(tempfile.mkdtemp(prefix="omrt-", dir="/tmp"))  # 0700, as a runtime dir is
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(session_dir))
    monkeypatch.setenv("OMEGA_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("OMEGA_CONFIG", raising=False)
    try:
        yield
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
