"""Per-command budgets (issue 10, item 4): steps, memory, integer size, output.

Each ends the command with ``budget_exceeded`` and a message naming the budget, the value reached and
the config key; the primitives that can build something big check its size before building it; and
the stopped command's changes to globals and hash tables are undone, the session usable afterwards.
"""

from __future__ import annotations

import threading
import time

import pytest

from omega_core.config import LanguageConfig
from omega_core.errors import BudgetExceeded
from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator
from omega_core.lang.budgets import MemoryMeter


def run(text: str, **limits: int) -> tuple[Evaluator, list[FormResult]]:
    evaluator = Evaluator(language=LanguageConfig(**limits))
    return evaluator, list(evaluator.run_text(text))


def more(evaluator: Evaluator, text: str) -> list[str]:
    return [result.transcript() for result in evaluator.run_text(text)]


def assert_budget(result: FormResult, *words: str) -> None:
    assert result.error_code == "budget_exceeded", result.transcript()
    for word in words:
        assert word in (result.error or ""), (word, result.error)


# --- the scenarios of the issue: each stops quickly, the session stays as it was -------------------


def test_a_string_doubling_stops_at_the_memory_budget_and_is_undone() -> None:
    evaluator, results = run('(define s "x") (define (grow) (set! s (string-append s s)) (grow)) (grow)',
                             max_memory_mb=16, max_string_chars=64 * 1024 * 1024)  # the memory budget first
    assert_budget(results[2], "memory budget exceeded", "string-append", "limit 16 MB", "[language] max_memory_mb")
    assert more(evaluator, "(string-length s)") == ["=> 1"]  # the set! of the stopped command is undone


def test_a_list_doubling_with_append_stops_at_the_memory_budget() -> None:
    evaluator, results = run("(define l (list 1)) (define (grow) (set! l (append l l)) (grow)) (grow)",
                             max_memory_mb=8)
    assert_budget(results[2], "memory budget exceeded", "append", "[language] max_memory_mb")
    assert more(evaluator, "(length l)") == ["=> 1"]


def test_repeated_squaring_stops_at_the_integer_budget() -> None:
    evaluator, results = run("(define (sq x) (sq (* x x))) (sq 2)")
    assert_budget(results[1], "integer size budget exceeded", "*", "65,536 bits", "[language] max_integer_bits")
    assert more(evaluator, "(* 6 7)") == ["=> 42"]


def test_an_endless_non_tail_recursion_stops_at_the_memory_budget() -> None:
    evaluator, results = run("(define (deep n) (+ 1 (deep (- n 1)))) (deep -1)", max_memory_mb=24)
    assert_budget(results[1], "memory budget exceeded", "values and continuation", "reached",
                  "[language] max_memory_mb")
    assert evaluator.machine.k is None  # the continuation was dropped, its memory freed
    assert more(evaluator, "(define (fine n) (if (= n 0) 0 (+ 1 (fine (- n 1))))) (fine 1000)") == ["=> fine", "=> 1000"]
    assert more(evaluator, "(+ 1 2)") == ["=> 3"]


def test_output_past_its_budget_stops_the_command_and_is_cut_with_a_note() -> None:
    evaluator, results = run('(define (p) (display "hello ") (p)) (p) 5', max_output_chars=1000)
    stopped = results[1]
    assert_budget(stopped, "output budget exceeded", "1,000 characters", "[language] max_output_chars")
    assert stopped.output.startswith("hello hello") and stopped.output.endswith("[output cut at 1,000 characters]")
    assert len(stopped.output) < 1100
    assert results[2].transcript() == "=> 5"


def test_output_within_its_budget_is_not_an_error() -> None:
    _, results = run('(display "abc") 1', max_output_chars=3)
    assert results[0].ok and results[0].output == "abc"


def test_the_step_budget_message_names_steps_limit_and_key() -> None:
    evaluator, results = run("(define n 0) (define (f) (set! n (+ n 1)) (f)) (f)", step_budget=5000)
    assert_budget(results[2], "step budget exceeded", "5,000 steps", "(limit 5,000 steps, [language] step_budget)")
    assert more(evaluator, "n") == ["=> 0"]


# --- undo: the command leaves globals and hash tables as they were ------------------------------


def test_a_stopped_command_undoes_its_defines_sets_and_hash_entries() -> None:
    evaluator, results = run(
        "(define h (make-hash)) (hash-set! h 'a 1) (define kept 1)"
        " (begin (hash-set! h 'a 2) (hash-set! h 'b 3) (define fresh 1) (set! kept 2)"
        "        (let loop () (loop)))",
        step_budget=5000,
    )
    assert_budget(results[3], "step budget exceeded")
    assert more(evaluator, "(list (hash-ref h 'a) (hash-count h) (hash-keys h) kept)") == ["=> (1 1 (a) 1)"]
    assert more(evaluator, "fresh")[0].startswith("error: unbound variable")


