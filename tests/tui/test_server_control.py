"""``omega server stop|status|restart`` and the config check of front ends (issue 13, item 4), as a
user runs them: real processes on a temp session dir and runtime dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from omega_core.config import load_config
from omega_core.server import launcher
from omega_core.server.paths import ServerPaths
from omega_tui.server_cli import process_gone
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]


class Shell:
    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.env = dict(os.environ)  # session/runtime/config dirs are temp dirs (tests/conftest.py)
        self.env["PYTHONPATH"] = str(REPO) + (os.pathsep + self.env["PYTHONPATH"] if self.env.get("PYTHONPATH") else "")
        self.small = tmp_path / "small.toml"
        self.small.write_text("[language]\nstep_budget = 1000\n[server]\nidle_shutdown_s = 30\n", encoding="utf-8")
        self.usual = tmp_path / "usual.toml"
        self.usual.write_text("[server]\nidle_shutdown_s = 30\n", encoding="utf-8")
        self.config = load_config(self.usual)
        self.paths = ServerPaths.for_config(self.config)

    def omega(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "omega_tui.cli", *args], input=stdin, capture_output=True,
                              text=True, env=self.env, cwd=self.cwd, timeout=60)
        assert "Traceback" not in done.stderr + done.stdout, done.stderr
        return done

    def program(self, text: str) -> str:
        path = self.cwd / "p.omega"
        path.write_text(text, encoding="utf-8")
        return str(path)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    sh = Shell(tmp_path)
    try:
        yield sh
    finally:
        stop_server(sh.paths, sh.config)


def test_status_shows_the_live_pid_and_stop_waits_until_it_is_gone(shell: Shell) -> None:
    assert shell.omega("server", "start", "--config", str(shell.usual)).returncode == 0
    info = json.loads(shell.omega("server", "status", "--json").stdout)
    pid = info["supervisor_pid"]
    assert pid == launcher.server_pid(shell.paths) and not process_gone(pid)
    assert info["config"]["config_file"] == str(shell.usual)
    assert info["config"]["language"]["step_budget"] == 50_000_000
    stopped = shell.omega("server", "stop")
    assert (stopped.returncode, stopped.stdout) == (0, f"Omega server stopped (pid {pid})\n")
    assert process_gone(pid)
    status = shell.omega("server", "status")
    assert status.returncode == 3 and str(pid) not in status.stdout + status.stderr


def test_stop_of_a_server_whose_parent_front_end_is_still_open(shell: Shell) -> None:
    """The supervisor stays a zombie of the front end that started it: stop must still see it gone."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom omega_core.config import load_config\n"
         "from omega_core.server.client import OmegaClient\n"
         f"c = OmegaClient(load_config({str(shell.usual)!r})); c.connect(); c.close()\n"
         "print('up', flush=True); time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True, env=shell.env, cwd=shell.cwd)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "up\n"
        pid = launcher.server_pid(shell.paths)
        assert pid is not None
        started = time.monotonic()
        stopped = shell.omega("server", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout == f"Omega server stopped (pid {pid})\n"
        assert time.monotonic() - started < 8  # not the 10 s stop timeout
        assert shell.omega("server", "status").returncode == 3
    finally:
        parent.kill()
        parent.wait(5)


def test_a_front_end_with_other_settings_warns_and_restart_applies_them(shell: Shell) -> None:
    assert shell.omega("server", "start", "--config", str(shell.small)).returncode == 0
    program = shell.program("(+ 1 2)\n")
    same = shell.omega("--config", str(shell.small), "--batch", program)
    assert (same.returncode, same.stdout, same.stderr) == (0, "=> 3\n", "")
    other = shell.omega("--batch", program, "--config", str(shell.usual))
    assert other.returncode == 0 and other.stdout == "=> 3\n"
    assert other.stderr.startswith("warning: the running Omega server uses other settings")
    assert "[language] step_budget: server 1000, here 50000000" in other.stderr
    assert f"omega server restart --config {shell.usual}" in other.stderr
    restarted = shell.omega("server", "restart", "--config", str(shell.usual))
    assert restarted.returncode == 0 and "new settings" in restarted.stdout, restarted.stdout + restarted.stderr
    info = json.loads(shell.omega("server", "status", "--json").stdout)
    assert info["config"]["language"]["step_budget"] == 50_000_000
    assert info["config"]["config_file"] == str(shell.usual)
    quiet = shell.omega("--config", str(shell.usual), "--batch", program)
    assert quiet.stderr == ""


def test_plain_does_not_start_a_server_after_an_explicit_stop(shell: Shell) -> None:
    repl = subprocess.Popen([sys.executable, "-m", "omega_tui.cli", "--config", str(shell.usual), "--plain"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=shell.env, cwd=shell.cwd)
    assert repl.stdin is not None and repl.stdout is not None
    try:
        repl.stdin.write("(+ 1 2)\n")
        repl.stdin.flush()
        line = ""
        while "=> 3" not in line:
            line = repl.stdout.readline()
            assert line, "the REPL ended early"
        assert shell.omega("server", "stop").returncode == 0
        repl.stdin.write("(+ 2 2)\n:quit\n")
        repl.stdin.flush()
        rest = repl.stdout.read()
        assert repl.wait(30) == 0
        assert "the Omega server was stopped" in rest and "=> 4" not in rest
        assert launcher.server_pid(shell.paths) is None
    finally:
        if repl.poll() is None:
            repl.kill()
            repl.wait(5)
