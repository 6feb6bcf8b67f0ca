"""Fused steps (``fused.py``) change nothing a program, a budget, a checkpoint or a replay can see.

Each program runs twice in a bare machine, fusion on and off, in small slices (7 steps: slice
ends fall inside fused chains all the time); after every slice the whole machine state is dumped
(``serialize.dump_state``) and the two runs must agree slice for slice: same step numbers, same
registers, frames, environments and values, then the same result or the same error at the same
step, named at the same place. Errors raised inside a chain (an ``if`` test, a callee's body, an
operand call) are among the programs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.lang import machine as machine_module
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all
from omega_core.lang.serialize import dump_state

FIXTURES = Path("/work/shared/fixtures/programs")
FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n"
PROGRAMS = {
    "fib": FIB + "(fib 9)",
    "loop": "(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1))))\n(loop 40 0)",
    "deep": "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))\n(deep 30)",
    "tak": "(define (tak x y z) (if (not (< y x)) z (tak (tak (- x 1) y z) (tak (- y 1) z x) (tak (- z 1) x y))))\n"
           "(tak 6 4 2)",
    "lists": "(define (build n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) (cons i acc)))))\n"
             "(fold-left + 0 (filter even? (map (lambda (x) (* x 3)) (build 30))))",
    "constant branch": "(define (f n) (if (< n 1) 'done (f (- n 1))))\n(list (f 5) (f 0))",
    "outer variable branch": "(define (g k) (let ((z 5)) (if (< k 0) k z)))\n(+ (g 1) (g -1))",
    "error in a chained test": "(define (p n) (if (car n) 1 2))\n(define (q n) (+ (p n) 1))\n(q 5)",
    "error in an operand call": "(define (h n) (+ (car n) 1))\n(define (w n) (+ (h n) 1))\n(w 5)",
    "unbound in a chained test": "(define (t n) (if missing-flag 1 2))\n(define (r n) (+ (t n) 1))\n(r 1)",
    "unbound in a branch": "(define (u n) (if (< n 1) missing-name (u (- n 1))))\n(u 3)",
    "used before definition": "(define (k) (define y (if #t x 0)) (define x 2) y)\n(k)",
    "arity in a chain": "(define (one a) (if a 1 2))\n(define (two n) (+ (one n n) 1))\n(two 3)",
    "rebound procedure": FIB + "(fib 5)\n(define (fib n) (if (< n 1) 'z n))\n(fib 3)",
    "if test rebound under a call": "(define (h n) (if (< n 2) 'small 'big))\n(define (w n) (h n))\n(w 1)\n"
                                    "(define (< a b) (> a b))\n(w 1)\n(w 3)\n(define (h n) (if n 1 2))\n(w 3)",
    "body call written in": "(define (triple x) (* x 3))\n(define (app f a) (+ (f a) 1))\n(app triple 5)\n"
                            "(map (lambda (x) (* x 3)) '(1 2 3))\n(set! * +)\n(app triple 5)\n"
                            "(app (lambda (x) (car x)) 5)\n(app (lambda (x) (- x)) 5)",
    "body value of another lambda": "(define (twice x) (* x 2))\n(map (lambda (x) (* x 3)) '(1 2 3))\n"
                                    "(map twice '(4 5))\n(map (lambda (x) (+ x 1)) '(1 2))\n(map (lambda (x) (car x)) '(1 2))\n"
                                    "(map (lambda (x) (+ x zz)) '(1))\n(map (lambda (x) (list x x)) '(1 2))\n"
                                    "(define (app f a) (+ (f a) 1))\n(app (lambda (y) (* y y)) 4)\n(app twice 4)\n"
                                    "(app (lambda (y) (- y \"s\")) 4)\n(set! * (lambda (a b) (+ a b)))\n(map twice '(1 2))\n"
                                    "(app twice 4)\n(map (lambda (x) (apply + (list x 1))) '(1 2))",
    "test call written into its if": "(filter even? '(1 2 3 4))\n(filter even? '(1 x 2))\n(filter odd? '(1 2 3))\n"
                                     "(define (f l) (if (pair? (car l)) 1 (if (null? (cdr l)) 2 3)))\n"
                                     "(list (f '((1) 2)) (f '(1)) (f '(1 2)))\n(f 5)\n(define gl '(1 2))\n"
                                     "(define (h) (if (null? (cdr gl)) 'one 'more))\n(h)\n(set! gl '(1))\n(h)\n"
                                     "(define (c l) (if (cons (car l) 2) 'a 'b))\n(c '(1))\n(c 1)\n"
                                     "(define (k) (define r (if (null? (car v)) 1 2)) (define v (list 1)) r)\n(k)\n"
                                     "(define (even? x) (= x 2))\n(filter even? '(1 2 3))\n(set! pair? null?)\n(f '(1))",
    "operand call written into its caller": "(fold-left + 0 '(1 2 3))\n(fold-left + 0 '(1 x 3))\n(fold-left - 0 '(1 2))\n"
                                            "(fold-left cons '() '(1 2))\n(filter odd? '(1 2 3))\n"
                                            "(define (sum l acc) (if (null? l) acc (sum (cdr l) (+ acc (car l)))))\n"
                                            "(sum '(1 2 3) 0)\n(sum '(1 2 . 3) 0)\n(sum '(1 \"s\") 0)\n"
                                            "(define (twice x) (* 2 x))\n(define (g a b) (+ a b))\n"
                                            "(define (h l) (g (twice (car l)) (- (car l) (cadr l))))\n(h '(5 1))\n(h '(5))\n"
                                            "(define (u) (define r (g 1 (+ q (car '(1))))) (define q 2) r)\n(u)\n"
                                            "(define (h2 l x) (list (twice x) (+ x (car l))))\n(h2 '(1) 3)\n(h2 '(1 2) 4)\n"
                                            "(set! + -)\n(sum '(1 2 3) 0)\n(fold-left + 0 '(1 2 3))",
    "unassigned in a written-in body": "(define (k) (define g (lambda () (+ y 1))) (define v (+ (g) 1)) (define y 2) v)\n"
                                       "(k)",
    "local primitive operator": "(define (app2 f a b) (+ (f a b) 1))\n(app2 + 1 2)\n(app2 - 1 2)\n(app2 + \"a\" 1)\n"
                                "(fold-left + 0 '(1 2 x))",
    "operand calls written into their caller": (
        "(define (g n) (if (< n 1) 0 n))\n(define (h n) (+ (g n) (g (- n 1))))\n(h 3)\n(h 0)\n(h \"s\")\n"
        "(define (t3 n) (list (g n) (g (- n 1)) (g (- n 2))))\n(t3 2)\n(t3 'x)\n"
        "(define (app f x) (+ (f x) (f (- x 1))))\n(app g 4)\n(app (lambda (n) (if (> n 2) n 9)) 4)\n"
        "(app (lambda (n) (* n 3)) 4)\n(app car 4)\n"
        "(define (q n) (< n 2))\n(define (r n) (if (q n) 1 2))\n(define (s n) (+ (r n) (r (- n 1))))\n(s 3)\n"
        "(define (tw x) (* x 2))\n(define (u x) (+ (tw x) (tw (+ x 1))))\n(u 3)\n(u \"a\")\n"
        "(define (k) (define v (+ (g y) (g 1))) (define y 2) v)\n(k)\n"
        "(define (w n) (+ (g n) (g zz)))\n(w 2)\n(define zz 4)\n(w 2)\n"
        "(define (h3 l) (+ (g (car l)) (g (cdr l))))\n(h3 '(1 . 2))\n(h3 '(x . 2))\n(h3 '(1 . y))\n"
        "(define (v l) (+ (tw (car l)) (tw (cdr l))))\n(v '(1 . 2))\n(v '(x . 2))\n(v '(1 . y))\n"
        "(define (id x) x)\n(define (g2 n) (if (< n 1) 'z (id n)))\n(define (bad n) (+ (g2 n) (g2 (- n 1))))\n(bad 1)\n"
        "(set! g (lambda (n) (if (> n 5) 1 2)))\n(h 3)\n(set! tw +)\n(u 3)\n(set! - +)\n(h 3)\n"
        "(define (g n) n)\n(h 3)\n"
        "(set! * (lambda (a b) (cons a b)))\n(v '(5 . 7))"),
    "effect handled": "(define (ask n) (if (= n 0) (effect amb.choose 1 2) (+ 1 (ask (- n 1)))))\n(ask 3)",
}
PROGRAMS.update({f"fixture {path.stem}": path.read_text(encoding="utf-8")
                 for path in sorted(FIXTURES.glob("*.omega"))})


def normalised(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True)


def fingerprint(machine: Machine) -> tuple[Any, ...]:
    """A cheap summary of the registers and the frame chain (the whole dump is slow)."""
    frames = []
    frame = machine.k
    while frame is not None:
        node = getattr(frame, "node", None)
        frames.append((type(frame).__name__, getattr(node, "idx", None), getattr(frame, "index", None),
                       write_string(list(getattr(frame, "vals", ()) or ()))))
        frame = frame.next
    env = machine.env
    return (getattr(machine.node, "idx", None), write_string(machine.value),
            write_string(env[1:]) if type(env) is list else None, tuple(frames))


def trace(text: str, fusion: bool, slice_steps: int, dump_every: int = 25) -> list[Any]:
    """Every slice's end state (the whole dump every ``dump_every`` slices), then each form's
    result (value or error, where, steps)."""
    machine_module.FUSION_ENABLED = fusion
    try:
        machine = Machine()
        machine.unit_prefix = "u-test-"  # unit ids otherwise differ between machines
        seen: list[Any] = []
        read = read_all(text)
        for datum in read.forms:
            machine.start(machine.compile(datum, read.positions).root)
            start = machine.steps
            for _ in range(100_000):
                status = machine.run(slice_steps)
                if status is Status.EFFECT:
                    machine.fail_effect("no host here")
                    status = machine.status
                whole = normalised(dump_state(machine)) if len(seen) % dump_every == 0 else None
                seen.append((machine.steps - start, fingerprint(machine), whole))
                if status is not Status.RUNNING:
                    seen.append(normalised(dump_state(machine)))
                    break
            if status is Status.ERROR:
                error = machine.error
                seen.append(("error", error.code if error else None, error.message if error else None,
                             machine.error_location(), machine.steps - start))
                machine.status = Status.DONE
            else:
                seen.append(("value", write_string(machine.value), machine.steps - start))
        return seen
    finally:
        machine_module.FUSION_ENABLED = True


@pytest.mark.parametrize("slice_steps", [7, 29])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_fused_and_unfused_runs_agree_at_every_slice(name: str, slice_steps: int) -> None:
    """7: slice ends fall inside short chains; 29: room for the longest ones (``FUSE_MAX_STEPS``:
    fused returns, an ``if`` chaining its test call), which shorter slices never fuse."""
    text = PROGRAMS[name]
    every = 400 if "dwelling" in name else 25
    assert trace(text, True, slice_steps, every) == trace(text, False, slice_steps, every)


def test_errors_inside_chains_are_reported_as_unfused() -> None:
    results = [item for item in trace(PROGRAMS["error in a chained test"], True, 1000) if item[0] in ("value", "error")]
    assert results[-1][0] == "error" and results[-1][3] is not None and "(car n)" in results[-1][3]
    results = [item for item in trace(PROGRAMS["arity in a chain"], True, 1000) if item[0] in ("value", "error")]
    assert results[-1][0] == "error" and "one: expected 1 argument, got 2" in results[-1][2]


def test_fusion_keeps_the_pinned_step_count() -> None:
    """(fib 15) in big slices ends at the step count the generic machine pinned (test_fastcall),
    and the fused run really fused: its dispatches (counted by wrapping ``Frame.ret`` and the
    ``if`` nodes' steps) are fewer."""
    steps = {}
    for fusion in (True, False):
        machine_module.FUSION_ENABLED = fusion
        try:
            machine = Machine()
            for datum in read_all(FIB + "(fib 15)").forms:
                machine.start(machine.compile(datum).root)
                start = machine.steps
                while machine.run(10_000) is Status.RUNNING:
                    pass
            steps[fusion] = machine.steps - start
        finally:
            machine_module.FUSION_ENABLED = True
    assert steps[True] == steps[False] == 7891


SMALL = sorted(name for name in PROGRAMS if "dwelling" not in name)  # the amb search is long


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=40), st.sampled_from(SMALL))
def test_any_slice_size_gives_the_same_states(slice_steps: int, name: str) -> None:
    text = PROGRAMS[name]
    assert trace(text, True, slice_steps, 200) == trace(text, False, slice_steps, 200)


