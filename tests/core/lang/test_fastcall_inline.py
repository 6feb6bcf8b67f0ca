"""Primitive calls written into the code of the call or ``if`` that uses them
(``fastcall_inline.inline_specs``, ``fastcall_inline.operator_spec``, the ``if`` of ``fused.py``).

The written-in code was made for the primitive a global held when the code was generated; it must
notice when the global is rebound, when an operand is not of the guarded type, and when a variable
is used before its definition, and then behave exactly as the primitive itself (same value, same
error, same place, same steps)."""

from __future__ import annotations

from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator


def run(text: str) -> list[FormResult]:
    return list(Evaluator().run_text(text))


def values(text: str) -> list[str | None]:
    return [result.value if result.ok else f"error: {result.error}" for result in run(text)]


def test_an_operand_primitive_rebound_after_the_call_site_ran() -> None:
    assert values("(define (g x) x)\n(define (f n) (g (- n 1)))\n(f 5)\n(define (- a b) (+ a b))\n(f 5)") == [
        "g", "f", "4", "-", "6"]


def test_an_if_test_primitive_rebound_after_the_if_ran() -> None:
    assert values("(define (h n) (if (< n 2) 'small 'big))\n(h 1)\n(define (< a b) #f)\n(h 1)") == [
        "h", "small", "<", "big"]


def test_an_operator_primitive_rebound_to_a_closure() -> None:
    assert values("(define (k a) (car (cons a 2)))\n(k 1)\n(define (cons a b) (list b a))\n(k 1)") == [
        "k", "1", "cons", "2"]


def test_the_guard_falls_back_to_the_primitive_and_its_error() -> None:
    results = run('(define (g x) x)\n(define (f n) (g (- n "a")))\n(f 5)')
    assert results[2].error == '-: expected a number, got "a" (string) (in (- n "a"), line 2, column 18)'
    assert values("(define (g x) x)\n(define (f n) (g (- n 1)))\n(f 2.5)\n(f (expt 2 100))") == [
        "g", "f", "1.5", str(2**100 - 1)]


def test_an_unassigned_variable_in_a_written_in_operand_keeps_its_error_and_steps() -> None:
    result = run("(define (g x) x)\n(define (k) (define y (g (+ x 1))) (define x 2) y)\n(k)")[-1]
    assert result.error == "x: used before its definition (in (+ x 1), line 2, column 26)"


def test_cons_written_in_builds_ordinary_pairs() -> None:
    assert values("(define (f a b) (cons a b))\n(f 1 2)\n(define (two x) (cons x (cons x '())))\n(two 3)\n"
                  "(equal? (two 3) (list 3 3))") == ["f", "(1 . 2)", "two", "(3 3)", "#t"]


def test_a_local_operator_bound_to_a_primitive_when_the_code_was_made() -> None:
    """``fold-left``'s ``f``: the code is made for the primitive the local held at the first call,
    and used only while it holds that very primitive."""
    assert values("(define (app f a b) (f a b))\n(app + 1 2)\n(app - 1 2)\n(app + 1.5 2)\n"
                  "(app (lambda (a b) (* a b)) 3 4)\n(app + 5 6)\n(fold-left + 0 '(1 2 3))\n"
                  "(define (app1 f a) (f a))\n(app1 even? 4)\n(app1 even? -3)\n(app1 odd? -3)\n(app1 car '(7))\n"
                  "(define (app2 f a) (f a))\n(app2 odd? -3)\n(app2 odd? 4)") == [
        "app", "3", "-1", "3.5", "12", "11", "6", "app1", "#t", "#f", "#t", "7", "app2", "#t", "#f"]


def test_a_local_primitive_operator_s_guard_falls_back_to_its_error() -> None:
    results = run('(define (app f a b) (f a b))\n(app + 1 2)\n(app + "a" 2)\n(define (app1 f a) (f a))\n'
                  "(app1 even? 2)\n(app1 even? 2.5)\n(filter even? '(1 2 3 4))")
    assert results[2].error == '+: expected a number, got "a" (string) (in (f a b), line 1, column 21)'
    assert results[5].error == "even?: expected an integer, got 2.5 (decimal) (in (f a), line 4, column 20)"
    assert results[6].value == "(2 4)"


def test_a_constant_operand_s_type_test_is_left_out_only_when_the_constant_passes_it() -> None:
    """``(- n 1)``: the ``1`` is an integer at every call, so only ``n`` is tested; a constant of
    another type keeps its test and the primitive decides (its value, its error)."""
    results = run('(define (k x) (car (list x)))\n(define (f n) (k (- n 1)))\n(define (h n) (k (- n 0.5)))\n'
                  '(define (s n) (k (+ n "a")))\n(f 3)\n(h 3)\n(s 3)\n(define (c n) (k (car \'(7 8))))\n(c 1)')
    assert [result.value for result in results[4:6]] == ["2", "2.5"]
    assert results[6].error == '+: expected a number, got "a" (string) (in (+ n "a"), line 4, column 18)'
    assert results[8].value == "7"
