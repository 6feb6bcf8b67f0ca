"""The CEK machine: bounded slices, deep recursion, constant-space tail calls, budget, interrupts,
and errors that stay inside their form and say where they happened."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from omega_core.config import LanguageConfig
from omega_core.evaluator import Evaluator
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all


def chain_length(k: Any) -> int:
    count = 0
    while k is not None:
        count += 1
        k = k.next
    return count


def start_form(machine: Machine, text: str) -> None:
    result = read_all(text)
    [datum] = result.forms
    machine.start(machine.compile(datum, result.positions).root)


def run_program(src: str, slice_steps: int) -> tuple[list[tuple[str, str, str]], int]:
    """Every form of ``src`` run to its end in slices of ``slice_steps``.

    Returns, per form, (status, printed value or error message, output), and the total steps.
    Each ``run`` call must take at most ``slice_steps`` steps and say RUNNING when it stopped early.
    """
    machine = Machine()
    outcomes = []
    for datum in read_all(src).forms:
        machine.start(machine.compile(datum).root)
        while True:
            before = machine.steps
            status = machine.run(slice_steps)
            taken = machine.steps - before
            assert 0 <= taken <= slice_steps
            if status is not Status.RUNNING:
                break
            assert taken == slice_steps  # a slice only ends early when the form stopped
        if status is Status.DONE:
            shown = write_string(machine.value)
        else:
            assert status is Status.ERROR, status
            shown = machine.error.message if machine.error else "?"
        outcomes.append((status.value, shown, machine.take_output()))
    return outcomes, machine.steps


PROGRAMS = {
    "fib": "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 12)",
    "output": '(define (show-all l) (for-each (lambda (x) (display x) (display " ")) l)) (show-all (list 1 "two" 3.5)) (newline)',
    "amb": """
        (define (int-between lo hi) (require (<= lo hi)) (amb lo (int-between (+ lo 1) hi)))
        (let* ((a (int-between 1 12)) (b (int-between a 12)) (c (int-between b 12)))
          (require (= (+ (* a a) (* b b)) (* c c))) (list a b c))
        (amb)
    """,
    "callcc": """
        (define saved #f) (define n 0)
        (let ((r (call/cc (lambda (k) (set! saved k) 0))))
          (set! n (+ n 1)) (if (< n 5) (saved (+ r 10)) (list r n)))
        (+ 1 (call/cc (lambda (k) (* 100 (k 2)))))
    """,
    "handle": """
        (handle (let loop ((i 0) (acc '())) (if (= i 5) (reverse acc) (loop (+ i 1) (cons (effect ask.op i) acc))))
                (on ask.op (x k) (k (* x x))))
        (handle (+ 1 (effect ask.op 10)) (on ask.op (x k) (list (k 1) (k 2))))
    """,
    "streams": """
        (define (ints n) (cons-stream n (ints (+ n 1))))
        (stream->list (stream-filter (lambda (x) (odd? x)) (stream-map (lambda (x) (* x 3)) (ints 1))) 6)
    """,
    "errors": "(define (f x) (car x)) (f 1) (+ 1 2) (undefined-thing) (map (lambda (x) (/ x 0)) '(1))",
    "promises": "(define c 0) (define p (delay (begin (set! c (+ c 1)) c))) (list (force p) (force p) c)",
    "hash": "(define h (make-hash)) (for-each (lambda (k) (hash-set! h k (* k k))) '(1 2 3)) (list (hash-ref h 2 #f) (hash-count h))",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_slices_of_any_size_give_the_same_results(name: str) -> None:
    src = PROGRAMS[name]
    reference, reference_steps = run_program(src, 10**9)
    for slice_steps in (1, 7, 1000):
        outcomes, steps = run_program(src, slice_steps)
        assert outcomes == reference, (name, slice_steps)
        assert steps == reference_steps, (name, slice_steps)


def test_run_returns_running_and_continues_where_it_stopped() -> None:
    machine = Machine()
    start_form(machine, "(let loop ((i 0) (acc 0)) (if (= i 1000) acc (loop (+ i 1) (+ acc i))))")
    assert machine.run(10) is Status.RUNNING
    assert machine.steps == 10
    assert machine.run(0) is Status.RUNNING
    assert machine.steps == 10
    while machine.run(33) is Status.RUNNING:
        pass
    assert machine.status is Status.DONE
    assert machine.value == 499500
    done_at = machine.steps
    assert machine.run(100) is Status.DONE  # a finished machine takes no more steps
    assert machine.steps == done_at


def test_reference_results() -> None:
    outcomes, _ = run_program(PROGRAMS["amb"], 10**9)
    assert outcomes[1][1] == "(3 4 5)"
    assert outcomes[2][:2] == ("error", "amb: no more choices")
    outcomes, _ = run_program(PROGRAMS["callcc"], 10**9)
    assert outcomes[2][1] == "(40 5)"
    assert outcomes[3][1] == "3"
    outcomes, _ = run_program(PROGRAMS["output"], 10**9)
    assert outcomes[1] == ("done", "null", '1 two 3.5 ')


def test_deep_non_tail_recursion() -> None:
    src = "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 100000)"
    assert [r.transcript() for r in Evaluator().run_text(src)] == ["=> deep", "=> 100000"]


def test_deep_non_tail_recursion_builds_a_long_list() -> None:
    src = "(define (build n) (if (= n 0) '() (cons n (build (- n 1))))) (length (build 100000))"
    assert [r.transcript() for r in Evaluator().run_text(src)][-1] == "=> 100000"


def test_deep_recursion_does_not_use_the_python_stack() -> None:
    # a thread with a small C stack would crash if evaluation recursed in Python
    results: list[str] = []

    def work() -> None:
        src = "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 50000)"
        results.extend(r.transcript() for r in Evaluator().run_text(src))

    old = threading.stack_size(256 * 1024)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old)
    assert results == ["=> deep", "=> 50000"]


def _max_chain_while_running(setup: str, call: str, slice_steps: int = 5000) -> tuple[int, Any]:
    machine = Machine()
    for datum in read_all(setup).forms:
        machine.start(machine.compile(datum).root)
        assert machine.run(10**9) is Status.DONE
    start_form(machine, call)
    longest = 0
    while machine.run(slice_steps) is Status.RUNNING:
        longest = max(longest, chain_length(machine.k))
    assert machine.status is Status.DONE, machine.error
    return longest, machine.value


def test_tail_calls_run_in_constant_space() -> None:
    setup = "(define (count-down n acc) (if (= n 0) acc (count-down (- n 1) (+ acc 1))))"
    longest, result = _max_chain_while_running(setup, "(count-down 1000000 0)", slice_steps=9973)
    assert result == 1_000_000
    assert longest <= 5


@pytest.mark.parametrize(
    "setup",
    [
        "(define (loop n) (cond ((= n 0) 'done) (else (loop (- n 1)))))",
        "(define (loop n) (or (= n 0) (loop (- n 1))))",
        "(define (loop n) (and (>= n 0) (if (= n 0) 'done (loop (- n 1)))))",
        "(define (loop n) (when (> n 0) (loop (- n 1))))",
        "(define (loop n) (let ((m (- n 1))) (if (< m 0) 'done (loop m))))",
        "(define (loop n) (begin (+ 1 1) (if (= n 0) 'done (loop (- n 1)))))",
        "(define (loop n) (if (= n 0) 'done (apply loop (list (- n 1)))))",
        "(define (loop n) (let inner ((i n)) (if (= i 0) 'done (inner (- i 1)))))",
        "(define (ping n) (if (= n 0) 'done (pong (- n 1)))) (define (pong n) (ping n)) (define (loop n) (ping n))",
        "(define (loop n) (handle (let go ((i n)) (if (= i 0) 'done (go (- i 1)))) (on x.op (k) 0)))",
    ],
)
def test_tail_positions_of_derived_forms(setup: str) -> None:
    longest, _ = _max_chain_while_running(setup, "(loop 30000)", slice_steps=997)
    assert longest <= 8, setup


def test_resuming_a_handler_in_tail_position_runs_in_constant_space() -> None:
    call = "(handle (let loop ((i 0) (acc 0)) (if (= i 100000) acc (loop (+ i 1) (+ acc (effect get.op))))) (on get.op (k) (k 2)))"
    longest, result = _max_chain_while_running("(define unused 0)", call, slice_steps=4999)
    assert result == 200_000
    assert longest <= 8


def test_escaping_continuations_in_a_loop_run_in_constant_space() -> None:
    call = "(let loop ((i 0)) (if (= i 100000) 'done (loop (call/cc (lambda (k) (k (+ i 1)))))))"
    longest, _ = _max_chain_while_running("(define unused 0)", call, slice_steps=4999)
    assert longest <= 5


def test_step_budget_stops_an_endless_loop_and_next_form_runs() -> None:
    evaluator = Evaluator(language=LanguageConfig(step_budget=10_000))
    results = list(evaluator.run_text("(define (f) (f)) (f) (+ 1 2)"))
    assert [r.transcript() for r in results][0] == "=> f"
    stopped = results[1]
    assert stopped.error_code == "budget_exceeded"
    assert "budget" in (stopped.error or "")
    assert stopped.steps <= 10_000
    assert results[2].transcript() == "=> 3"


def test_step_budget_is_per_form() -> None:
    evaluator = Evaluator(language=LanguageConfig(step_budget=10_000, slice_steps=1000))
    src = "(define (loop n) (if (= n 0) 'ok (loop (- n 1))))" + " (loop 2000)" * 8
    results = list(evaluator.run_text(src))
    assert all(r.ok for r in results), [r.transcript() for r in results]
    assert sum(r.steps for r in results) > 10_000


def test_budget_exceeded_in_deep_recursion_leaves_a_usable_machine() -> None:
    evaluator = Evaluator(language=LanguageConfig(step_budget=20_000))
    results = list(evaluator.run_text("(define (deep n) (+ 1 (deep (+ n 1)))) (deep 0) (define x 5) (* x 2)"))
    assert results[1].error_code == "budget_exceeded"
    assert [r.transcript() for r in results[2:]] == ["=> x", "=> 10"]


def test_interrupt_from_another_thread_stops_an_endless_loop() -> None:
    evaluator = Evaluator(language=LanguageConfig(slice_steps=2000))

    def interrupter() -> None:
        deadline = time.monotonic() + 20
        while evaluator.machine.steps < 50_000 and time.monotonic() < deadline:
            time.sleep(0.005)
        evaluator.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    started = time.monotonic()
    results = list(evaluator.run_text("(define (spin n) (spin (+ n 1))) (spin 0)"))
    thread.join()
    assert time.monotonic() - started < 20
    assert results[0].transcript() == "=> spin"
    assert results[1].error_code == "interrupted"
    assert results[1].error and "interrupted" in results[1].error
    # the session goes on: the next input runs normally
    assert [r.transcript() for r in evaluator.run_text("(+ 40 2)")] == ["=> 42"]


def test_interrupt_before_an_input_does_not_stop_it() -> None:
    evaluator = Evaluator()
    evaluator.interrupt()
    assert [r.transcript() for r in evaluator.run_text("(define (loop n) (if (= n 0) 'ok (loop (- n 1)))) (loop 100000)")] == [
        "=> loop", "=> ok",
    ]


def test_errors_in_one_form_do_not_break_the_next() -> None:
    src = """
    (define (deep-fail n) (if (= n 0) (car '()) (+ 1 (deep-fail (- n 1)))))
    (deep-fail 5000)
    (define (ok n) (if (= n 0) 'fine (ok (- n 1))))
    (ok 10)
    (amb 1 2)
    (undefined-var)
    (require #f)
    (+ 1 "x")
    (list 1 2)
    """
    results = [r.transcript() for r in Evaluator().run_text(src)]
    assert results[0] == "=> deep-fail"
    assert results[1].startswith("error: car")
    assert results[2:4] == ["=> ok", "=> fine"]
    assert results[4] == "=> 1"
    assert results[5].startswith("error: unbound variable: undefined-var")
    assert results[6].startswith("error: amb: no more choices")  # the amb of an earlier form is gone
    assert results[7].startswith("error: +")
    assert results[8] == "=> (1 2)"


def test_error_inside_handle_and_call_cc_does_not_leak() -> None:
    src = """
    (handle (car (effect a.op)) (on a.op (k) (k 5)))
    (call/cc (lambda (k) (vector-ref k 0)))
    (effect a.op)
    (+ 1 1)
    """
    results = [r.transcript() for r in Evaluator().run_text(src)]
    assert results[0].startswith("error: car")
    assert results[1].startswith("error: ")
    assert results[2].startswith("error: unhandled effect a.op")  # the handler of form 1 is gone
    assert results[3] == "=> 2"


def test_error_messages_name_the_place_in_user_code() -> None:
    src = "(define (f y)\n  (display \"x\")\n  (car y))\n(f 5)"
    results = list(Evaluator().run_text(src))
    message = results[1].error or ""
    assert "(in (car y), line 3, column 3)" in message
    assert message.startswith("car: ")
    assert results[1].output == "x"
    assert results[1].transcript() == "x\nerror: " + message


def test_error_place_for_a_form_on_a_later_line() -> None:
    src = "(define a 1)\n\n\n   (undefined-fn a)"
    [_, result] = list(Evaluator().run_text(src))
    assert "unbound variable: undefined-fn" in (result.error or "")
    assert "line 4, column 4" in (result.error or "")


@pytest.mark.parametrize(
    ("src", "place"),
    [
        ("(define (g x)\n  (if (car x) 1 2))\n(g 5)", "(in (car x), line 2, column 7)"),
        ("(define (f x)\n  (+ 1\n     (* 2 (car x))))\n(f 5)", "(in (car x), line 3, column 11)"),
        ("(define a 1)\n(+ a\n   (undefined-fn 2))", "(in (undefined-fn 2), line 3, column 4)"),
    ],
)
def test_error_place_is_the_failing_call_not_its_enclosing_expression(src: str, place: str) -> None:
    result = list(Evaluator().run_text(src))[-1]
    assert place in (result.error or ""), result.error


def test_read_error_is_reported_with_its_place_and_later_forms_run() -> None:
    results = [r.transcript() for r in Evaluator().run_text('(define x 1)\n(display "a\\qb")\n(+ x 1)')]
    assert results[0] == "=> x"
    assert results[1].startswith("error: unknown escape")
    assert "line 2, column" in results[1]
    assert results[2] == "=> 2"


def test_machine_run_reports_error_status_and_node() -> None:
    machine = Machine()
    start_form(machine, "(let ((x 5))\n  (car x))")
    assert machine.run(10**6) is Status.ERROR
    assert machine.error is not None and machine.error.message.startswith("car:")
    assert machine.error_location() == "in (car x), line 2, column 3"


def test_machine_stops_at_host_effect_and_resumes() -> None:
    machine = Machine()
    start_form(machine, '(string-append "<" (effect infer.op "q") ">")')
    assert machine.run(10**6) is Status.EFFECT
    assert machine.effect_op == "infer.op"
    assert machine.effect_args == ["q"]
    machine.resume("answer")
    assert machine.run(10**6) is Status.DONE
    assert machine.value == "<answer>"


def test_output_is_collected_per_form() -> None:
    evaluator = Evaluator()
    results = list(evaluator.run_text('(display "a") (begin (display "b") (newline) 1) 2'))
    assert [r.output for r in results] == ["a", "b\n", ""]
    assert [r.transcript() for r in results] == ["a\n=> null", "b\n=> 1", "=> 2"]


def test_a_machine_keeps_its_attributes_in_the_fast_layout() -> None:
    """CPython 3.11 keeps an instance's attributes in the shared-key layout its attribute reads are
    specialised for only up to 30 of them; the machine's registers are read on every step, and
    going to 30 cost 3.4% of the instructions per element of a list program (callgrind). Group new
    per-slice or per-command fields in an object (``slice_work``, ``memory``, ``undo``)."""
    from omega_core.evaluator import Evaluator

    evaluator = Evaluator()
    assert all(result.ok for result in evaluator.run_text("(define (f x) (* x 2)) (f 3) (call/cc (lambda (k) (k 1)))"))
    assert len(evaluator.machine.__dict__) <= 28, sorted(evaluator.machine.__dict__)
