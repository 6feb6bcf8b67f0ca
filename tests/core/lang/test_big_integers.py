"""Integers of any size print, serialize and reload exactly (issue 10, item 2), with Python's
4,300-digit int<->text guard left ON: the language converts through ``numtext``, never ``str(int)``."""

from __future__ import annotations

import json
import math
import sys

import pytest

from omega_core.evaluator import Evaluator
from omega_core.lang import serialize
from omega_core.lang import serialize_read
from omega_core.lang.reader import read_all
from omega_core.lang.numtext import JSON_INT_BITS, int_to_text, text_to_int

FACT = "(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))"


@pytest.fixture(autouse=True)
def _guard_on() -> None:
    """The process-wide guard stays at its default: nothing here may depend on switching it off."""
    assert sys.get_int_max_str_digits() in (0, 4300)
    if sys.get_int_max_str_digits() == 0:  # another test switched it off and restored it late
        sys.set_int_max_str_digits(4300)


def _run(evaluator: Evaluator, text: str) -> list[str]:
    return [result.transcript() for result in evaluator.run_text(text)]


def test_a_factorial_of_5736_digits_prints_in_full() -> None:
    evaluator = Evaluator()
    out = _run(evaluator, FACT + " (fact 2000)")
    assert out[1] == "=> " + int_to_text(math.factorial(2000))
    assert len(out[1]) == 3 + 5736


@pytest.mark.parametrize("value", [10**5000, -(10**5000) + 1, math.factorial(2000), 1 << JSON_INT_BITS,
                                   (1 << JSON_INT_BITS) - 1, -(1 << 100_000)],
                         ids=["10^5000", "-(10^5000)+1", "2000!", "2^JSON_INT_BITS", "2^JSON_INT_BITS-1", "-2^100000"])
def test_a_state_holding_a_huge_integer_is_json_and_reloads_exactly(value: int) -> None:
    evaluator = Evaluator()
    evaluator.machine.globals["n"] = value
    evaluator.machine.globals.dirty.add("n")
    text = serialize.dumps_state(evaluator.machine)
    json.loads(text)  # plain JSON any reader takes (no digit run past the guard)
    restored = serialize_read.loads_state(text)
    assert restored.globals["n"] == value and type(restored.globals["n"]) is int


def test_a_huge_integer_in_a_suspended_computation_reloads() -> None:
    evaluator = Evaluator()
    _run(evaluator, FACT + " (define big (expt 10 5000))")
    machine = evaluator.machine
    machine.start(machine.compile(read_all("(+ big (fact 2000))").forms[0]).root)
    machine.run(50)  # mid-computation: the continuation holds the big integer
    restored = serialize_read.loads_state(serialize.dumps_state(machine))
    resumed = Evaluator(restored)
    result = resumed.continue_form("(+ big (fact 2000))", 1)
    assert result.value == int_to_text(10**5000 + math.factorial(2000))


def test_digit_text_converts_both_ways_exactly() -> None:
    for value in (0, -1, 10**4299, 10**4300, 10**20_000 - 1, -(3**30_000)):
        assert text_to_int(int_to_text(value)) == value
