"""Config lookup, defaults, env overrides and every kind of error message."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from omega_core.config import (
    Config,
    FsyncPolicy,
    OracleKind,
    config_search_paths,
    default_runtime_dir,
    load_config,
)
from omega_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: an empty XDG config home and no Omega variables."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, name: str = "omega.toml") -> Config:
    return load_config(write(tmp_path / name, text), environ={}, cwd=tmp_path)


def error_of(tmp_path: Path, text: str, name: str = "omega.toml") -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text, name)
    return info.value.message


# ------------------------------------------------------------------ defaults and example file


def test_defaults_without_any_file(env: dict[str, str], cwd: Path) -> None:
    cfg = load_config(environ=env, cwd=cwd)
    assert cfg.session_dir == str(cwd / ".omega-session")
    assert cfg.sessions_dir == cwd / ".omega-session" / "sessions"
    assert cfg.language.step_budget == 50_000_000
    assert cfg.language.max_read_depth == 10_000
    assert cfg.session.record_steps is True
    assert cfg.effects.allow_shell is False
    assert cfg.oracle.kind is OracleKind.SCRIPTED
    assert cfg.oracle.fallback_answer == "[scripted oracle fallback: no pattern matched]"
    assert cfg.server.fsync is FsyncPolicy.INTERVAL
    assert cfg.server.max_frame_bytes == 8 * 1024 * 1024
    assert cfg.tui.theme == "textual-dark"
    assert dict(cfg.keymap) == {}
    # Everything else equals the dataclass defaults.
    base = Config()
    for section in ("language", "session", "effects", "oracle", "server", "tui"):
        assert getattr(cfg, section) == getattr(base, section)


def test_default_runtime_dir(tmp_path: Path) -> None:
    assert default_runtime_dir({"XDG_RUNTIME_DIR": "/run/user/7"}) == "/run/user/7/omega"
    assert default_runtime_dir({"HOME": "/home/ann"}) == "/home/ann/.cache/omega/run"
    assert default_runtime_dir({"HOME": "/home/ann", "XDG_CACHE_HOME": "/c"}) == "/c/omega/run"
    assert re.fullmatch(r"/tmp/omega-\d+", default_runtime_dir({"HOME": "/h" + "x" * 100}))
    cfg = load_config(environ={"XDG_RUNTIME_DIR": str(tmp_path)}, cwd=tmp_path)
    assert cfg.runtime_dir == str(tmp_path / "omega")


def test_config_is_frozen(env: dict[str, str], cwd: Path) -> None:
    cfg = load_config(environ=env, cwd=cwd)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.language.step_budget = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.keymap["quit"] = "q"  # type: ignore[index]


def test_example_file_equals_defaults(env: dict[str, str], cwd: Path) -> None:
    assert load_config(EXAMPLE, environ=env, cwd=cwd) == load_config(environ=env, cwd=cwd)


def _example_keys() -> dict[str, set[str]]:
    """Keys per section in the example, counting commented-out ``# key = value`` lines."""
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.fullmatch(r"\[(\w+)\]\s*", line):
            section = m.group(1)
            keys.setdefault(section, set())
        elif m := re.fullmatch(r"#? ?(\w+) = .*", line):
            keys[section].add(m.group(1))
    return keys


def test_example_file_lists_every_field() -> None:
    keys = _example_keys()
    hints = get_type_hints(Config)
    for f in dataclasses.fields(Config):
        section = hints[f.name]
        if dataclasses.is_dataclass(section):
            expected = {s.name for s in dataclasses.fields(section)}
            assert expected <= keys.get(f.name, set()), f"[{f.name}] misses some keys"
            assert keys[f.name] <= expected, f"[{f.name}] lists unknown keys"
        elif f.name == "keymap":
            assert "keymap" in keys
        else:
            assert f.name in keys[""], f.name


def test_example_file_comments_every_key() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\w+ = .*", line):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"


# ------------------------------------------------------------------ lookup order


