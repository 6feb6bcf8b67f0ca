"""``omega --batch`` as a user runs it (a real process), and the line-mode REPL's input loop."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omega_tui.plain import CONTINUATION_PROMPT, PROMPT, needs_more_input, repl_loop

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path("/work/shared/fixtures/programs")
PROGRAM_FILES = sorted(PROGRAMS.glob("*.omega"))


def omega(tmp_path: Path, *args: str, stdin: str | None = None, env_extra: dict[str, str] | None = None,
          embedded: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m omega_tui.cli ARGS`` on this checkout's code, from ``tmp_path``.

    ``--batch`` runs get ``--embedded`` (in-process, no server left to clean up) unless
    ``embedded`` is false; ``test_default_batch_through_the_server`` covers the server path.
    """
    if embedded and "--batch" in args:
        args = (*args, "--embedded")
    env = dict(os.environ)  # session and runtime dirs already point at tmp dirs (tests/conftest.py)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(env_extra or {})
    done = subprocess.run(
        [sys.executable, "-m", "omega_tui.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout
    return done


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the sample programs -----------------------------------------------------------------------


def test_there_are_sample_programs() -> None:
    assert len(PROGRAM_FILES) >= 3


@pytest.mark.parametrize("program", PROGRAM_FILES, ids=lambda p: p.stem)
def test_sample_program_output_is_exactly_the_expected_file(program: Path, tmp_path: Path) -> None:
    expected = program.with_suffix(".expected").read_text(encoding="utf-8")
    done = omega(tmp_path, "--batch", str(program))
    assert done.stdout == expected
    assert done.returncode == 0
    assert done.stderr == ""


# --- exit statuses ---------------------------------------------------------------------------------


def test_exit_0_when_every_form_succeeds(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "ok.omega", "(define x 2)\n(* x 21)\n"))
    assert (done.returncode, done.stdout) == (0, "=> x\n=> 42\n")


def test_exit_1_when_a_form_fails_and_later_forms_still_run(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "bad.omega", "(car '())\n(+ 1 2)\n"))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("error: car")
    assert lines[1] == "=> 3"


