"""``omega --batch [--session NAME] FILE`` as a user runs it: a real process, a temporary session dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def omega(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # OMEGA_SESSION_DIR / OMEGA_RUNTIME_DIR point at tmp dirs (tests/conftest.py)
    env["OMEGA_SESSION_DIR"] = str(tmp_path / "sd")
    if "--batch" in args:  # these tests are about the in-process path (no server to clean up)
        args = (*args, "--embedded")
    return subprocess.run(
        [sys.executable, "-m", "omega_tui.cli", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=60,
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def log_events(tmp_path: Path, name: str) -> list[dict]:
    path = tmp_path / "sd" / "sessions" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_batch_records_into_the_named_session(tmp_path: Path) -> None:
    program = write(tmp_path, "prog.omega", "(define x 5)\n(define (twice n)\n  (* 2 n))\n(twice x)\n")
    done = omega(tmp_path, "--batch", program, "--session", "work")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "=> x\n=> twice\n=> 10\n"
    sessions = tmp_path / "sd" / "sessions"
    assert (sessions / "work.jsonl").is_file()
    assert (sessions / "work.index.json").is_file()
    events = log_events(tmp_path, "work")
    assert events[0]["type"] == "session" and events[0]["id"] == "work"
    assert [event["code"] for event in events if event["type"] == "input"] == [
        "(define x 5)", "(define (twice n)\n  (* 2 n))", "(twice x)"]
    assert [event["seq"] for event in events[1:]] == list(range(len(events) - 1))
    index = json.loads((sessions / "work.index.json").read_text(encoding="utf-8"))
    assert index["eventCount"] == len(events) - 1

    listing = write(tmp_path, "list.omega", ":session list\n")
    second = omega(tmp_path, "--batch", listing, "--session", "other")
    assert second.returncode == 0, second.stderr
    assert f"  work ({len(events) - 1} events, 3 checkpoints)" in second.stdout.splitlines()

    again = omega(tmp_path, "--batch", write(tmp_path, "more.omega", "(twice (twice x))\n"), "--session", "work")
    assert again.stdout == "=> 20\n"
    events_after = log_events(tmp_path, "work")
    assert [event["seq"] for event in events_after[1:]] == list(range(len(events_after) - 1))
    assert len(events_after) > len(events)


def test_batch_mixes_code_and_commands(tmp_path: Path) -> None:
    program = write(tmp_path, "mixed.omega", "\n".join([
        "; a comment",
        "(define a 1)",
        ":session checkpoints",
        "(define b",
        "  (+ a 1))",
        "  :history",
        ":session goto 2",
        "b",
        ":record off",
        "a",
        "",
    ]))
    done = omega(tmp_path, "--batch", program, "--session", "mix")
    assert done.returncode == 1  # `b` after the goto is unbound: a form failed
    lines = done.stdout.splitlines()
    assert lines[0] == "=> a"
    assert lines[1] == "  [003] manual (state: state-3)"
    assert lines[2] == "=> b"
    assert lines[3:5] == ["  [000] (define a 1)", "  [004] (define b   (+ a 1))"]
    assert lines[5].startswith("Jumped to seq 2 ")
    assert lines[6] == "=> a"
    assert lines[7].startswith("error: unbound variable: b")
    assert lines[8] == "Step recording is off"
    assert lines[9] == "=> 1"
    last_input = [event for event in log_events(tmp_path, "mix") if event.get("type") == "input"][-1]
    assert last_input["code"] == "a" and last_input["record"] is False


@pytest.mark.parametrize("line", [":session goto 99", ":session save", ":nope", ":session load missing"])
def test_exit_status_1_when_a_command_fails(tmp_path: Path, line: str) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "bad.omega", f"(+ 1 2)\n{line}\n(+ 2 3)\n"),
                 "--session", "s")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "=> 3" and lines[-1] == "=> 5"  # the run goes on after the failing command
    assert lines[1].startswith(("error: ", "usage: "))


def test_exit_status_0_when_everything_succeeds(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "ok.omega", "(+ 1 2)\n:session trace 1\n:help\n"),
                 "--session", "s")
    assert done.returncode == 0, done.stdout + done.stderr


def test_json_lines_for_commands(tmp_path: Path) -> None:
    program = write(tmp_path, "j.omega", "(define a 1)\n:session trace 1\n:session goto 99\n:history 2 3\n")
    done = omega(tmp_path, "--batch", program, "--json", "--session", "js")
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 4
    assert records[0]["input"] == "(define a 1)" and records[0]["value"] == "a"
    trace, goto, usage = records[1:]
    for record in (trace, goto, usage):
        assert set(record) == {"command", "line", "output", "error"}
    assert trace == {"command": ":session trace 1", "line": 2,
                     "output": "  [003] checkpoint manual (state-3)", "error": None}
    assert goto["command"] == ":session goto 99" and goto["line"] == 3
    assert goto["output"] == "error: no event 99 in session 'js' (it has events 0 to 3)"
    assert goto["error"] == "no event 99 in session 'js' (it has events 0 to 3)"
    assert usage["output"] == "usage: :history [N]" and usage["line"] == 4


def test_stdin_batch_with_session(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", "-", "--session", "piped", stdin="(define p 3)\n(* p p)\n")
    assert done.stdout == "=> p\n=> 9\n"
    assert (tmp_path / "sd" / "sessions" / "piped.jsonl").is_file()


def test_invalid_session_name_is_a_usage_error(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "p.omega", "(+ 1 2)\n"), "--session", "../escape")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "invalid session name" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "sd" / "escape.jsonl").exists()
