"""``append`` and ``reverse`` copy long lists in chunks (``%reverse-onto``), each chunk ending the
machine's slice, so no single step copies millions of pairs (issue 10, item 4). The results, the
sharing of the last argument of ``append`` and the errors stay those of the one-step primitives."""

from __future__ import annotations

from typing import Any

from omega_core.lang.builtins import fresh_globals
from omega_core.lang.compiler import compile_unit
from omega_core.lang.list_copy import REVERSE_CHUNK_PAIRS
from omega_core.lang.machine import Machine, Status
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


def steps_and_pieces(machine: Machine, source: str, slice_steps: int) -> tuple[int, int, list[int]]:
    """Run ``source`` in slices of ``slice_steps``: its steps, how many slices ended inside a step
    (``Machine.inside_step``), and the step count after each slice."""
    machine.start(compile_unit(read_all(source).forms[0], "test").root)
    inside = 0
    counts: list[int] = []
    while True:
        before = machine.steps
        status = machine.run(slice_steps)
        assert machine.steps - before <= slice_steps
        counts.append(machine.steps)
        if status is not Status.RUNNING:
            break
        inside += machine.inside_step
    assert machine.status is Status.DONE, machine.error
    return machine.steps, inside, counts


def test_a_copy_step_is_cut_into_pieces_that_count_no_step(monkeypatch) -> None:
    """A step of ``%reverse-onto`` copies 16,384 pairs (its step count is part of recorded
    sessions) but gives the host a turn every ``REVERSE_PIECE_PAIRS``: the slices that end inside
    it take no step, so every step count, and what the machine holds there, is as before."""
    from omega_core.lang import list_copy

    pairs = 3 * REVERSE_CHUNK_PAIRS + 5
    source = "(let ((copy (append big big))) (list (length copy) (car copy) (car (reverse copy))))"
    results = {}
    for piece in (list_copy.REVERSE_PIECE_PAIRS, REVERSE_CHUNK_PAIRS):
        monkeypatch.setattr(list_copy, "REVERSE_PIECE_PAIRS", piece)
        for slice_steps in (1, 7, 2000):
            machine = Machine(fresh_globals())
            machine.globals["big"] = make_list(range(pairs))
            steps, inside, counts = steps_and_pieces(machine, source, slice_steps)
            results[piece, slice_steps] = (steps, write_string(machine.value))
            full_chunks = 3 + 3 + 6  # append's two passes over big, reverse's one over the copy
            assert inside == full_chunks * (REVERSE_CHUNK_PAIRS // piece - 1)
            if slice_steps == 1:  # one step at a time: every step count is reached, in order
                assert sorted(set(counts)) == list(range(1, steps + 1))
    assert len(set(results.values())) == 1, results
    assert results[REVERSE_CHUNK_PAIRS, 1][1] == f"({2 * pairs} 0 {pairs - 1})"


def test_a_copy_stopped_between_pieces_leaves_nothing_behind() -> None:
    """The budget can stop a command inside a copy step: its registers, the half-built copy in
    the ``node`` register included, are released, and the error holds no piece of it."""
    from omega_core.lang.list_copy import ReverseInProgress
    from omega_core.lang.release import release_registers

    machine = Machine(fresh_globals())
    machine.globals["big"] = make_list(range(2 * REVERSE_CHUNK_PAIRS))
    machine.start(compile_unit(read_all("(append big big)").forms[0], "test").root)
    machine.run(1)
    while not machine.inside_step:
        assert machine.run(1) is Status.RUNNING
    assert type(machine.node) is ReverseInProgress
    release_registers(machine)
    machine.roll_back()
    assert machine.node is None and machine.k is None and not machine.inside_step
    bad = Machine(fresh_globals())
    improper = make_list(range(REVERSE_CHUNK_PAIRS))
    tail = improper
    while type(tail.cdr) is not type(NIL):
        tail = tail.cdr
    tail.cdr = 7  # an improper list, its bad tail found in a later piece than the first
    bad.globals["bad"] = improper
    bad.start(compile_unit(read_all("(append bad '(1))").forms[0], "test").root)
    while bad.run(1) is Status.RUNNING:
        pass
    assert bad.status is Status.ERROR and bad.error is not None
    assert bad.error.message.startswith("append: expected a proper list, got (0 1 2 3")
    assert type(bad.error_node) is not ReverseInProgress