def test_exit_1_for_a_read_error(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", write(tmp_path, "bad.omega", '(display "a\\qb")\n(+ 1 2)\n'))
    assert done.returncode == 1
    assert "unknown escape" in done.stdout
    assert done.stdout.splitlines()[-1] == "=> 3"


def test_exit_2_for_a_missing_file(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", str(tmp_path / "nope.omega"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "nope.omega" in done.stderr
    assert done.stderr.startswith("omega: ")


def test_exit_2_for_a_directory(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", str(tmp_path))
    assert done.returncode == 2
    assert str(tmp_path) in done.stderr


@pytest.mark.parametrize("args", [["--no-such-flag"], ["--batch"], ["--batch", "a.omega", "--plain"], ["stray-argument"]])
def test_exit_2_for_bad_flags(tmp_path: Path, args: list[str]) -> None:
    done = omega(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("omega: ")
    assert done.stdout == ""


def test_exit_2_for_json_without_batch(tmp_path: Path) -> None:
    done = omega(tmp_path, "--json")
    assert done.returncode == 2
    assert "--json" in done.stderr and "--batch" in done.stderr


def test_errors_name_the_line_of_the_file(tmp_path: Path) -> None:
    src = '(define x 1)\n\n; comment\n(define (f y)\n  (car y))\n(f 5)\n(display "a\\qb")\n(+ 1 2)\n(car\n'
    done = omega(tmp_path, "--batch", write(tmp_path, "lines.omega", src))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "=> x",
        "=> f",
        "error: car: expected a pair, got 5 (integer) (in (car y), line 5, column 3)",
        'error: unknown escape "\\q" in string (use \\n \\t \\\\ \\" or \\uXXXX) at line 7, column 12',
        "=> 3",
        'error: unbalanced parentheses: "(" opened here is never closed (add ")") at line 9, column 1',
    ]


def test_lone_surrogate_in_a_string_does_not_crash_the_batch(tmp_path: Path) -> None:
    src = '(define s "\\ud83d")\n(display s)\n(+ 3 4)\n'
    done = omega(tmp_path, "--batch", "-", stdin=src)
    assert "internal error" not in done.stderr
    assert done.returncode in (0, 1)
    assert done.stdout.splitlines()[-1] == "=> 7"


# --- the default path: through the session server ----------------------------------------------------


def test_default_batch_through_the_server(tmp_path: Path) -> None:
    try:
        for program in PROGRAM_FILES:
            done = omega(tmp_path, "--batch", str(program), embedded=False)
            assert done.stdout == program.with_suffix(".expected").read_text(encoding="utf-8"), program.name
            assert done.returncode == 0, done.stderr
        done = omega(tmp_path, "--batch", "-", stdin='(display "x")\n(car 1)\n(+ 1 2)\n', embedded=False)
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        assert lines[0] == "x"
        assert lines[1] == "=> null"
        assert lines[2].startswith("error: car")
        assert lines[3] == "=> 3"
        done = omega(tmp_path, "--batch", "-", "--json", stdin="(* 6 7)\n", embedded=False)
        assert json.loads(done.stdout.splitlines()[0])["value"] == "42"
    finally:
        omega(tmp_path, "server", "stop", embedded=False)


# --- stdin, json, output order ---------------------------------------------------------------------


def test_dash_reads_stdin(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", "-", stdin="(define (sq x) (* x x))\n(sq 12)\n")
    assert (done.returncode, done.stdout) == (0, "=> sq\n=> 144\n")


def test_dash_reads_stdin_with_a_failing_form(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", "-", stdin="(undefined-proc)\n")
    assert done.returncode == 1
    assert done.stdout.startswith("error: unbound variable: undefined-proc")


def test_display_output_appears_before_its_value_line(tmp_path: Path) -> None:
    src = '(begin (display "hello") (newline) (display "world") 5)\n(display "x")\n7\n'
    done = omega(tmp_path, "--batch", "-", stdin=src)
    assert done.stdout == "hello\nworld\n=> 5\nx\n=> null\n=> 7\n"


def test_multi_line_forms_and_comments(tmp_path: Path) -> None:
    src = "; a comment\n(define (f x)\n  ; inside\n  (+ x 1))\n\n(f\n 1)\n"
    done = omega(tmp_path, "--batch", "-", stdin=src)
    assert (done.returncode, done.stdout) == (0, "=> f\n=> 2\n")


def test_json_lines(tmp_path: Path) -> None:
    src = '(define x 5)\n(begin (display "out") (* x 2))\n(car x)\n'
    done = omega(tmp_path, "--batch", "-", "--json", stdin=src)
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        assert {"input", "value", "output", "error", "steps", "ms"} <= set(record)
        assert isinstance(record["steps"], int) and record["steps"] >= 0
        assert isinstance(record["ms"], (int, float)) and record["ms"] >= 0
    assert records[0]["input"] == "(define x 5)"
    assert (records[0]["value"], records[0]["error"], records[0]["output"]) == ("x", None, "")
    assert (records[1]["value"], records[1]["output"], records[1]["error"]) == ("10", "out", None)
    assert records[1]["input"] == '(begin (display "out") (* x 2))'
    assert records[2]["value"] is None
    assert records[2]["error"].startswith("car: ")


def test_json_for_a_sample_program(tmp_path: Path) -> None:
    program = PROGRAMS / "closures.omega"
    expected = program.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    done = omega(tmp_path, "--batch", str(program), "--json")
    assert done.returncode == 0
    values = [json.loads(line)["value"] for line in done.stdout.splitlines()]
    assert [f"=> {v}" for v in values] == expected


# --- config problems -------------------------------------------------------------------------------


def test_bad_config_file_gives_exit_2_naming_the_file(tmp_path: Path) -> None:
    config = write(tmp_path, "broken.toml", "[language\nstep_budget = 5\n")
    done = omega(tmp_path, "--config", config, "--batch", "-", stdin="1\n")
    assert done.returncode == 2
    assert "broken.toml" in done.stderr
    assert done.stdout == ""


def test_config_with_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    config = write(tmp_path, "typo.toml", "[language]\nstep_budgte = 5\n")
    done = omega(tmp_path, "--config", config, "--batch", "-", stdin="1\n")
    assert done.returncode == 2
    assert "typo.toml" in done.stderr and "step_budgte" in done.stderr


def test_config_named_by_environment_that_does_not_exist(tmp_path: Path) -> None:
    done = omega(tmp_path, "--batch", "-", stdin="1\n", env_extra={"OMEGA_CONFIG": str(tmp_path / "gone.toml")})
    assert done.returncode == 2
    assert "gone.toml" in done.stderr


def test_bad_config_in_current_directory_is_named(tmp_path: Path) -> None:
    write(tmp_path, "omega.toml", "[language]\nstep_budget = -1\n")
    done = omega(tmp_path, "--batch", "-", stdin="1\n")
    assert done.returncode == 2
    assert "omega.toml" in done.stderr and "step_budget" in done.stderr


def test_config_step_budget_applies_in_batch(tmp_path: Path) -> None:
    config = write(tmp_path, "small.toml", "[language]\nstep_budget = 5000\n")
    done = omega(tmp_path, "--config", config, "--batch", "-", stdin="(define (f) (f))\n(f)\n(+ 1 1)\n")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "=> f"
    assert lines[1].startswith("error: step budget exceeded")
    assert lines[2] == "=> 2"


# --- the line-mode REPL loop -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "more"),
    [
        ("(define (f x)", True),
        ("(+ 1 (* 2", True),
        ('(display "abc', True),
        ('"open string', True),
        ("[1 2", True),
        ("(+ 1 2)", False),
        ("42", False),
        ("", False),
        ("   ", False),
        ("; just a comment", False),
        ("(a) (b", True),
        ("(+ 1 2))", False),  # a stray ")" is an error to report, not a reason to wait
        ('(display "a\\qb")', False),
        ("(a . )", False),
        ('(display ")")', False),
        ("(a ; comment with (\n b)", False),
        ("(a ; comment with (", True),
    ],
)
def test_needs_more_input(text: str, more: bool) -> None:
    assert needs_more_input(text) is more


class FakeTerminal:
    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


def echo_processor(log: list[str]):  # type: ignore[no-untyped-def]
    def process(entry: str) -> tuple[str, bool]:
        log.append(entry)
        if entry.strip() == ":quit":
            return "", True
        return f"got {entry!r}", False

    return process


def test_repl_loop_joins_lines_while_parens_are_open() -> None:
    terminal = FakeTerminal(["(define (f x)", "  (+ x", "     1))", "(f 2)"])
    entries: list[str] = []
    out = io.StringIO()
    assert repl_loop(echo_processor(entries), read_line=terminal, out=out) == 0
    assert entries == ["(define (f x)\n  (+ x\n     1))", "(f 2)"]
    assert terminal.prompts == [PROMPT, CONTINUATION_PROMPT, CONTINUATION_PROMPT, PROMPT, PROMPT]
    assert "got '(f 2)'\n" in out.getvalue()


def test_repl_loop_quit() -> None:
    terminal = FakeTerminal(["(+ 1 2)", ":quit", "(never read)"])
    entries: list[str] = []
    assert repl_loop(echo_processor(entries), read_line=terminal, out=io.StringIO()) == 0
    assert entries == ["(+ 1 2)", ":quit"]
    assert terminal.lines == ["(never read)"]


def test_repl_loop_eof_ends_cleanly() -> None:
    terminal = FakeTerminal([])
    out = io.StringIO()
    assert repl_loop(echo_processor([]), read_line=terminal, out=out) == 0
    assert out.getvalue() == "\n"


def test_repl_loop_eof_in_the_middle_of_an_entry() -> None:
    terminal = FakeTerminal(["(define (f x)"])
    entries: list[str] = []
    assert repl_loop(echo_processor(entries), read_line=terminal, out=io.StringIO()) == 0
    assert entries == []


def test_repl_loop_skips_blank_entries() -> None:
    terminal = FakeTerminal(["", "   ", "1"])
    entries: list[str] = []
    repl_loop(echo_processor(entries), read_line=terminal, out=io.StringIO())
    assert entries == ["1"]


def test_repl_loop_keyboard_interrupt_abandons_the_entry() -> None:
    calls = iter(["(+ 1", KeyboardInterrupt(), "(+ 2 3)"])

    def read_line(prompt: str) -> str:
        item = next(calls, None)
        if item is None:
            raise EOFError
        if isinstance(item, BaseException):
            raise item
        return item

    entries: list[str] = []
    assert repl_loop(echo_processor(entries), read_line=read_line, out=io.StringIO()) == 0
    assert entries == ["(+ 2 3)"]


def test_repl_loop_with_the_evaluator() -> None:
    from omega_core.evaluator import Evaluator

    evaluator = Evaluator()

    def process(entry: str) -> tuple[str, bool]:
        if entry.strip() == ":quit":
            return "", True
        return "\n".join(r.transcript() for r in evaluator.run_text(entry)), False

    terminal = FakeTerminal(["(define (sq x)", "  (* x x))", '(begin (display "hi") (sq 4))', ":quit"])
    out = io.StringIO()
    assert repl_loop(process, read_line=terminal, out=out) == 0
    assert out.getvalue() == "=> sq\nhi\n=> 16\n"
