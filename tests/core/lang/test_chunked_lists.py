"""``append`` and ``reverse`` copy long lists in chunks (``%reverse-onto``), each chunk ending the
machine's slice, so no single step copies millions of pairs (issue 10, item 4). The results, the
sharing of the last argument of ``append`` and the errors stay those of the one-step primitives."""

from __future__ import annotations

from typing import Any

from omega_core.lang.builtins import fresh_globals
from omega_core.lang.compiler import compile_unit
from omega_core.lang.machine import REVERSE_CHUNK_PAIRS, Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all
from omega_core.lang.values import NIL, make_list


def run(machine: Machine, source: str, slice_steps: int = 2000) -> tuple[Any, int]:
    """The value of the last form and how many slices the last form took."""
    slices = 0
    for datum in read_all(source).forms:
        machine.start(compile_unit(datum, "test").root)
        slices = 0
        while True:
            slices += 1
            if machine.run(slice_steps) is not Status.RUNNING:
                break
    assert machine.status is Status.DONE, machine.error
    return machine.value, slices


def test_a_long_append_takes_one_slice_per_chunk() -> None:
    machine = Machine(fresh_globals())
    pairs = 10 * REVERSE_CHUNK_PAIRS
    machine.globals["big"] = make_list(range(pairs))
    value, slices = run(machine, "(car (cdr (append big big)))")
    assert value == 1
    # the first argument is reversed then copied onto the second: two passes of 10 chunks each
    assert slices >= 20
    value, slices = run(machine, "(car (reverse big))")
    assert value == pairs - 1 and slices >= 10


def test_results_sharing_and_errors_are_those_of_the_primitives() -> None:
    machine = Machine(fresh_globals())
    assert write_string(run(machine, "(append '(1 2) '() '(3) '(4 . 5))")[0]) == "(1 2 3 4 . 5)"
    assert run(machine, "(append)")[0] is NIL
    assert run(machine, "(append 7)")[0] == 7
    assert write_string(run(machine, "(reverse '(1 2 3))")[0]) == "(3 2 1)"
    assert run(machine, "(define tail (list 9)) (eq? (cdr (append '(1) tail)) tail)")[0] is True
    machine.start(compile_unit(read_all("(append '(1) '(2 . 3) '(4))").forms[0], "test").root)
    assert machine.run(10_000) is Status.ERROR
    assert machine.error is not None
    assert machine.error.message == "append: expected a proper list, got (2 . 3) (pair)"


def test_the_memory_budget_stops_a_long_append_between_chunks() -> None:
    machine = Machine(fresh_globals())
    machine.memory_limit = 1  # any chunk large enough to be checked passes it
    machine.globals["big"] = make_list(range(3 * REVERSE_CHUNK_PAIRS))
    machine.start(compile_unit(read_all("(append big big)").forms[0], "test").root)
    while machine.run(2000) is Status.RUNNING:
        pass
    assert machine.status is Status.ERROR and machine.error is not None
    assert machine.error.code == "budget_exceeded"
    assert "[language] max_memory_mb" in machine.error.message and "append" in machine.error.message
