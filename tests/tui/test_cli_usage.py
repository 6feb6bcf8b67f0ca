"""``omega`` flags in any order, and every misuse: exit 2 with the message, the usage line and one
example (issue 13, item 1 and "Bad input"). Embedded runs: no server is started here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def omega(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-m", "omega_tui.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


@pytest.mark.parametrize("args", [
    ["--batch", "program.omega", "--embedded"],
    ["--embedded", "--batch", "program.omega"],
    ["program.omega", "--batch", "--embedded"],
    ["--batch", "--embedded", "--session", "work", "program.omega"],
    ["--session", "work2", "program.omega", "--embedded", "--batch"],
])
def test_flags_in_any_order(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "program.omega").write_text("(* 6 7)\n", encoding="utf-8")
    done = omega(tmp_path, *args)
    assert (done.returncode, done.stdout, done.stderr) == (0, "=> 42\n", "")


def test_dash_reads_standard_input_and_json_in_any_position(tmp_path: Path) -> None:
    done = omega(tmp_path, "--json", "-", "--embedded", "--batch", stdin="(+ 1 2)\n")
    assert done.returncode == 0 and '"value": "3"' in done.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--batch", "--embedded"], "--batch needs a FILE"),
    (["program.omega", "--embedded"], "only read with --batch"),
    (["--json", "--embedded"], "--json only goes with --batch"),
    (["--batch", "program.omega", "--plain"], "not allowed with"),
    (["--batch", "program.omega", "extra.omega", "--embedded"], "unrecognized arguments"),
    (["--batch", "program.omega", "--session", "../up", "--embedded"], "invalid session name"),
    (["--no-such-flag"], "unrecognized arguments"),
    (["--batch", "missing.omega", "--embedded"], "cannot read missing.omega"),
    (["server", "bogus"], "invalid choice"),
    (["server", "stop", "--json"], "--json only goes with omega server status"),
])
def test_misuse_prints_usage_and_an_example(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "program.omega").write_text("1\n", encoding="utf-8")
    done = omega(tmp_path, *args)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("omega: ") and says in lines[0], lines
    assert lines[1].startswith("usage: omega ")
    assert lines[2].startswith("example: omega ")
    if args[0] == "server":
        assert lines[1].startswith("usage: omega server ")
