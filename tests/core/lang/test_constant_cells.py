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
def test_the_prelude_code_has_no_cells_and_user_code_keeps_its_own() -> None:
    """The prelude's generated functions read their values as constants (without the rewrite, the
    ``+`` call of ``fib`` read 28 cells). User code keeps its cells: each rewritten function is a
    code object of its own, about 11 KB per small user function (``SHARED_UNIT_PREFIX``)."""
    evaluator = Evaluator()
    results = list(evaluator.run_text(FIB + "(fib 12)\n(fold-left + 0 (filter odd? (map (lambda (x) (* x 3)) '(1 2 3))))"))
    assert [result.value for result in results[-2:]] == ["144", "12"]
    prelude = [evaluator.machine.globals[name] for name in ("map", "filter", "fold-left")]
    made = [function for closure in prelude for node in closure.lam.body.unit.nodes
            for function in (getattr(node, "ev", None), getattr(node, "resume", None))
            if getattr(function, "__code__", None) is not None and function.__code__.co_filename.startswith("<omega")]
    assert made  # the prelude's nodes ran and have generated code
    for function in made:
        assert function.__closure__ is None, function.__code__.co_filename
        hash(function.__code__)  # its constants (the global cache too) are hashable: tools hash code
    fib = evaluator.machine.globals["fib"]
    assert type(fib) is Closure
    total = fib.lam.body.otherwise
    assert total.ev.__closure__  # user code: cells, no code object of its own
