"""Machine states saved to JSON text and loaded back at any point of an evaluation.

The central property: running a program in slices and replacing the machine, at every slice
boundary, by ``loads_state(dumps_state(machine))`` gives exactly the results of a straight run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omega_core.evaluator import Evaluator
from omega_core.lang import serialize
from omega_core.lang import serialize_read
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all
from omega_core.lang.values import make_list

PROGRAMS_DIR = Path("/work/shared/fixtures/programs")

Outcome = tuple[str, str, str]


def reload(machine: Machine) -> Machine:
    text = serialize.dumps_state(machine)
    assert isinstance(text, str)
    json.loads(text)  # it is JSON text
    return serialize_read.loads_state(text)


def outcome(machine: Machine) -> Outcome:
    status = machine.status
    if status is Status.DONE:
        shown = write_string(machine.value)
    elif status is Status.ERROR:
        shown = machine.error.message if machine.error is not None else "?"
    else:
        shown = f"{status.value} {machine.effect_op}"
    return status.value, shown, machine.take_output()


def run_sliced(src: str, slice_steps: int | None, machine: Machine | None = None,
               reload_between_forms: bool = True) -> tuple[list[Outcome], Machine]:
    """Run every form of ``src``; with ``slice_steps``, reload the machine at every slice boundary.

    ``slice_steps=None`` is the straight run (one slice, no reloads).
    """
    machine = machine or Machine()
    results: list[Outcome] = []
    for datum in read_all(src).forms:
        machine.start(machine.compile(datum).root)
        while True:
            status = machine.run(slice_steps if slice_steps is not None else 10**12)
            if status is not Status.RUNNING:
                break
            machine = reload(machine)
        results.append(outcome(machine))
        if slice_steps is not None and reload_between_forms:
            machine = reload(machine)
    return results, machine


def assert_same_as_straight(src: str, *slice_sizes: int) -> list[Outcome]:
    reference, _ = run_sliced(src, None)
    for size in slice_sizes:
        got, _ = run_sliced(src, size)
        assert got == reference, f"slice size {size}"
    return reference


# --- programs reloaded at every slice boundary -----------------------------------------------------


def test_inside_calls_fib() -> None:
    src = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 12) (list (fib 5) (fib 6))"
    reference = assert_same_as_straight(src, 1, 13, 97)
    assert [shown for _, shown, _ in reference] == ["fib", "144", "(5 8)"]


def test_inside_amb_multiple_dwelling() -> None:
    src = (PROGRAMS_DIR / "dwelling.omega").read_text(encoding="utf-8")
    reference = assert_same_as_straight(src, 499, 2011)
    assert reference[-1][1] == '(("baker" 3) ("cooper" 2) ("fletcher" 4) ("miller" 5) ("smith" 1))'


def test_inside_amb_pending_choice_points_survive() -> None:
    src = """
    (define (int-between lo hi) (require (<= lo hi)) (amb lo (int-between (+ lo 1) hi)))
    (let* ((a (int-between 1 15)) (b (int-between a 15)) (c (int-between b 15)))
      (require (= (+ (* a a) (* b b)) (* c c)))
      (require (> a 4))
      (list a b c))
    (let ((x (amb 1 2))) (require (> x 5)) x)
    """
    reference = assert_same_as_straight(src, 3, 101)
    assert reference[1][1] == "(5 12 13)"
    assert reference[2][:2] == ("error", "amb: no more choices")


def test_holding_a_continuation_saved_in_a_global() -> None:
    src = """
    (define saved #f)
    (define n 0)
    (let ((r (+ 100 (call/cc (lambda (k) (set! saved k) 1)))))
      (set! n (+ n 1))
      (display r) (display " ")
      (if (< n 6) (saved (* n 10)) (list r n)))
    saved
    """
    reference = assert_same_as_straight(src, 1, 5, 17)
    assert reference[2] == ("done", "(150 6)", "101 110 120 130 140 150 ")
    assert reference[3][1] == "<continuation>"


def test_escaping_continuation_from_a_loop() -> None:
    src = """
    (define (find-first pred lst)
      (call/cc (lambda (return) (for-each (lambda (x) (when (pred x) (return x))) lst) #f)))
    (find-first (lambda (x) (> x 7)) '(1 3 5 7 9 11))
    """
    assert assert_same_as_straight(src, 1, 4, 9)[1][1] == "9"


def test_inside_a_handle_with_resumptions() -> None:
    src = """
    (define (ask x) (effect ask.op x))
    (handle (let loop ((i 0) (acc '()))
              (if (= i 6) (reverse acc) (loop (+ i 1) (cons (ask i) acc))))
            (on ask.op (x k) (k (* x x))))
    (handle (+ 1 (ask 10)) (on ask.op (x k) (list (k 1) (k 2) (k 3))))
    (handle (begin (display "a") (ask 1) (display "never") 0) (on ask.op (x k) 'aborted))
    (handle (handle (list (ask 1) (effect other.op 2)) (on ask.op (x k) (k 'in)))
            (on other.op (y k) (k 'out)))
    """
    reference = assert_same_as_straight(src, 1, 3, 11)
    assert [shown for _, shown, _ in reference[1:]] == ["(0 1 4 9 16 25)", "(2 3 4)", "aborted", "(in out)"]


def test_resumption_saved_and_called_after_the_handler_returned() -> None:
    src = """
    (define saved-k #f)
    (define result (handle (+ 1 (effect ask.op)) (on ask.op (k) (set! saved-k k) 0)))
    (list result (saved-k 41) (saved-k 1))
    """
    reference = assert_same_as_straight(src, 1, 7)
    assert reference[-1][1] == "(0 42 2)"


def test_promises_forced_and_unforced() -> None:
    src = """
    (define count 0)
    (define p (delay (begin (set! count (+ count 1)) (display "forcing ") (* 6 7))))
    (define q (delay (begin (set! count (+ count 100)) 'q)))
    (force p)
    (list (force p) count)
    (define s (cons-stream 1 (begin (set! count (+ count 1000)) (cons-stream 2 '()))))
    (list (stream-car (stream-cdr s)) (stream-car (stream-cdr s)) count)
    (list (force q) (force q) count)
    """
    reference = assert_same_as_straight(src, 1, 6)
    assert reference[3] == ("done", "42", "forcing ")
    assert reference[4][1] == "(42 1)"
    assert reference[6][1] == "(2 2 1001)"
    assert reference[7][1] == "(q q 1101)"


def test_unforced_promise_survives_a_reload_between_forms() -> None:
    machine = Machine()
    results, machine = run_sliced("(define n 0) (define p (delay (begin (set! n (+ n 1)) n)))", 50, machine)
    machine = reload(machine)
    results, machine = run_sliced("(force p) (force p) n", 50, machine)
    assert [shown for _, shown, _ in results] == ["1", "1", "1"]


def test_infinite_stream_mid_evaluation() -> None:
    src = """
    (define (integers-from n) (stream-cons n (lambda () (integers-from (+ n 1)))))
    (define (sieve s)
      (stream-cons (stream-car s)
                   (lambda () (sieve (stream-filter (lambda (x) (not (= (modulo x (stream-car s)) 0)))
                                                    (stream-cdr s))))))
    (stream->list (sieve (integers-from 2)) 10)
    """
    assert assert_same_as_straight(src, 7, 61)[-1][1] == "(2 3 5 7 11 13 17 19 23 29)"


def test_hash_tables() -> None:
    src = """
    (define h (make-hash))
    (hash-set! h "a" 1)
    (hash-set! h 'sym 2)
    (let loop ((i 0)) (when (< i 30) (hash-set! h i (* i i)) (loop (+ i 1))))
    (list (hash-ref h "a" #f) (hash-ref h 'sym #f) (hash-ref h 29 #f) (hash-ref h 99 'none) (hash-count h))
    (hash-set! h "a" 100)
    (hash-ref h "a" #f)
    """
    reference = assert_same_as_straight(src, 1, 9)
    assert reference[4][1] == "(1 2 841 none 32)"
    assert reference[6][1] == "100"


def test_hash_table_with_list_keys_survives_reload() -> None:
    machine = Machine()
    _, machine = run_sliced("(define h (make-hash)) (hash-set! h '(1 2) 'pair-key) (hash-set! h \"s\" 'str)", None, machine)
    machine = reload(machine)
    results, _ = run_sliced("(list (hash-ref h '(1 2) 'missing) (hash-ref h \"s\" 'missing) (hash-count h))", None, machine)
    assert results[0][1] == "(pair-key str 2)"


def test_closures_sharing_one_environment_still_share_it() -> None:
    src = """
    (define (make-account balance)
      (list (lambda (amount) (set! balance (- balance amount)) balance)
            (lambda () balance)))
    (define acc (make-account 100))
    (define withdraw (car acc))
    (define get-balance (cadr acc))
    (withdraw 30)
    """
    machine = Machine()
    results, machine = run_sliced(src, 3, machine)
    assert results[-1][1] == "70"
    machine = reload(machine)
    results, machine = run_sliced("(withdraw 20) (get-balance) (withdraw 5) (get-balance)", 2, machine)
    assert [shown for _, shown, _ in results] == ["50", "50", "45", "45"]


def test_make_account_from_the_fixture_reloaded_at_every_step() -> None:
    src = (PROGRAMS_DIR / "closures.omega").read_text(encoding="utf-8")
    expected = (PROGRAMS_DIR / "closures.expected").read_text(encoding="utf-8").splitlines()
    reference = assert_same_as_straight(src, 1, 4)
    assert [f"=> {shown}" for _, shown, _ in reference] == expected


def test_output_display_mid_form_survives() -> None:
    src = '(begin (display "one ") (display (+ 1 1)) (newline) (display "three") 4)'
    reference = assert_same_as_straight(src, 1, 2, 3)
    assert reference == [("done", "4", "one 2\nthree")]


def test_errors_and_gensym_counter_survive() -> None:
    src = "(define a (gensym)) (car 5) (define b (gensym)) (eq? a b) (list a b)"
    reference = assert_same_as_straight(src, 1, 3)
    assert reference[1][0] == "error"
    assert reference[3][1] == "#f"


def test_error_state_round_trips() -> None:
    machine = Machine()
    _, machine = run_sliced("(car 5)", None, machine)
    assert machine.status is Status.ERROR
    loaded = reload(machine)
    assert loaded.status is Status.ERROR
    assert loaded.error is not None
    assert loaded.error.message == machine.error.message  # type: ignore[union-attr]
    assert loaded.error.code == machine.error.code  # type: ignore[union-attr]


def test_evaluator_continues_on_a_loaded_machine() -> None:
    evaluator = Evaluator()
    list(evaluator.run_text("(define (square x) (* x x)) (define base 7)"))
    loaded = serialize_read.loads_state(serialize.dumps_state(evaluator.machine))
    again = Evaluator(machine=loaded)
    assert [r.transcript() for r in again.run_text("(square base) (map square '(1 2))")] == ["=> 49", "=> (1 4)"]


def test_user_redefinition_of_a_builtin_survives() -> None:
    machine = Machine()
    _, machine = run_sliced("(define (car x) 'mine) (define map 5)", None, machine)
    machine = reload(machine)
    results, _ = run_sliced("(list (car '(1)) map (cdr '(1 2)))", None, machine)
    assert results[0][1] == "(mine 5 (2))"


# --- big states ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_100000_deep_continuation() -> None:
    machine = Machine()
    _, machine = run_sliced("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))", None, machine)
    machine.start(machine.compile(read_all("(deep 100000)").forms[0]).root)
    # run to the deepest point (each level pushes its frame within a few steps), then save there
    depth = 0
    while depth < 100_000:
        assert machine.run(25_000) is Status.RUNNING
        depth = 0
        k = machine.k
        while k is not None:
            depth += 1
            k = k.next
    machine = reload(machine)
    assert machine.run(10**9) is Status.DONE
    assert machine.value == 100_000


@pytest.mark.slow
def test_1000000_element_list() -> None:
    machine = Machine()
    machine.define_global("big", make_list(range(1_000_000)))
    machine.start(machine.compile(read_all(
        "(let loop ((l big) (sum 0) (n 0)) (if (null? l) (list sum n) (loop (cdr l) (+ sum (car l)) (+ n 1))))"
    ).forms[0]).root)
    assert machine.run(500_000) is Status.RUNNING
    # the data level (dump_state/load_state) here: JSON text of 1,000,000 pairs only adds time,
    # and the text level is covered by every other test
    data = serialize.dump_state(machine)
    machine = serialize_read.load_state(data)
    assert machine.run(10**9) is Status.DONE
    assert write_string(machine.value) == f"({sum(range(1_000_000))} 1000000)"
    assert machine.globals["big"].car == 0


# --- host effects -------------------------------------------------------------------------------


def test_state_suspended_at_a_host_effect_round_trips_and_resumes() -> None:
    machine = Machine()
    _, machine = run_sliced("(define (wrap s) (string-append \"[\" s \"]\"))", None, machine)
    machine.start(machine.compile(read_all('(begin (display "asking") (wrap (effect infer.op "capital of " "France")))').forms[0]).root)
    assert machine.run(10**6) is Status.EFFECT
    loaded = reload(machine)
    assert loaded.status is Status.EFFECT
    assert loaded.effect_op == "infer.op"
    assert loaded.effect_args == ["capital of ", "France"]
    loaded.resume("Paris")
    assert loaded.run(10**6) is Status.DONE
    assert loaded.value == "[Paris]"
    assert loaded.take_output() == "asking"


def test_state_at_an_effect_inside_nested_calls_resumes_twice_independently() -> None:
    machine = Machine()
    machine.start(machine.compile(read_all('(list 1 (+ 2 (string-length (effect infer.op "q"))))').forms[0]).root)
    assert machine.run(10**6) is Status.EFFECT
    text = serialize.dumps_state(machine)
    first, second = serialize_read.loads_state(text), serialize_read.loads_state(text)
    first.resume("abc")
    second.resume("abcdef")
    assert first.run(100) is Status.DONE and second.run(100) is Status.DONE
    assert write_string(first.value) == "(1 5)"
    assert write_string(second.value) == "(1 8)"


# --- dump(load(dump(m))) == dump(m) ------------------------------------------------------------------


STABLE_PROGRAMS = [
    "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 10)",
    "(define saved #f) (define n 0) (let ((r (call/cc (lambda (k) (set! saved k) 0)))) (set! n (+ n 1)) (if (< n 3) (saved n) r))",
    "(handle (+ 1 (effect a.op 5)) (on a.op (x k) (list (k x) (k (* 2 x)))))",
    "(define h (make-hash)) (hash-set! h \"k\" (delay 5)) (define s (cons-stream 1 (+ 1 1))) (stream-cdr s)",
    "(let ((x (amb 1 2 3))) (require (> x 2)) (list x 'a \"s\" 2.5 #t '()))",
    "(define (make-counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define c (make-counter)) (c) (c)",
]


@pytest.mark.parametrize("src", STABLE_PROGRAMS)
def test_dump_of_loaded_state_equals_the_dump(src: str) -> None:
    machine = Machine()
    checked = 0
    for datum in read_all(src).forms:
        machine.start(machine.compile(datum).root)
        while True:
            status = machine.run(3)
            first = serialize.dump_state(machine)
            again = serialize.dump_state(serialize_read.load_state(copy.deepcopy(first)))
            assert again == first
            assert serialize.dumps_state(serialize_read.loads_state(serialize.dumps_state(machine))) == serialize.dumps_state(machine)
            checked += 1
            if status is not Status.RUNNING:
                break
    assert checked > 3


def test_dump_does_not_change_the_machine() -> None:
    machine = Machine()
    machine.start(machine.compile(read_all("(let loop ((i 0)) (if (= i 100) 'done (loop (+ i 1))))").forms[0]).root)
    machine.run(50)
    before = serialize.dumps_state(machine)
    assert serialize.dumps_state(machine) == before
    assert machine.run(10**6) is Status.DONE


# --- malformed data --------------------------------------------------------------------------------


def _sample_state() -> dict[str, Any]:
    machine = Machine()
    _, machine = run_sliced("(define (f x) (* x 2)) (define h (make-hash)) (define lst (list 1 2))", None, machine)
    machine.start(machine.compile(read_all("(f (f 3))").forms[0]).root)
    machine.run(2)
    return serialize.dump_state(machine)


def _add_record(data: dict[str, Any], record: Any) -> list[Any]:
    heap = data["heap"]
    if isinstance(heap, list):
        heap.append(record)
        return ["r", len(heap) - 1]
    key = max((int(name) for name in heap), default=0) + 1000
    heap[str(key)] = record
    return ["r", key]


def _first_unit(data: dict[str, Any]) -> str:
    assert data["units"], "the sample state should hold user code"
    return next(iter(data["units"]))


def _mutations() -> list[Any]:
    def wrong_format(d: dict[str, Any]) -> Any:
        d["format"] = "omega-state/999"
        return d

    def no_format(d: dict[str, Any]) -> Any:
        del d["format"]
        return d

    def no_root(d: dict[str, Any]) -> Any:
        del d["root"]
        return d

    def no_heap(d: dict[str, Any]) -> Any:
        del d["heap"]
        return d

    def no_units(d: dict[str, Any]) -> Any:
        del d["units"]
        return d

    def no_globals(d: dict[str, Any]) -> Any:
        del d["root"]["globals"]
        return d

    def bad_status(d: dict[str, Any]) -> Any:
        d["root"]["status"] = "sleeping"
        return d

    def unknown_value_tag(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = ["zz", 1]
        return d

    def dangling_reference(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = ["r", 987654321]
        return d

    def unknown_primitive(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = ["p", "no-such-primitive"]
        return d

    def unknown_builtin(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = ["b", "no-such-builtin"]
        return d

    def unknown_unit(d: dict[str, Any]) -> Any:
        d["root"]["node"] = ["c", "no-such-unit", 0]
        return d

    def node_index_out_of_range(d: dict[str, Any]) -> Any:
        d["root"]["node"] = ["c", _first_unit(d), 10**6]
        return d

    def unit_text_unreadable(d: dict[str, Any]) -> Any:
        d["units"][_first_unit(d)] = "(((unclosed"
        return d

    def unit_text_two_forms(d: dict[str, Any]) -> Any:
        d["units"][_first_unit(d)] = "(a) (b)"
        return d

    def unknown_record_tag(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = _add_record(d, ["mystery", 1, 2])
        return d

    def unknown_frame_type(d: dict[str, Any]) -> Any:
        d["root"]["k"] = _add_record(d, ["k", "NoSuchFrameK", None])
        return d

    def record_not_a_list(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = _add_record(d, 42)
        return d

    def empty_record(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = _add_record(d, [])
        return d

    def short_pair_record(d: dict[str, Any]) -> Any:
        d["root"]["globals"]["f"] = _add_record(d, ["pair", 1])
        return d

    def heap_not_a_container(d: dict[str, Any]) -> Any:
        d["heap"] = 17
        return d

    def root_not_a_dict(d: dict[str, Any]) -> Any:
        d["root"] = ["not", "a", "dict"]
        return d

    def not_a_dict(d: dict[str, Any]) -> Any:
        return [d]

    def none(d: dict[str, Any]) -> Any:
        return None

    return [pytest.param(fn, id=fn.__name__) for fn in (
        wrong_format, no_format, no_root, no_heap, no_units, no_globals, bad_status, unknown_value_tag,
        dangling_reference, unknown_primitive, unknown_builtin, unknown_unit, node_index_out_of_range,
        unit_text_unreadable, unit_text_two_forms, unknown_record_tag, unknown_frame_type,
        record_not_a_list, empty_record, short_pair_record, heap_not_a_container, root_not_a_dict,
        not_a_dict, none,
    )]


def test_sample_state_loads_unmodified() -> None:
    machine = serialize_read.load_state(_sample_state())
    assert machine.run(100) is Status.DONE
    assert machine.value == 12



@pytest.mark.parametrize("mutate", _mutations())
def test_malformed_data_raises_state_format_error(mutate: Any) -> None:
    data = mutate(_sample_state())
    with pytest.raises(serialize.StateFormatError):
        serialize_read.load_state(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[]",
        "42",
        '"text"',
        "null",
        '{"format": "omega-state/1"}',
    ],
)
def test_malformed_text_raises_state_format_error(text: str) -> None:
    with pytest.raises(serialize.StateFormatError):
        serialize_read.loads_state(text)


def test_state_format_error_is_a_value_error() -> None:
    assert issubclass(serialize.StateFormatError, ValueError)


def test_code_with_backspace_string_round_trips() -> None:
    machine = Machine()
    _, machine = run_sliced('(define (f) (string-append "a\\u0008b" "\\u000c"))', None, machine)
    machine = reload(machine)
    results, _ = run_sliced("(string-length (f))", None, machine)
    assert results[0][1] == "4"


# --- random programs ----------------------------------------------------------------------------


def _num_exprs(leaf: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        lists = st.one_of(
            st.lists(children, max_size=4).map(lambda xs: "(list " + " ".join(xs) + ")"),
            st.just("'(1 2 3)"),
        )
        return st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*"]), children, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(children, children, children, children).map(lambda t: f"(if (< {t[0]} {t[1]}) {t[2]} {t[3]})"),
            st.tuples(children, children).map(lambda t: f"(let ((a {t[0]})) {t[1]})"),
            st.tuples(children, children).map(lambda t: f"((lambda (b) {t[1]}) {t[0]})"),
            lists.map(lambda l: f"(length {l})"),
            lists.map(lambda l: f"(apply + {l})"),
            lists.map(lambda l: f"(fold-left + 0 (map (lambda (b) (* b 2)) {l}))"),
            lists.map(lambda l: f"(car (reverse (cons 7 {l})))"),
            st.tuples(children, children).map(lambda t: f"(call/cc (lambda (k) (+ {t[0]} (k {t[1]}))))"),
            st.tuples(children, children).map(lambda t: f"(handle (+ 1 (effect t.op {t[0]})) (on t.op (v k) (k (* v {t[1]}))))"),
            st.tuples(children).map(lambda t: f"(force (delay {t[0]}))"),
        )

    return st.recursive(leaf, extend, max_leaves=12)


_leaves = st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["a", "b"]))
_programs = st.tuples(_num_exprs(_leaves), _num_exprs(_leaves), st.integers(-9, 9), st.integers(-9, 9)).map(
    lambda t: f"(define (f a b) {t[0]})\n(f {t[2]} {t[3]})\n(let ((a 2) (b 3)) (list (f a b) {t[1]}))"
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs, st.integers(min_value=1, max_value=40))
def test_random_programs_reloaded_at_every_boundary_match_a_straight_run(src: str, slice_steps: int) -> None:
    reference, _ = run_sliced(src, None)
    got, _ = run_sliced(src, slice_steps)
    assert got == reference, src


def test_inside_eval_and_oracle_lambda() -> None:
    src = """
    (define code (list 'let (list (list 'x 6)) '(* x (+ x 1))))
    (+ 1 (eval code))
    (define ask (oracle-lambda (topic) (string-append "tell me about " topic)))
    (handle (list (ask "cats") (ask "dogs")) (on infer.op (prompt k) (k (string-length prompt))))
    ask
    """
    reference = assert_same_as_straight(src, 1, 5)
    assert [shown for _, shown, _ in reference[1:]] == ["43", "ask", "(18 18)", "<oracle-proc>"]


def test_state_at_an_effect_of_an_oracle_lambda_round_trips() -> None:
    machine = Machine()
    _, machine = run_sliced('(define ask (oracle-lambda (x) (list "q: " x)))', None, machine)
    machine.start(machine.compile(read_all('(string-upcase (ask "why"))').forms[0]).root)
    assert machine.run(10**6) is Status.EFFECT
    loaded = reload(machine)
    assert (loaded.status, loaded.effect_op) == (Status.EFFECT, "infer.op")
    assert [write_string(arg) for arg in loaded.effect_args] == ['("q: " "why")']
    loaded.resume("because")
    assert loaded.run(10**6) is Status.DONE
    assert loaded.value == "BECAUSE"
