"""``take`` and ``hash-keys`` check the size of the list it is about to build against the command's memory budget
(issue 10, item 4): past it, the command ends with ``budget_exceeded`` naming the primitive, the
limit and the config key; within it, the result is built as before."""

from __future__ import annotations

from omega_core.lang.budgets import MIB
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all


def run(machine: Machine, text: str) -> Status:
    machine.start(machine.compile(read_all(text).forms[0]).root)
    return machine.run(10**9)


def test_take_past_the_memory_budget_is_refused_before_building() -> None:
    machine = Machine()
    run(machine, "(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))")
    assert run(machine, "(define big (build 100000 '()))") is Status.DONE
    machine.memory_limit = 4 * MIB  # 100,000 new pairs are about 5.6 MB
    assert run(machine, "(take big 100000)") is Status.ERROR
    assert machine.error is not None and machine.error.code == "budget_exceeded"
    assert "the result of take" in machine.error.message and "[language] max_memory_mb" in machine.error.message
    assert run(machine, "(take big 3)") is Status.DONE and write_string(machine.value) == "(1 2 3)"


def test_hash_keys_past_the_memory_budget_is_refused_before_building() -> None:
    machine = Machine()
    run(machine, "(define h (make-hash))")
    run(machine, "(define (fill n) (if (= n 0) 'full (begin (hash-set! h n n) (fill (- n 1)))))")
    assert run(machine, "(fill 80000)") is Status.DONE
    machine.memory_limit = 4 * MIB  # 80,000 new pairs are about 4.5 MB
    assert run(machine, "(hash-keys h)") is Status.ERROR
    assert machine.error is not None and "the result of hash-keys" in machine.error.message
    assert run(machine, "(hash-count h)") is Status.DONE and machine.value == 80000
