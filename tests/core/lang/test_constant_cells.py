"""Generated step code reads its values as constants (``constant_cells``), behaving the same."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from omega_core.evaluator import Evaluator
from omega_core.lang.constant_cells import with_constants
from omega_core.lang.values import Closure

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n"
IN_311 = pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the rewrite knows CPython 3.11's bytecode")


def _made(a: Any, b: Any, cache: list[Any]) -> Any:
    # a long branch: the jump over it needs an EXTENDED_ARG, which the rewrite keeps
    long_branch = "".join("        y = y + a\n" for _ in range(150))
    source = ("def make(a, b, cache):\n"
              "    def step(x):\n"
              "        cache.append(x)\n"
              "        if x is None:\n"
              "            y = 0\n" + long_branch.replace("        ", "            ") +
              "            return (b, y)\n"
              "        try:\n"
              "            return a + b * x\n"
              "        except TypeError:\n"
              "            return (a, b, x)\n"
              "    return step\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<test template>", "exec"), namespace)  # noqa: S102 - a fixed template
    return namespace["make"](a, b, cache)


@IN_311
def test_a_function_reads_the_same_values_as_constants() -> None:
    cache: list[Any] = []
    original = _made(2, 3, cache)
    rewritten = with_constants(original)
    assert rewritten is not original and rewritten.__closure__ is None and not rewritten.__code__.co_freevars
    assert rewritten(4) == original(4) == 14
    assert rewritten("s") == original("s") == (2, 3, "s")  # the exception table still fits
    assert rewritten(None) == original(None) == (3, 300)
    assert any(op.opname == "EXTENDED_ARG" for op in __import__("dis").get_instructions(rewritten))
    assert cache == [4, 4, "s", "s", None, None]  # the same mutable object, not a copy


def test_a_function_that_writes_a_cell_is_left_as_it_is() -> None:
    def make() -> Any:
        count = 0

        def bump() -> int:
            nonlocal count
            count += 1
            return count

        return bump

    bump = make()
    assert with_constants(bump) is bump
    assert bump() == 1 and bump() == 2
    plain = test_a_function_that_writes_a_cell_is_left_as_it_is
    assert with_constants(plain) is plain  # no cells: kept


@IN_311
def test_the_code_made_for_a_call_has_no_cells() -> None:
    """Without the rewrite every generated function of ``fib`` reads its values from cells (28
    in the ``+`` call's code)."""
    evaluator = Evaluator()
    results = list(evaluator.run_text(FIB + "(fib 12)"))
    assert results[-1].value == "144"
    fib = evaluator.machine.globals["fib"]
    assert type(fib) is Closure
    total = fib.lam.body.otherwise
    for function in (fib.lam.body.ev, total.ev, total.resume, total.args[0].ev):
        assert function.__closure__ is None
        hash(function.__code__)  # its constants (the global cache's list too) are hashable: tools hash code