def test_forms_before_the_stopped_one_keep_their_effects() -> None:
    evaluator, results = run("(define a 1) (define (spin) (spin)) (spin)", step_budget=2000)
    assert results[0].ok and results[2].error_code == "budget_exceeded"
    assert more(evaluator, "a") == ["=> 1"]


def test_an_interrupted_command_is_undone_too() -> None:
    evaluator = Evaluator(language=LanguageConfig(slice_steps=1000))
    more(evaluator, "(define n 0)")

    def interrupter() -> None:
        deadline = time.monotonic() + 20
        while evaluator.machine.steps < 20_000 and time.monotonic() < deadline:
            time.sleep(0.002)
        evaluator.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    results = list(evaluator.run_text("(define (count) (set! n (+ n 1)) (count)) (count)"))
    thread.join()
    assert results[-1].error_code == "interrupted"
    assert more(evaluator, "n") == ["=> 0"]


# --- primitives check before they build --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "who"),
    [
        ('(string-replace-all (make-text 2000) "a" (make-text 2000))', "string-replace-all"),
        ('(let ((t (make-text 400000))) (string-join (list t t t) ""))', "string-join"),
        ('(string-split (make-text 100000) "")', "string-split"),
        ("(let ((t (make-text 400000))) (string-append t t t))", "string-append"),
    ],
)
def test_string_primitives_refuse_a_result_past_the_memory_budget(code: str, who: str) -> None:
    make_text = ('(define (make-text n) (let loop ((s "a")) (if (>= (string-length s) n) (substring s 0 n)'
                 " (loop (string-append s s)))))")
    evaluator, results = run(make_text + " " + code, max_memory_mb=1)
    assert_budget(results[1], "memory budget exceeded", f"the result of {who}", "limit 1 MB")
    assert more(evaluator, "(string-length (make-text 10))") == ["=> 10"]


def test_expt_and_string_to_number_check_the_integer_budget_first() -> None:
    evaluator, results = run("(expt 10 100000) (string->number (make-string-of-digits))", max_integer_bits=1000)
    assert_budget(results[0], "integer size budget exceeded", "expt", "limit 1,000 bits")
    digits = "7" * 400
    assert_budget(list(evaluator.run_text(f'(string->number "{digits}")'))[0], "string->number", "max_integer_bits")
    assert more(evaluator, f'(string->number "{"7" * 300}")') == ["=> " + "7" * 300]
    assert more(evaluator, "(expt 2 999) (expt 10 -100000)")[1] == "=> 0.0"


def test_integers_up_to_the_budget_are_built_and_printed() -> None:
    evaluator, results = run("(define x (expt 2 65535)) (* x 1) (string-length (number->string (* x x)))")
    assert results[1].ok
    assert_budget(results[2], "integer size budget exceeded")
    assert more(evaluator, "(string-length (number->string x))") == ["=> 19729"]


def test_a_primitive_called_outside_a_command_still_checks_its_result() -> None:
    from omega_core.lang.machine import Machine
    from omega_core.lang.primitives import all_primitives

    machine = Machine()
    machine.memory_limit = 1024 * 1024
    with pytest.raises(BudgetExceeded):
        all_primitives()["string-append"].fn(machine, "a" * 600_000, "b" * 600_000)


def test_the_memory_meter_counts_only_what_its_slices_built() -> None:
    meter = MemoryMeter()
    meter.slice_started()
    block = bytearray(32 * 1024 * 1024)
    meter.slice_ended()
    outside = bytearray(32 * 1024 * 1024)  # built between slices: another session's, not counted
    assert meter.grown >= 24 * 1024 * 1024
    assert meter.growth_now() < 48 * 1024 * 1024
    del block, outside


def test_a_list_a_budget_stopped_is_freed_not_kept_by_the_error() -> None:
    """The budget error raised inside ``append`` carried its traceback, whose frames held
    ``append``'s arguments: the machine kept it as its error, so the half-built list (512 MB,
    millions of pairs at the default budget) stayed alive until the next command, out of the
    release thread's reach, and every full collection of the process walked it."""
    import gc

    from omega_core.lang.release import releases_running

    evaluator = Evaluator(language=LanguageConfig(max_memory_mb=16))
    list(evaluator.run_text("(define (grow l) (grow (append l l)))"))
    gc.collect()
    before = len(gc.get_objects())
    results = list(evaluator.run_text("(grow (list 1))"))
    assert_budget(results[0], "memory budget exceeded", "append")
    assert evaluator.machine.error is not None and evaluator.machine.error.__traceback__ is None
    deadline = time.monotonic() + 30
    while releases_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    gc.collect()
    assert len(gc.get_objects()) < before + 20_000  # the list had over 100,000 pairs
