"""Which command lines take the thin batch path (``thin_batch.plain_batch_args``), and that a run
which finds no server is handed to the general path intact (standard input is read only once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server.paths import ServerPaths
from omega_tui.thin_batch import plain_batch_args, read_source
from omega_tui.usage import UsageError
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv, expected", [
    (["--batch", "f.omega"], ("f.omega", False, None, None)),
    (["f.omega", "--batch"], ("f.omega", False, None, None)),
    (["--json", "--batch", "-"], ("-", True, None, None)),
    (["--batch", "--session", "work", "f", "--json"], ("f", True, "work", None)),
    (["--session=work", "--config=c.toml", "--batch", "f"], ("f", False, "work", "c.toml")),
    (["--debug", "--server", "--config", "c.toml", "--batch", "f"], ("f", False, None, "c.toml")),
    (["--batch", "--session", "a", "--session", "b", "f"], ("f", False, "b", None)),  # argparse: the last wins
])
def test_plain_batch_runs_take_the_thin_path(argv: list[str], expected: tuple[object, ...]) -> None:
    batch = plain_batch_args(argv)
    assert batch is not None and not batch.embedded
    assert (batch.file, batch.as_json, batch.session, batch.config_path) == expected


def test_an_embedded_batch_skips_argparse_too() -> None:
    batch = plain_batch_args(["--embedded", "--json", "--batch", "f"])
    assert batch is not None and batch.embedded and batch.as_json and batch.file == "f"


@pytest.mark.parametrize("argv", [
    [], ["--batch"], ["f.omega"], ["--batch", "a", "b"], ["--embedded", "--server", "--batch", "f"],
    ["--plain", "--batch", "f"], ["--plain", "--embedded"],
    ["--batch", "--session"], ["--batch", "--session", "--json", "f"], ["--batch", "--config", "-x", "f"],
    ["--bat", "f"], ["--batch", "--js", "f"], ["--batch", "-x"], ["--batch", "--", "f"], ["--help"], ["--version"],
    ["--batch", "--json=1", "f"], ["server", "--batch"], ["--batch", "server"], ["kernel", "install"],
])
def test_anything_else_takes_the_general_path(argv: list[str]) -> None:
    assert plain_batch_args(argv) is None


def test_reading_the_program_says_why_it_cannot(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_source(str(tmp_path / "missing.omega"))
    with pytest.raises(UsageError, match="it is a directory"):
        read_source(str(tmp_path))
    (tmp_path / "latin1.omega").write_bytes(b"(display \"\xe9\")\n")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        read_source(str(tmp_path / "latin1.omega"))


def test_standard_input_reaches_the_server_that_the_general_path_starts(tmp_path: Path) -> None:
    runtime = Path(os.path.realpath("/tmp")) / f"omega-thin-{os.getpid()}"
    env = dict(os.environ, OMEGA_SESSION_DIR=str(tmp_path / "sessions"), OMEGA_RUNTIME_DIR=str(runtime),
               XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("OMEGA_CONFIG", None)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    (tmp_path / "omega.toml").write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, "-m", "omega_tui.cli", "--batch", "-"], input="(* 6 7)\n(+ 1 2)\n",
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "=> 42\n=> 3\n"
    finally:
        config = load_config(tmp_path / "omega.toml", environ=env, cwd=tmp_path)
        stop_server(ServerPaths.for_config(config), config)
        subprocess.run(["rm", "-rf", str(runtime)], check=False)
