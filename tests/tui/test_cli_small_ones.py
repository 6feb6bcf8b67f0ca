"""The small ones of issue 13 (item 6), as a user meets them: no session before the first input,
error codes as words in plain output and as codes in ``--json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from omega_core.config import load_config
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[2]


class Omega:
    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.config_path = tmp_path / "omega.toml"
        self.config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
        self.env = dict(os.environ, OMEGA_CONFIG=str(self.config_path))
        self.env["PYTHONPATH"] = str(REPO) + (os.pathsep + self.env["PYTHONPATH"] if self.env.get("PYTHONPATH") else "")
        self.sessions = Path(os.environ["OMEGA_SESSION_DIR"]) / "sessions"

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "omega_tui.cli", *args], input=stdin, capture_output=True,
                              text=True, env=self.env, cwd=self.cwd, timeout=60)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    def file(self, text: str) -> str:
        path = self.cwd / "p.omega"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def has_session(self, name: str) -> bool:
        return (self.sessions / f"{name}.jsonl").exists()


@pytest.fixture
def omega(tmp_path: Path) -> Iterator[Omega]:
    runner = Omega(tmp_path)
    try:
        yield runner
    finally:
        config = load_config(runner.config_path)
        stop_server(ServerPaths.for_config(config), config)


@pytest.mark.parametrize("where", [[], ["--embedded"]], ids=["server", "embedded"])
def test_session_is_created_by_its_first_input_only(omega: Omega, where: list[str]) -> None:
    quit_at_once = omega("--plain", "--session", "fresh", *where, stdin=":quit\n")
    assert quit_at_once.returncode == 0 and "created with its first input" in quit_at_once.stdout
    assert not omega.has_session("fresh")
    nothing_to_run = omega("--batch", omega.file("; only a comment\n\n"), "--session", "fresh", *where)
    assert (nothing_to_run.returncode, nothing_to_run.stdout) == (0, "")
    assert not omega.has_session("fresh")
    used = omega("--plain", "--session", "fresh", *where, stdin="(+ 1 2)\n:q\n")
    assert "=> 3" in used.stdout and omega.has_session("fresh")
    again = omega("--plain", "--session", "fresh", *where, stdin=":exit\n")
    assert again.returncode == 0 and "created with its first input" not in again.stdout


def test_error_codes_read_as_words_and_stay_codes_in_json(omega: Omega) -> None:
    assert omega("--batch", omega.file("(define y 1)\n"), "--session", "other").returncode == 0
    program = omega.file(":session attach other --read-only\n(+ 1 2)\n")
    plain = omega("--batch", program)
    assert plain.returncode == 1
    error_line = plain.stdout.splitlines()[-1]
    assert error_line.startswith("error: read-only: ") and "read_only" not in error_line
    as_json = omega("--batch", "--json", program)
    row = json.loads(as_json.stdout.splitlines()[-1])
    assert row["error_code"] == "read_only" and row["line"] == 2


def test_session_alone_in_plain_prints_the_session_commands(omega: Omega) -> None:
    done = omega("--plain", "--embedded", stdin=":session\n:q\n")
    assert "usage: :session COMMAND" in done.stdout and ":session goto SEQ" in done.stdout