def test_lookup_order(env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    user = write(Path(env["XDG_CONFIG_HOME"]) / "omega" / "config.toml", "[tui]\ntheme = 'user'\n")
    assert load_config(environ=env, cwd=cwd).tui.theme == "user"

    write(cwd / "omega.toml", "[tui]\ntheme = 'cwd'\n")
    assert load_config(environ=env, cwd=cwd).tui.theme == "cwd"

    from_env = write(tmp_path / "env.toml", "[tui]\ntheme = 'env'\n")
    env["OMEGA_CONFIG"] = str(from_env)
    assert load_config(environ=env, cwd=cwd).tui.theme == "env"

    explicit = write(tmp_path / "explicit.toml", "[tui]\ntheme = 'explicit'\n")
    assert load_config(explicit, environ=env, cwd=cwd).tui.theme == "explicit"
    assert load_config(str(explicit), environ=env, cwd=cwd).tui.theme == "explicit"
    assert user.exists()


def test_user_config_falls_back_to_home_dot_config(env: dict[str, str], cwd: Path) -> None:
    del env["XDG_CONFIG_HOME"]
    write(Path(env["HOME"]) / ".config" / "omega" / "config.toml", "[tui]\ntheme = 'home'\n")
    assert load_config(environ=env, cwd=cwd).tui.theme == "home"
    assert config_search_paths(env, cwd) == [
        cwd / "omega.toml",
        Path(env["HOME"]) / ".config" / "omega" / "config.toml",
    ]


def test_named_file_must_exist(env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found \(named by --config"):
        load_config(missing, environ=env, cwd=cwd)
    env["OMEGA_CONFIG"] = str(missing)
    with pytest.raises(ConfigError, match=r"nope\.toml: .*named by OMEGA_CONFIG"):
        load_config(environ=env, cwd=cwd)


def test_relative_explicit_path_is_relative_to_cwd(env: dict[str, str], cwd: Path) -> None:
    write(cwd / "conf" / "my.toml", "[server]\nrestart_limit = 9\n")
    assert load_config("conf/my.toml", environ=env, cwd=cwd).server.restart_limit == 9


# ------------------------------------------------------------------ values and env overrides


def test_file_values_are_read(tmp_path: Path) -> None:
    cfg = load_text(
        tmp_path,
        """
        session_dir = "data/sess"
        runtime_dir = "/tmp/omega-test-rt"
        [language]
        step_budget = 1_000
        [server]
        fsync = "always"
        idle_shutdown_s = 0
        restart_backoff_initial_s = 1
        [oracle]
        kind = "openai"
        script = "answers.toml"
        [effects]
        allow_shell = true
        [keymap]
        quit = "ctrl+q"
        "timeline.next" = "j"
        """,
    )
    assert cfg.session_dir == str(tmp_path / "data" / "sess")
    assert cfg.runtime_dir == "/tmp/omega-test-rt"
    assert cfg.language.step_budget == 1000
    assert cfg.server.fsync is FsyncPolicy.ALWAYS
    assert cfg.server.idle_shutdown_s == 0.0 and isinstance(cfg.server.idle_shutdown_s, float)
    assert isinstance(cfg.server.restart_backoff_initial_s, float)
    assert cfg.oracle.kind is OracleKind.OPENAI
    assert cfg.oracle.script == str(tmp_path / "answers.toml")
    assert cfg.effects.allow_shell is True
    assert dict(cfg.keymap) == {"quit": "ctrl+q", "timeline.next": "j"}
    assert cfg.server.fsync_interval_ms == 1000  # untouched keys keep their defaults


def test_env_overrides_dirs(env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    write(cwd / "omega.toml", 'session_dir = "from-file"\nruntime_dir = "/tmp/from-file"\n')
    assert load_config(environ=env, cwd=cwd).session_dir == str(cwd / "from-file")
    env["OMEGA_SESSION_DIR"] = str(tmp_path / "s")
    env["OMEGA_RUNTIME_DIR"] = "rt"
    cfg = load_config(environ=env, cwd=cwd)
    assert cfg.session_dir == str(tmp_path / "s")
    assert cfg.runtime_dir == str(cwd / "rt")
    env["OMEGA_SESSION_DIR"] = ""  # empty means unset
    assert load_config(environ=env, cwd=cwd).session_dir == str(cwd / "from-file")


def test_tilde_is_home(env: dict[str, str], cwd: Path) -> None:
    env["OMEGA_SESSION_DIR"] = "~/omega"
    assert load_config(environ=env, cwd=cwd).session_dir == str(Path(env["HOME"]) / "omega")


def test_process_environment_is_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMEGA_SESSION_DIR", str(tmp_path / "proc"))
    monkeypatch.chdir(tmp_path)
    assert load_config().session_dir == str(tmp_path / "proc")


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[server]\nfsync = "sometimes"\n',
         '[server] fsync: expected one of "always", "interval", "never", got "sometimes"'),
        ('[oracle]\nkind = "claude"\n',
         '[oracle] kind: expected one of "scripted", "openai", got "claude"'),
        ('[language]\nstep_budget = "lots"\n',
         '[language] step_budget: expected an integer, got "lots"'),
        ("[language]\nstep_budget = 2.5\n",
         "[language] step_budget: expected an integer, got 2.5"),
        ("[language]\nstep_budget = true\n",
         "[language] step_budget: expected an integer, got true"),
        ("[oracle]\ntimeout_s = false\n",
         "[oracle] timeout_s: expected a number, got false"),
        ("[oracle]\ntimeout_s = nan\n",
         "[oracle] timeout_s: expected a finite number, got nan"),
        ("[effects]\nallow_shell = 1\n",
         "[effects] allow_shell: expected true or false, got 1"),
        ("[tui]\ntheme = 3\n",
         "[tui] theme: expected a string, got 3"),
        ('[tui]\ntheme = ""\n',
         '[tui] theme: expected a non-empty string, got ""'),
        ("session_dir = [1]\n",
         "session_dir: expected a string, got an array"),
        ("[language]\nstep_budget = 0\n",
         "[language] step_budget: expected a positive integer, got 0"),
        ("[server]\nrestart_window_s = -1\n",
         "[server] restart_window_s: expected a positive number, got -1"),
        ("[oracle]\nretries = -1\n",
         "[oracle] retries: expected a non-negative integer, got -1"),
        ("server = 3\n",
         "[server]: expected a table, got 3"),
        ('[keymap]\nquit = 5\n',
         "[keymap] quit: expected a key name string, got 5"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message == f"{tmp_path / 'omega.toml'}: {expected}"


def test_error_names_the_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[server]\nfsync = "sometimes"\n', name="config.toml")
    assert message.endswith(
        'config.toml: [server] fsync: expected one of "always", "interval", "never", '
        'got "sometimes"'
    )


def test_int_passes_where_float_expected(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, "[oracle]\ntimeout_s = 5\nretry_backoff_s = 0\n")
    assert cfg.oracle.timeout_s == 5.0 and isinstance(cfg.oracle.timeout_s, float)
    assert cfg.oracle.retry_backoff_s == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nmax_sesions = 3\n",
         "unknown key [server] max_sesions (did you mean max_cached_sessions?)"),
        ("[language]\nzzz = 3\n", "unknown key [language] zzz"),
        ("[servr]\nfsync = 'always'\n", "unknown section [servr] (did you mean [server]?)"),
        ('session_dri = "x"\n', "unknown key session_dri (did you mean session_dir?)"),
    ],
)
def test_unknown_keys(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == f"{tmp_path / 'omega.toml'}: {expected}"


def test_toml_syntax_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[server]\nfsync = \n")
    assert message.startswith(f"{tmp_path / 'omega.toml'}, line 2: invalid TOML: ")
    with pytest.raises(tomllib.TOMLDecodeError) as info:
        tomllib.loads("[server]\nfsync = \n")
    assert str(info.value) in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "omega.toml"
    path.write_bytes(b"theme = '\xff'\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(path, environ={}, cwd=tmp_path)


def test_backoff_max_below_initial(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, "[server]\nrestart_backoff_initial_s = 2\nrestart_backoff_max_s = 1\n"
    )
    assert "[server] restart_backoff_max_s: expected at least restart_backoff_initial_s" in message


def test_config_error_is_user_facing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, "[language]\nstep_budget = 'x'\n")
    err: Any = info.value
    assert err.code == "bad_request"
    assert str(err) == err.message
