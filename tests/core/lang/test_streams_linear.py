"""Stream primitives do O(n) work for n elements (issue 14 item 3), checked without timing.

The work of a run is counted as the Python lines executed (``sys.settrace``), which includes what
primitives such as ``%check-list`` do inside one machine step; machine steps alone would miss a
primitive that walks the rest of a list at every element. Doubling n must about double the work.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import pytest

from omega_core.evaluator import Evaluator

IOTA = "(define (iota n) (let loop ((i n) (acc '())) (if (= i 0) acc (loop (- i 1) (cons i acc)))))"


def lines_executed(evaluator: Evaluator, source: str) -> int:
    """How many Python lines running ``source`` executes; fails if it does not give a value."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        results = list(evaluator.run_text(source))
    finally:
        sys.settrace(None)
    assert results[-1].error is None, results[-1].transcript()
    return count


def work_for(n: int, expression: str) -> int:
    evaluator = Evaluator()
    for result in evaluator.run_text(f"{IOTA} (define n {n}) (define l (iota n))"):
        assert result.error is None, result.transcript()
    return lines_executed(evaluator, expression)


@pytest.mark.parametrize(
    "expression",
    [
        "(length (stream->list (list->stream l)))",
        "(length (stream->list (stream-take (list->stream l) 100000)))",
        "(length (stream->list (stream-map (lambda (x) (* x 2)) (list->stream l))))",
        "(length (stream->list (stream-map + (list->stream l) (list->stream l))))",
        "(length (stream->list (stream-filter odd? (list->stream l))))",
        "(stream-car (stream-filter (lambda (x) (= x n)) (list->stream l)))",
    ],
)
def test_stream_work_grows_linearly(expression: str) -> None:
    small = work_for(200, expression)
    large = work_for(800, expression)
    assert large < 4.8 * small, f"work for 200 elements: {small} lines, for 800: {large} (quadratic?)"


def test_list_to_stream_still_checks_its_argument() -> None:
    results = list(Evaluator().run_text("(list->stream (cons 1 2))"))
    assert results[-1].error is not None
    assert "list->stream: expected a list" in results[-1].error
