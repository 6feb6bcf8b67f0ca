"""Start-up cost of ``omega`` (issue 13, item 5): what a one-line ``--embedded --batch`` does not
import, and the garbage collector paused only while the command starts. Speed itself is measured
by ``bench/cli.py``; these tests keep the causes from coming back."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omega_tui import cli

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json, sys
from omega_tui import cli
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules), "gc": gc.isenabled()}), file=sys.stderr)
"""
NOT_FOR_A_ONE_LINER = ("logging", "statistics", "secrets", "tomllib", "importlib.resources", "decimal", "tempfile",
                       "shutil", "random", "argparse", "gettext")
"""Modules whose only users on this path are rare (a repair's warning, a latency report, a scripted
oracle's file, random names, integers past 12,000 bits, a usage error) or that it replaces with a
few lines (``tempfile``: ``batch.make_scratch_dir``): each costs every start if imported."""


def test_embedded_one_liner_imports_none_of_the_rare_paths(tmp_path: Path) -> None:
    program = tmp_path / "one.omega"
    program.write_text("(+ 1 2)\n", encoding="utf-8")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), OMEGA_SESSION_DIR=str(tmp_path / "sessions"))
    env.pop("OMEGA_CONFIG", None)  # no config file: tomllib is only for reading one
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", PROBE, "--embedded", "--batch", str(program)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    report = json.loads(done.stderr.splitlines()[-1])
    assert report["code"] == 0 and done.stdout == "=> 3\n", done.stdout + done.stderr
    loaded = [name for name in report["modules"] if name in NOT_FOR_A_ONE_LINER]
    assert loaded == [], f"a one-line embedded batch imported {loaded}"
    assert report["gc"] is True, "the garbage collector stayed off after start-up"


def test_the_front_end_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[bool] = []

    def fake_batch(*args: object, **kwargs: object) -> int:
        seen.append(gc.isenabled())
        return 0

    import omega_tui.batch

    monkeypatch.setattr(omega_tui.batch, "run_batch_embedded", fake_batch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("OMEGA_CONFIG", raising=False)
    (tmp_path / "one.omega").write_text("(+ 1 2)\n", encoding="utf-8")
    assert cli.run(["--embedded", "--batch", "one.omega"]) == 0
    assert seen == [True]
    assert gc.isenabled()


def test_a_usage_error_leaves_the_collector_on() -> None:
    with pytest.raises(Exception):
        cli.run(["--batch"])
    assert gc.isenabled()
