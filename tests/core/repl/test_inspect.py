"""Inspection commands on machines stopped mid-evaluation, finished, failed or waiting for an effect."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.evaluator import Evaluator
from omega_core.lang.machine import Machine, Status
from omega_core.lang.reader import read_all
from omega_core.repl import inspect
from omega_core.repl.debugger import Debugger

DEFINITIONS = """
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(define answer 42)
(define long-list (list "aaaaaaaaaa" "bbbbbbbbbb" "cccccccccc" "dddddddddd" "eeeeeeeeee" "ffffffffff" "gggggggggg"))
(define (outer a . more) (define twice (* a 2)) (let ((sum (+ twice 1))) (+ sum (inner a))))
(define (inner b) (let loop ((i 0) (acc '())) (if (= i b) (car acc) (loop (+ i 1) (cons i acc)))))
(define (count-down n) (if (= n 0) 0 (+ 1 (count-down (- n 1)))))
"""


@pytest.fixture
def evaluator() -> Evaluator:
    ev = Evaluator()
    for result in ev.run_text(DEFINITIONS):
        assert result.ok, result.error
    return ev


def started(evaluator: Evaluator, source: str, steps: int) -> Machine:
    """A machine sharing the session's globals, ``steps`` steps into ``source``."""
    machine = Machine(evaluator.machine.globals)
    machine.start(machine.compile(read_all(source).forms[0]).root)
    machine.run(steps)
    return machine


def test_stack_of_a_nested_call(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(fib 5)", 9)
    assert machine.status is Status.RUNNING
    assert inspect.stack(machine) == "\n".join([
        "#0 call (+ (fib (- n 1)) (fib (- n 2)))",
        "#1 call (+ (fib (- n 1)) (fib (- n 2)))",
        "#2 call (+ (fib (- n 1)) (fib (- n 2)))",
    ])
    assert inspect.control(machine) == "status: running (step 9)\nnext: evaluate (fib (- n 1))\ndepth: 3 frames"


def test_frame_details_with_local_names(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(fib 5)", 9)
    text = inspect.frame(machine, 0)
    assert text.splitlines()[:3] == ["#0 call (+ (fib (- n 1)) (fib (- n 2)))", "  kind: CallK",
                                     "  node: (+ (fib (- n 1)) (fib (- n 2)))"]
    assert "  env:\n    [0] fib (n)\n      n = 3" in text
    assert "  index: 0" in text and "  vals: []" in text
    assert "      n = 5" in inspect.frame(machine, "2")


def test_frame_misuse(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(fib 5)", 9)
    assert inspect.frame(machine, 3) == "error: no frame 3: the stack has 3 frames (see :stack)"
    assert inspect.frame(machine, "top") == "error: the frame number must be a whole number, got 'top'"
    assert inspect.frame(machine, -1) == "error: the frame number must be at least 0, got -1"


def test_env_lists_user_globals_and_named_locals(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(+ 1 (outer 3 4 5))", 16)
    assert machine.node is not None and "loop" in inspect.control(machine)
    text = inspect.env(machine)
    lines = text.splitlines()
    assert lines[0] == "  answer = 42"
    assert [line.split(" = ")[0].strip() for line in lines[:6]] == [
        "answer", "count-down", "fib", "inner", "long-list", "outer"]
    assert all(len(line) <= 2 + len("long-list = ") + 80 for line in lines[:6])
    assert "car" not in [line.split(" = ")[0].strip() for line in lines]  # builtins are skipped
    locals_part = text[text.index("Locals at"):]
    assert "  [0] loop (i acc)\n    i = " in locals_part
    assert "  [1] let ()\n    loop = <closure (i acc)>" in locals_part
    assert "  [2] inner (b)\n    b = 3" in locals_part
    assert "  [0] let (sum)" not in locals_part  # outer's frames are not lexically visible from inner


def test_env_of_a_frame_in_a_body_with_internal_defines(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(+ 1 (outer 3 4 5))", 16)
    frames = inspect.stack(machine).splitlines()
    index = next(i for i, line in enumerate(frames) if line.startswith(f"#{i} call (+ sum (inner a))"))
    text = inspect.frame(machine, index)
    assert "[0] let (sum)\n      sum = 7" in text
    assert "[1] outer (a . more)\n      a = 3\n      more = (4 5)\n      twice = 6" in text


def test_env_with_a_name(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(+ 1 (outer 3 4 5))", 16)
    assert inspect.env(machine, "b") == "b = 3"
    assert inspect.env(machine, "answer") == "answer = 42"
    assert inspect.env(machine, "long-list").endswith('"gggggggggg")')  # in full, not cut
    assert inspect.env(machine, "car") == "car = <prim>"
    assert inspect.env(machine, "nothing") == "error: nothing is not defined"


def test_env_and_defs_of_an_idle_session(evaluator: Evaluator) -> None:
    machine = evaluator.machine
    assert "Locals" not in inspect.env(machine)
    assert inspect.defs(machine).splitlines() == [
        "  answer      value", "  count-down  procedure", "  fib         procedure", "  inner       procedure",
        "  long-list   value", "  outer       procedure"]
    fresh = Machine()
    assert inspect.env(fresh) == "No user definitions."
    assert inspect.defs(fresh) == "No user definitions."
    assert inspect.stack(fresh) == "The stack is empty: no frame is waiting for a value."


def test_long_stacks_are_cut(evaluator: Evaluator) -> None:
    machine = started(evaluator, "(count-down 100)", 300)
    lines = inspect.stack(machine).splitlines()
    assert len(lines) == 51 and lines[49].startswith("#49 call (+ 1 (count-down (- n 1)))")
    depth = int(inspect.control(machine).splitlines()[-1].split()[1])
    assert lines[50] == f"... {depth - 50} more frames"
    assert all(len(line) <= 100 for line in lines)


def test_control_in_every_state(evaluator: Evaluator) -> None:
    returning = started(evaluator, "(fib 5)", 15)
    assert returning.node is None
    assert inspect.control(returning).splitlines()[1] == "next: return 1 to call (+ (fib (- n 1)) (fib (- n 2)))"
    done = started(evaluator, "(fib 5)", 10_000)
    assert inspect.control(done) == "status: done (step 59)\ndone: => 5\ndepth: 0 frames"
    failed = started(evaluator, "(+ 1 (car answer))", 100)
    assert inspect.control(failed).splitlines()[1].startswith("error: car: expected a pair")
    waiting = started(evaluator, '(string-append (effect infer.op "hi") "!")', 100)
    assert inspect.control(waiting).splitlines()[1] == 'waiting for the host to perform infer.op "hi"'


def test_unrecoverable_names_fall_back_to_slots() -> None:
    scopes = inspect.scopes_of(None, [[None, "x"], 1, 2])
    assert scopes == [("frame", [("slot 1", 1), ("slot 2", 2)]), ("frame", [("slot 1", "x")])]


def test_inspecting_the_debugger_machine(evaluator: Evaluator) -> None:
    debugger = Debugger(evaluator.machine.globals, lambda op, args: None)
    debugger.start("(fib 4)")
    debugger.add_break("expr", "fib")
    debugger.run()
    debugger.run()
    machine: Any = debugger.machine
    assert inspect.control(machine).splitlines()[1] == "next: evaluate (fib (- n 1))"
    assert inspect.env(machine, "n") == "n = 3"
    assert inspect.stack(machine).count("#") == 2
