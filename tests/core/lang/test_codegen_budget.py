"""Code generation ends a slice early (``codegen_budget``): a command that was the first in its
backend to use some code compiled 20-30 shapes in its first slice (24-38 ms while every other
client waited). Only where slices end changes: values and step counts are the same."""

from __future__ import annotations

import math
import time

from omega_core.evaluator import Evaluator
from omega_core.lang import codegen_budget
from omega_core.lang.builtins import fresh_globals
from omega_core.lang.compiler import compile_unit
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all

PROGRAM = """
(define (grow l n) (if (= n 0) (length l) (grow (append l l) (- n 1))))
(define (sq x) (* x x))
(define (sum l acc) (if (null? l) acc (sum (cdr l) (+ acc (sq (car l))))))
(list (grow (list 1 2) 5) (sum (map sq (list 1 2 3)) 0) (fold-left + 0 (filter odd? (list 1 2 3 4 5))))
"""


def run(codegen_slice_s: float) -> tuple[str, int, int]:
    """Value, steps and slices of ``PROGRAM`` on a fresh machine (fresh nodes: each runs a first
    time), slices of up to 100,000 steps."""
    machine = Machine(fresh_globals())
    machine.slice_work.codegen_limit_s = codegen_slice_s
    slices = 0
    for datum in read_all(PROGRAM).forms:
        machine.start(compile_unit(datum, "codegen").root)
        while True:
            slices += 1
            if machine.run(100_000) is not Status.RUNNING:
                break
    assert machine.status is Status.DONE, machine.error
    return write_string(machine.value), machine.steps, slices


def test_first_runs_past_the_limit_end_the_slice_and_change_nothing_else() -> None:
    value, steps, slices = run(math.inf)
    assert slices == len(read_all(PROGRAM).forms)  # one slice per form: nothing ends one early
    cut_value, cut_steps, cut_slices = run(0.0)  # every node's first run ends its slice
    assert (cut_value, cut_steps) == (value, steps) == ("(64 98 9)", steps)
    assert cut_slices > slices + 10


def test_charge_sets_the_break_only_past_the_machine_limit() -> None:
    machine = Machine(fresh_globals())
    assert machine.slice_work.codegen_limit_s == math.inf  # a bare machine takes the steps it is asked for
    machine.slice_work.codegen_limit_s = 1.0
    codegen_budget.charge(machine, time.perf_counter())
    assert not machine.slice_break and 0 < machine.slice_work.codegen_s < 1.0
    codegen_budget.charge(machine, time.perf_counter() - 2.0)
    assert machine.slice_break


def test_the_evaluator_runs_its_machine_with_the_limit() -> None:
    evaluator = Evaluator()
    assert [result.value for result in evaluator.run_text("(+ 1 2)")] == ["3"]
    assert evaluator.machine.slice_work.codegen_limit_s == codegen_budget.CODEGEN_SLICE_S
