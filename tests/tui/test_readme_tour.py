"""README's "A short tour" runs exactly as written (issue 13): every ``omega`` command of its shell
blocks, and the "language in ten lines" block, on a temp session dir and a temp runtime dir.

The commands are parsed out of README.md, never copied here, so editing README without fixing the
program (or the reverse) fails this test. A command of a shape this test does not know also fails
it: add its check below when the tour grows.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PROGRAM = "(define x 2)\n\n; a comment\n(define (twice n)\n  (* 2 n))\n(twice x)\n"
PROGRAM_OUTPUT = "=> x\n=> twice\n=> 4\n"
PLAIN_INPUT = "(+ 1 2)\n:quit\n"


def tour_text() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## A short tour")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", tour_text(), re.S)


OTHER_PROGRAMS = {"pip", "jupyter"}
"""Programs the tour names besides omega: installing the Jupyter extra needs the network and
``jupyter lab`` a browser, so they are not run here (tests/tui/kernel drives the kernel with
jupyter_client, nbclient and jupyter console)."""


def tour_commands() -> list[list[str]]:
    """Every ``omega`` command of the tour's ``sh`` blocks, split as a shell would (comments removed,
    ``&&`` chains split into their commands)."""
    commands = []
    for block in code_blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words:
                end = words.index("&&") if "&&" in words else len(words)
                command, words = words[:end], words[end + 1:]
                if command and command[0] not in OTHER_PROGRAMS:
                    commands.append(command)
    return commands


def test_the_tour_has_commands() -> None:
    commands = tour_commands()
    assert all(words[0] == "omega" for words in commands), commands
    assert len(commands) >= 10


def run(tmp_path: Path, words: list[str]) -> subprocess.CompletedProcess[str]:
    """One README command (``omega ...``, perhaps with ``< FILE``) as a real process in ``tmp_path``."""
    stdin = PLAIN_INPUT if "--plain" in words else ""
    if "<" in words:
        at = words.index("<")
        stdin = (tmp_path / words[at + 1]).read_text(encoding="utf-8")
        words = words[:at] + words[at + 2:]
    env = dict(os.environ)  # session, runtime and config dirs are temp dirs (tests/conftest.py)
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")  # `omega kernel install` (--user) writes here
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-m", "omega_tui.cli", *words[1:]], input=stdin, capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def check(tmp_path: Path, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    """What each kind of command must print (exit status first)."""
    shown = " ".join(words)
    assert done.returncode == 0, f"{shown}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    flags = set(words[1:])
    if "--batch" in flags and "--json" in flags:
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(row["line"], row["value"], row["error"]) for row in rows] == [(1, "x", None), (4, "twice", None), (6, "4", None)], shown
    elif "--batch" in flags:
        assert done.stdout == PROGRAM_OUTPUT, shown
        if "--session" in flags:
            name = words[words.index("--session") + 1]
            assert (Path(os.environ["OMEGA_SESSION_DIR"]) / "sessions" / f"{name}.jsonl").is_file(), shown
    elif "--plain" in flags:
        assert "=> 3" in done.stdout, shown
        if "--session" in flags:
            name = words[words.index("--session") + 1]
            assert (Path(os.environ["OMEGA_SESSION_DIR"]) / "sessions" / f"{name}.jsonl").is_file(), shown
    elif words[1:3] == ["server", "status"] and "--json" in flags:
        info = json.loads(done.stdout)
        assert info["running"] is True and info["supervisor_pid"] > 0 and "config" in info, shown
    elif words[1] == "server":
        expected = {"start": "Omega server ", "status": "Omega server running", "restart": "Omega server restarted",
                    "stop": "Omega server stopped"}[words[2]]
        assert done.stdout.startswith(expected), f"{shown}: {done.stdout}"
    elif words[1:3] == ["kernel", "install"]:
        spec = json.loads((tmp_path / "jupyter" / "kernels" / "omega" / "kernel.json").read_text(encoding="utf-8"))
        assert spec["display_name"] == "Omega Lisp" and spec["language"] == "omega", shown
    else:
        pytest.fail(f"README command of an unknown shape (teach test_readme_tour.check): {shown}")


def test_every_tour_command_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "program.omega").write_text(PROGRAM, encoding="utf-8")
    commands = tour_commands()
    try:
        for words in commands:
            check(tmp_path, words, run(tmp_path, words))
    finally:
        run(tmp_path, ["omega", "server", "stop"])
    status = run(tmp_path, ["omega", "server", "status"])
    assert status.returncode == 3 and status.stdout.startswith("no server running"), status.stdout


def test_the_language_in_ten_lines(tmp_path: Path) -> None:
    """Each ``; => VALUE`` comment is what that line prints; commands run without an error, and a
    comment naming ``llm_boundary`` is borne out by the command's output."""
    (block,) = code_blocks("scheme")
    lines = block.splitlines()
    (tmp_path / "ten.omega").write_text(block, encoding="utf-8")
    done = run(tmp_path, ["omega", "--batch", "--embedded", "--json", "--session", "ten", "ten.omega"])
    assert done.returncode == 0, done.stdout
    rows = {row["line"]: row for row in map(json.loads, done.stdout.splitlines())}
    for number, line in enumerate(lines, start=1):
        row = rows[number]
        expected = re.search(r";\s*=>\s*(.*)$", line)
        if expected:
            assert row["value"] == expected.group(1).strip(), line
        if line.startswith(":"):
            assert row["error"] is None and not row["output"].startswith("usage:"), (line, row)
            if "llm_boundary" in line:
                assert "llm_boundary" in row["output"], row["output"]
                seq = re.search(r"\[(\d+)\] llm_boundary", line)
                assert seq is None or f"[{seq.group(1)}] llm_boundary" in row["output"], row["output"]


def test_every_command_the_tour_lists_exists() -> None:
    from omega_core.repl.processor import COMMANDS, find_command, split_arguments

    import omega_core.repl.commands  # noqa: F401 - registers them

    listed = [line.split("  ")[0] for block in code_blocks("text") for line in block.splitlines() if line.startswith(":")]
    assert len(listed) >= 10
    for entry in listed:
        for part in entry.split(", "):
            for clause in part.split(";"):
                words = split_arguments(clause.strip())
                if words:
                    found, _ = find_command(words)
                    assert found is not None and found.name in COMMANDS, clause
