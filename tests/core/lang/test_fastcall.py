"""Calls specialised per shape (``fastcall.py``) behave exactly as the generic machine did.

Step counts are part of the machine's contract (periodic checkpoints and the replay of stopped
commands happen at exact step counts, so a recorded session replays the same), so they are pinned
here to what the generic code (before specialisation) took. The rest checks the cases where the
specialised code must notice that its assumptions no longer hold: a global rebound to another
procedure, a closure of another arity or with a rest parameter, a variable used before its
definition, an operand that needs steps after one with a side effect.
"""

from __future__ import annotations

import pytest

from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n"
BUILD = "(define (build n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) (cons i acc)))))\n"


def run(text: str) -> list[FormResult]:
    return list(Evaluator().run_text(text))


def last(text: str) -> FormResult:
    return run(text)[-1]


@pytest.mark.parametrize(
    ("program", "value", "steps"),
    [
        (FIB + "(fib 15)", "610", 7891),
        ("(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1))))\n(loop 1000 0)", "1000", 2003),
        (BUILD + "(fold-left + 0 (filter even? (map (lambda (x) (* x 3)) (build 300))))", "67050", 5163),
        ("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))\n(deep 500)", "500", 2003),
        ("(define (tak x y z) (if (not (< y x)) z (tak (tak (- x 1) y z) (tak (- y 1) z x) (tak (- z 1) x y))))\n"
         "(tak 12 8 4)", "5", 9531),
        ("(define (g . xs) xs)\n(define (h a) (g a (car (list a)) 3 4 5))\n(h 1)", "(1 1 3 4 5)", 5),
    ],
)
def test_values_and_step_counts_are_those_of_the_generic_machine(program: str, value: str, steps: int) -> None:
    result = last(program)
    assert (result.value, result.error, result.steps) == (value, None, steps)


def test_a_primitive_rebound_after_its_call_site_ran_is_seen() -> None:
    results = run("(define (f x) (- x 1))\n(f 5)\n(define (- a b) (+ a b))\n(f 5)")
    assert [r.value for r in results] == ["f", "4", "-", "6"]


def test_a_global_procedure_rebound_to_another_arity_or_a_rest_parameter() -> None:
    results = run(
        "(define (g a b) (list a b))\n(define (h) (g 1 2))\n(h)\n"
        "(define (g . xs) (cons 'rest xs))\n(h)\n"
        "(define (g a) a)\n(h)\n"
        "(define g car)\n(h)\n"
    )
    assert [r.value for r in results[2:5:2]] == ["(1 2)", "(rest 1 2)"]
    assert results[6].error is not None and "g: expected 1 argument, got 2" in results[6].error
    assert results[8].error is not None and "car: expected 1 argument, got 2" in results[8].error


def test_a_global_rebound_from_a_primitive_to_a_closure_takes_steps_again() -> None:
    results = run("(define (f x) (car x))\n(f '(1 2))\n(define (car p) (cdr p))\n(f '(1 2))")
    assert [r.value for r in results] == ["f", "1", "car", "(2)"]


def test_a_local_operator_and_unbound_names_keep_their_errors() -> None:
    assert last("(define (apply-twice f x) (f (f x)))\n(apply-twice (lambda (y) (* y 3)) 2)").value == "18"
    unbound = last("(define (f x) (+ (car x) undefined-thing))\n(f (list 1))")
    assert unbound.error == "unbound variable: undefined-thing (in (+ (car x) undefined-thing), line 1, column 15)"
    missing = last("(define (f x) (no-such-procedure x 1))\n(f 2)")
    assert missing.error is not None and missing.error.startswith("unbound variable: no-such-procedure")


def test_a_variable_used_before_its_definition_in_an_operand() -> None:
    result = last("(define (k) (define y (+ x 1)) (define x 2) y)\n(k)")
    assert result.error == "x: used before its definition (in (+ x 1), line 1, column 23)"
    assert result.steps == 3


def test_an_operand_with_a_side_effect_runs_once_when_a_later_one_needs_steps() -> None:
    result = last('(define (two a b) (list a b))\n(define (one) 1)\n(two (display "x") (one))')
    assert (result.output, result.steps) == ("x", 5)


def test_operands_evaluate_left_to_right_once_each() -> None:
    program = ("(define n 0)\n(define (bump) (set! n (+ n 1)) n)\n(define (three a b c) (list a b c))\n"
               "(three (bump) n (bump))")
    assert last(program).value == "(1 1 2)"


def test_a_primitive_error_inside_a_specialised_call_names_that_call() -> None:
    result = last("(define (f x) (car x))\n(f '(1))\n(f 5)")
    assert result.error is not None and "car" in result.error and "(in (car x), line 1, column 15)" in result.error


def test_a_product_written_in_still_checks_the_integer_budget() -> None:
    program = ("(define (square x) (* x x))\n(square 3)\n(define (grow x) (grow (square x)))\n(grow 3)\n"
               "(define (grow-inline x) (grow-inline (* x x)))\n(grow-inline 3)")
    results = run(program)
    assert results[1].value == "9"
    for stopped in (results[3], results[5]):  # the product in tail position, then as an operand
        assert stopped.error_code == "budget_exceeded"
        assert "integer size budget exceeded: * would build" in (stopped.error or "")