CALLEES = ("(define (g n) (if (< n 1) 0 n))\n(define (h n) (+ (g n) (g (- n 1))))\n"
           "(define (t3 n) (list (g n) (g (- n 1)) (g (- n 2))))\n(define (tw x) (* x 2))\n"
           "(define (u x) (+ (tw x) (tw (+ x 1))))\n(define (h3 l) (+ (g (car l)) (g (cdr l))))\n"
           "(define (v l) (+ (tw (car l)) (tw (cdr l))))\n"
           "(list (h 3) (t3 2) (u 3) (h 0) (t3 0) (u 5) (h3 '(1 . 2)) (v '(3 . 4)))\n(t3 'x)\n(h3 '(x . 1))\n"
           "(h3 '(1 . y))\n(v '(x . 1))\n(v '(1 . y))\n(set! * (lambda (a b) (- a b)))\n(v '(5 . 7))")


@pytest.mark.parametrize("slice_steps", range(8, 26))
def test_every_slice_end_after_a_written_in_callee_agrees(slice_steps: int) -> None:
    """Slices of every size from ``FUSE_MAX_STEPS``: one ends right after each dispatch that wrote
    an operand call entering a closure in (``fastcall_callee``), with its return and the
    resumption after it, in a call's ``ev`` and in its resumption; and an error inside one."""
    assert trace(CALLEES, True, slice_steps, 1) == trace(CALLEES, False, slice_steps, 1)


