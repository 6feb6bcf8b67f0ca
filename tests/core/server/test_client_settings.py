"""The batch client's cached settings (``client_settings``): the same values as a full config load,
read from the cache only while nothing they come from changed, and never from a file that is not
the user's own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.errors import ConfigError
from omega_core.server.client_settings import CACHE_FILE, client_settings
from omega_core.server.config_report import effective_config
from omega_core.server.paths import ServerPaths


@pytest.fixture
def place(tmp_path: Path) -> tuple[dict[str, str], str]:
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "OMEGA_RUNTIME_DIR": str(runtime)}
    work = tmp_path / "work"
    work.mkdir()
    (work / "omega.toml").write_text("[language]\nstep_budget = 1000\n", encoding="utf-8")
    return env, str(work)


def test_the_second_run_reads_the_cache_with_the_values_of_a_full_load(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    first = client_settings(None, env, cwd)
    assert first.config is not None  # loaded in full, then cached
    second = client_settings(None, env, cwd)
    assert second.config is None  # from the cache
    config = load_config(None, env, Path(cwd))
    paths = ServerPaths.for_config(config)
    assert second.paths.as_dict() == {name: str(getattr(paths, name)) for name in second.paths.as_dict()}
    assert second.max_frame_bytes == config.server.max_frame_bytes
    assert second.report == json.loads(json.dumps(effective_config(config, "")))
    assert second.report["language"]["step_budget"] == 1000
    assert second.full_config() == config


def test_a_changed_config_file_or_environment_is_read_again(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    client_settings(None, env, cwd)
    Path(cwd, "omega.toml").write_text("[language]\nstep_budget = 2000\n", encoding="utf-8")
    changed = client_settings(None, env, cwd)
    assert changed.config is not None and changed.report["language"]["step_budget"] == 2000
    moved = client_settings(None, {**env, "OMEGA_SESSION_DIR": str(Path(cwd) / "elsewhere")}, cwd)
    assert moved.config is not None and moved.paths.session_dir == str(Path(cwd) / "elsewhere")
    assert client_settings(None, env, cwd).config is None  # both kept
    Path(cwd, "omega.toml").unlink()
    defaults = client_settings(None, env, cwd)
    assert defaults.config is not None and defaults.report["language"]["step_budget"] == 50_000_000


def test_a_bad_config_is_reported_as_load_config_does(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    with pytest.raises(ConfigError, match="nowhere.toml: config file not found"):
        client_settings("nowhere.toml", env, cwd)
    Path(cwd, "omega.toml").write_text("[language]\nstep_bugdet = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key"):
        client_settings(None, env, cwd)


def test_a_damaged_or_foreign_cache_is_no_cache(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    cache = Path(env["OMEGA_RUNTIME_DIR"]) / CACHE_FILE
    client_settings(None, env, cwd)
    cache.write_text("{not json", encoding="utf-8")
    assert client_settings(None, env, cwd).config is not None  # read in full, and written again
    assert client_settings(None, env, cwd).config is None
    os.chmod(cache, 0o644)  # open to others: not trusted
    assert client_settings(None, env, cwd).config is not None
    assert (cache.stat().st_mode & 0o777) == 0o600  # replaced by a private one


def test_agreeing_with_the_servers_report(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    settings = client_settings(None, env, cwd)
    same = {**settings.report, "config_file": "/some/where.toml"}
    assert settings.agrees_with(same) and settings.agrees_with(None)
    other = json.loads(json.dumps(same))
    other["language"]["step_budget"] = 5
    assert not settings.agrees_with(other)


def test_a_session_dir_link_that_now_leads_elsewhere_is_read_again(place: tuple[dict[str, str], str]) -> None:
    env, cwd = place
    first, second = Path(cwd) / "one", Path(cwd) / "two"
    first.mkdir()
    second.mkdir()
    link = Path(cwd) / "sessions"
    link.symlink_to(first)
    env = {**env, "OMEGA_SESSION_DIR": str(link)}
    assert client_settings(None, env, cwd).paths.session_dir == str(first)
    assert client_settings(None, env, cwd).config is None
    link.unlink()
    link.symlink_to(second)
    moved = client_settings(None, env, cwd)
    assert moved.config is not None and moved.paths.session_dir == str(second)
