"""The memory budget counts what a session keeps across commands (issue 10, item 4), not only
what one command builds: values kept by earlier commands (the checkpoint encoder's count,
``SharedEncoder.value_bytes``) plus what the running command grows. Freed values stop counting
at once; a reopened session (its state restored) and a goto count what that state holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from omega_core.config import Config, LanguageConfig, SessionConfig
from omega_core.evaluator import Evaluator
from omega_core.lang.budgets import MIB
from omega_core.lang.serialize_shared import SharedEncoder
from omega_core.session.checkpoint_states import CheckpointStates
from omega_core.session.recorded import RecordedSession

DOUBLED = "(define (rep s n) (if (= n 0) s (rep (string-append s s) (- n 1))))"
MB8 = 23
"""``(rep "x" 23)``: a string of 8 Mi characters (8 MB; ``max_string_chars`` is raised for them)."""
LIMIT_MB = 48


def open_session(tmp_path: Path, limit_mb: int = LIMIT_MB) -> RecordedSession:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                                 language=LanguageConfig(max_memory_mb=limit_mb, max_string_chars=16 * MIB))
    return RecordedSession.open(config.sessions_dir, "mem", config)


def fill_until_refused(session: RecordedSession, most: int = 12) -> list[str]:
    """Define 8 MB strings g0, g1 ... until the budget refuses one: the names defined."""
    defined: list[str] = []
    for number in range(most):
        result = session.execute(f'(define g{number} (rep "{number % 10}" {MB8}))')[-1]
        if not result.ok:
            assert result.error_code == "budget_exceeded", result.transcript()
            assert "kept by earlier commands" in (result.error or "") and "[language] max_memory_mb" in (result.error or "")
            assert f"g{number}" not in session.machine.globals  # the refused command is undone
            return defined
        defined.append(f"g{number}")
    raise AssertionError(f"{most} strings of 8 MB were all kept under a budget of {LIMIT_MB} MB")


def test_values_kept_by_earlier_commands_count_against_the_budget(tmp_path: Path) -> None:
    session = open_session(tmp_path)
    try:
        assert session.execute(DOUBLED)[0].ok
        defined = fill_until_refused(session)
        assert 2 <= len(defined) <= LIMIT_MB // 8  # each command alone is far below the budget
        assert session.states.encoder.value_bytes >= 8 * MIB * len(defined)
        assert session.execute(f"(string-length {defined[0]})")[0].value == str(8 * MIB)  # usable
    finally:
        session.close()


def test_freeing_values_makes_room_at_once(tmp_path: Path) -> None:
    session = open_session(tmp_path)
    try:
        session.execute(DOUBLED)
        defined = fill_until_refused(session)
        for name in defined:
            session.execute(f"(string-length {name})")  # code that read them must not keep them
        session.execute(" ".join(f"(set! {name} #f)" for name in defined))
        assert session.execute(f'(define again (rep "a" {MB8}))')[0].ok  # the first try, not the second
        assert session.states.encoder.value_bytes < 2 * 8 * MIB
    finally:
        session.close()


def test_a_reopened_session_counts_what_its_restored_state_holds(tmp_path: Path) -> None:
    session = open_session(tmp_path)
    session.execute(DOUBLED)
    defined = fill_until_refused(session)
    kept = session.states.encoder.value_bytes
    session.close()
    session = open_session(tmp_path)
    try:
        assert abs(session.states.encoder.value_bytes - kept) < MIB
        result = session.execute(f'(define more (rep "m" {MB8}))')[0]
        assert result.error_code == "budget_exceeded" and "kept by earlier commands" in (result.error or "")
        assert session.execute(f"(string-length {defined[-1]})")[0].value == str(8 * MIB)
    finally:
        session.close()


def test_going_back_before_the_values_gives_the_budget_back(tmp_path: Path) -> None:
    session = open_session(tmp_path)
    try:
        session.execute(DOUBLED)
        before_the_strings = session.next_seq - 1
        fill_until_refused(session)
        session.goto(before_the_strings)
        assert session.states.encoder.value_bytes < MIB
        assert session.execute(f'(define g0 (rep "z" {MB8}))')[0].ok
    finally:
        session.close()


def test_an_evaluator_without_a_session_counts_only_its_command() -> None:
    evaluator = Evaluator(language=LanguageConfig(max_memory_mb=LIMIT_MB, max_string_chars=16 * MIB))
    list(evaluator.run_text(DOUBLED))
    for number in range(LIMIT_MB // 8 + 2):  # more than the budget in all: nothing keeps count
        assert next(iter(evaluator.run_text(f'(define g{number} (rep "x" {MB8}))'))).ok


def test_the_encoder_charges_captured_values_and_a_prune_settles_the_count() -> None:
    evaluator = Evaluator()
    list(evaluator.run_text(DOUBLED + ' (define s (rep "x" 20)) (define l (list 1 2 3))'))
    encoder = SharedEncoder()
    encoder.capture(evaluator.machine, 1)
    assert MIB < encoder.value_bytes < MIB + 64 * 1024  # the string, three pairs, the closure ...
    list(evaluator.run_text("(set! s #f)"))
    encoder.capture(evaluator.machine, 2)
    assert encoder.value_bytes > MIB  # charged, not settled yet
    encoder.prune()
    assert encoder.value_bytes < 64 * 1024


def test_the_forms_of_one_input_count_what_the_ones_before_them_keep(tmp_path: Path) -> None:
    """Several defines in one input (one line, a notebook cell): no capture between its
    forms, so each form that ends adds what it grew to the part kept by what ran before."""
    session = open_session(tmp_path)
    try:
        session.execute(DOUBLED)
        forms = " ".join(f'(define g{number} (rep "x" {MB8}))' for number in range(12))
        results = session.execute(forms)
        refused = [number for number, result in enumerate(results) if result.error_code == "budget_exceeded"]
        assert refused, [result.transcript() for result in results]
        assert 2 <= refused[0] <= LIMIT_MB // 8
        assert "kept by earlier commands or forms" in (results[refused[0]].error or "")
    finally:
        session.close()


def test_only_a_replaced_value_that_can_hold_memory_settles_the_count(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Past half the budget a prune (O(captured objects)) follows a command that replaced a big
    value, not one that changed a number: ``(define x 1)`` in a big session stays cheap."""
    prunes: list[int] = []
    original = SharedEncoder.prune_steps

    def counted(self: SharedEncoder, budget_s: float | None):  # type: ignore[no-untyped-def]
        prunes.append(len(self.addr))
        return original(self, budget_s)

    monkeypatch.setattr(SharedEncoder, "prune_steps", counted)
    session = open_session(tmp_path)
    try:
        session.execute(DOUBLED + " (define counter 0)")
        defined = fill_until_refused(session)  # past half the budget now (and refused once: pruned)
        assert 2 * session.states.encoder.value_bytes >= LIMIT_MB * MIB
        before = len(prunes)
        assert session.execute("(define counter 1) (set! counter 2)")[-1].ok
        assert len(prunes) == before  # numbers replaced: nothing to settle
        assert session.execute(f"(set! {defined[0]} #f)")[0].ok
        assert len(prunes) == before + 1  # an 8 MB string replaced: settled at once
        assert session.states.encoder.value_bytes < 8 * MIB * (len(defined) - 1) + MIB
    finally:
        session.close()


