"""A host failure at any stage of a command (reading, compiling, running, printing) ends that form
with an ``internal`` error, never a traceback, and never leaves the log and the memory out of step:
the next command is recorded normally and a reopened session (the log replayed) has the same state
(issue 10, item 7, from the evaluator's side)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from omega_core import evaluator as evaluator_module
from omega_core.config import Config
from omega_core.evaluator import Evaluator
from omega_core.lang.builtins import base_globals
from omega_core.lang.machine import Machine
from omega_core.session.recorded import RecordedSession

CHECK = "n"


def _deep(*_: Any) -> Any:
    raise RecursionError("maximum recursion depth exceeded")


def _bug(*_: Any) -> Any:
    raise TypeError("a bug in a primitive")


def _break_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Machine, "compile", _deep)


def _break_primitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_globals()["string-upcase"], "fn", _bug)


def _break_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluator_module, "write_string_cut", _deep)


# stage, how to break it, the input, the value of n after it (the failing form undone unless it ran)
STAGES: list[tuple[str, Callable[[pytest.MonkeyPatch], None], str, str]] = [
    ("compile", _break_compile, "(set! n 5)", "=> 0"),
    ("run", _break_primitive, "(begin (set! n 2) (string-upcase \"x\") (set! n 3))", "=> 0"),
    ("print", _break_printing, "(begin (set! n 4) n)", "=> 4"),
]


@pytest.mark.parametrize(("stage", "breaker", "code", "after"), STAGES, ids=[stage[0] for stage in STAGES])
def test_a_host_failure_at_each_stage_keeps_log_and_memory_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str, breaker: Callable[[pytest.MonkeyPatch], None],
    code: str, after: str,
) -> None:
    config = dataclasses.replace(Config())
    session = RecordedSession.open(tmp_path, "s", config)
    session.execute("(define n 0)")
    with monkeypatch.context() as patch:
        breaker(patch)
        results = session.execute(code)
    assert results[-1].error_code == "internal", results[-1].transcript()
    assert "internal error" in (results[-1].error or "") and "Traceback" not in (results[-1].error or "")
    assert session.execute(CHECK)[0].transcript() == after
    assert session.execute("(define m 1) m")[-1].transcript() == "=> 1"  # recorded normally afterwards
    session.close()
    for path in tmp_path.iterdir():  # replay the whole log (the failure does not happen again)
        if path.name != "s.jsonl":
            path.unlink()
    replayed = RecordedSession.open(tmp_path, "s", config)
    assert replayed.execute(CHECK)[0].transcript() == after
    assert replayed.execute("m")[0].transcript() == "=> 1"
    replayed.close()


def test_a_reader_failure_is_an_error_line_and_the_session_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluator = Evaluator()
    real_reader = evaluator_module.iter_recovering

    def deep_after_first(text: str, *rest: Any) -> Any:  # the forms are read as they run
        forms = real_reader(text, *rest)
        yield next(forms)
        _deep()

    with monkeypatch.context() as patch:
        patch.setattr(evaluator_module, "iter_recovering", deep_after_first)
        results = list(evaluator.run_text("(define before 1) (+ 1 2)"))
    assert [r.error_code for r in results] == [None, "internal"]
    assert "while reading the input" in (results[1].error or "")
    assert [r.transcript() for r in evaluator.run_text("(+ 1 2) before")] == ["=> 3", "=> 1"]