def test_operand_calls_entering_fib_are_written_into_the_sum() -> None:
    """In ``(+ (fib (- n 1)) (fib (- n 2)))`` both operand calls are taken in the ``+`` call's
    own code (``fastcall_callee``): their own code runs only when a slice's last steps are taken
    unfused; before, it ran once per call of ``fib``."""
    machine = Machine()
    forms = read_all(FIB + "(fib 12)\n(fib 16)").forms
    for datum in forms[:2]:
        machine.start(machine.compile(datum).root)
        while machine.run(10_000) is Status.RUNNING:
            pass
    total = machine.globals["fib"].lam.body.otherwise  # the ``+`` call
    calls = [0]
    for operand in total.args:
        own = operand.ev

        def counted(m: Any, own: Any = own) -> None:
            calls[0] += 1
            own(m)

        operand.ev = counted
    machine.start(machine.compile(forms[2]).root)
    while machine.run(10_000) is Status.RUNNING:
        pass
    assert write_string(machine.value) == "987"
    assert calls[0] < 200  # of 3,192 calls of fib


WRITTEN_IN = ("(define (twice x) (* 2 x))\n(define (h2 l x) (list (twice x) (+ x (car l))))\n"
              "(define (sum l acc) (if (null? l) acc (sum (cdr l) (+ acc (car l)))))\n"
              "(list (h2 '(1) 3) (h2 '(1 2) 4) (sum '(1 2 3) 0) (h2 '(5) 5) (fold-left + 0 '(1 2)) (h2 '(7) 6))\n"
              "(define (h4 l x) (cons (twice x) (+ x (car l)) 3))\n(h4 '(1) 3)")


@pytest.mark.parametrize("slice_steps", range(8, 26))
def test_every_slice_end_after_a_written_in_operand_call_agrees(slice_steps: int) -> None:
    """Slices of every size from ``FUSE_MAX_STEPS``: one of them ends right after each dispatch
    that wrote an operand call in (``fastcall_operand``), in a call's ``ev`` and in a resumption
    (``h2``: its first operand took steps), where the registers it left are compared; and an
    error right after one (``h4``: ``cons`` given three operands), where they are too."""
    assert trace(WRITTEN_IN, True, slice_steps, 1) == trace(WRITTEN_IN, False, slice_steps, 1)