def test_a_stopped_command_prunes_only_when_its_periodic_captures_named_what_it_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A prune walks every captured object (seconds in a session holding millions of pairs): an
    output budget's stop, which captured nothing, no longer asks for one; a loop stopped at the
    step budget after periodic captures of what it built still does."""
    prunes: list[int] = []
    original = CheckpointStates.prune_soon

    def counted(self: CheckpointStates) -> None:
        prunes.append(len(self.encoder.addr))
        original(self)

    monkeypatch.setattr(CheckpointStates, "prune_soon", counted)
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                                 language=LanguageConfig(step_budget=1_000_000),
                                 session=SessionConfig(periodic_checkpoint_steps=20_000))
    session = RecordedSession.open(config.sessions_dir, "stops", config)
    try:
        session.execute("(define (slow n acc) (slow (+ n 1) (if (= 0 (remainder n 10)) (cons n acc) acc)))")
        # endless on purpose: it prints until the output budget stops it, capturing nothing
        result = session.execute('(define (loud n) (display "xxxxxxxxxx") (loud n)) (loud 0)')[-1]
        assert result.error_code == "budget_exceeded" and "max_output_chars" in (result.error or "")
        assert prunes == []
        records = session.states.records_total
        result = session.execute("(slow 0 '())")[-1]
        assert result.error_code == "budget_exceeded" and "step_budget" in (result.error or "")
        assert session.states.records_total - records >= 1_000  # its periodic captures named its list
        assert len(prunes) == 1
    finally:
        session.close()
