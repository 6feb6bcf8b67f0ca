"""Steps that each build something big end their slice (``budgets.SLICE_HEAVY_BYTES``).

A tail loop doubling a string, a list or a number runs many such steps in a few dispatches: all of
its doublings up to 16 Mi characters (the limit then) ran in one slice, 30-40 ms of copying while every other client
of the backend waited. Now ``Machine.reserve`` counts the bytes of the big objects built in a slice
and ``run`` ends the slice after the step that passes ``SLICE_HEAVY_BYTES``. Only where slices end
changes: values and step counts are the same with the rule and without it.
"""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.lang import budgets
from omega_core.lang.builtins import fresh_globals
from omega_core.lang.compiler import compile_unit
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all

PROGRAMS = [
    ("(define (grow s n) (if (= n 0) (string-length s) (grow (string-append s s) (- n 1))))", '(grow "x" 22)'),
    ("(define (grow s n) (if (= n 0) (string-length s) (grow (string-append s s s) (- n 1))))", '(grow "ab" 13)'),
    ("(define (grow s n) (if (= n 0) (string-length s) (grow (string-append s s) (- n 1))))", '(grow "ω" 20)'),
]
"""(A list copy ends its slice every few thousand pairs already: ``list_copy``.)"""


def run_recording(source: str, slice_steps: int) -> tuple[str, int, list[list[int]]]:
    """Value, steps, and per slice the sizes ``reserve`` was asked for, in order."""
    machine = Machine(fresh_globals())
    slices: list[list[int]] = []
    real_reserve = machine.reserve

    def recording_reserve(nbytes: int, who: str) -> None:
        real_reserve(nbytes, who)
        if nbytes >= budgets.RESERVE_CHECK_BYTES:
            slices[-1].append(nbytes)

    machine.reserve = recording_reserve  # type: ignore[method-assign]
    before = 0
    for datum in read_all(source).forms:
        machine.start(compile_unit(datum, "heavy").root)
        before = machine.steps
        while True:
            slices.append([])
            if machine.run(slice_steps) is not Status.RUNNING:
                break
    assert machine.status is Status.DONE, machine.error
    return write_string(machine.value), machine.steps - before, [built for built in slices if built]


@pytest.mark.parametrize(("definition", "call"), PROGRAMS)
def test_a_slice_ends_after_the_step_whose_big_objects_pass_the_limit(
        definition: str, call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    value, steps, slices = run_recording(f"{definition} {call}", 100_000)
    for built in slices:  # the break comes right after the step that passed the limit
        assert sum(built[:-1]) < budgets.SLICE_HEAVY_BYTES, built
    assert sum(map(sum, slices)) > 4 * budgets.SLICE_HEAVY_BYTES  # the program is heavy enough to test it
    monkeypatch.setattr(budgets, "SLICE_HEAVY_BYTES", 1 << 62)
    plain_value, plain_steps, plain_slices = run_recording(f"{definition} {call}", 100_000)
    assert (plain_value, plain_steps) == (value, steps)  # only where slices end changed
    assert len(plain_slices) < len(slices)


def test_the_count_starts_again_with_each_slice() -> None:
    machine = Machine(fresh_globals())
    machine.start(compile_unit(read_all("(+ 1 2)").forms[0], "heavy").root)
    machine.reserve(budgets.SLICE_HEAVY_BYTES, "test")
    assert machine.slice_break
    assert machine.run(100) is Status.DONE
    assert not machine.slice_break and machine.slice_work.heavy_bytes == 0
    assert write_string(machine.value) == "3"


def test_small_objects_are_not_counted() -> None:
    machine: Any = Machine(fresh_globals())
    machine.reserve(budgets.RESERVE_CHECK_BYTES - 1, "test")
    assert machine.slice_work.heavy_bytes == 0 and not machine.slice_break
