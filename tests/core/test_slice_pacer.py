"""Slices bounded by time as well as steps (``evaluator.SlicePacer``, ``[language] slice_ms``): the
next slice fits the time target at the measured rate, within ``[MIN_STEPS, slice_steps]`` and at most
doubling; and since only where slices end depends on time, results and step counts do not."""

from __future__ import annotations

from omega_core.config import LanguageConfig
from omega_core.evaluator import Evaluator, SlicePacer


def test_a_slow_slice_makes_the_next_one_shorter_and_a_fast_one_longer() -> None:
    pacer = SlicePacer(limit=2000, target_s=0.002)
    assert pacer.steps == 2000
    pacer.ran(2000, 0.010)  # 5x too long
    assert pacer.steps == 400
    pacer.ran(400, 0.0001)  # far under: grows, but at most doubles
    assert pacer.steps == 800
    for _ in range(10):
        pacer.ran(pacer.steps, 0.0001)
    assert pacer.steps == 2000  # never past slice_steps
    pacer.ran(5, 1.0)  # one huge step
    assert pacer.steps == SlicePacer.MIN_STEPS
    pacer.ran(0, 0.5)  # nothing measured: unchanged
    assert pacer.steps == SlicePacer.MIN_STEPS


def test_results_and_steps_do_not_depend_on_the_slice_time() -> None:
    program = ("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 3000) "
               "(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc i)))) (loop 20000 0)")
    outcomes = []
    for slice_ms in (0.001, 2.0, 10_000.0):
        results = list(Evaluator(language=LanguageConfig(slice_ms=slice_ms)).run_text(program))
        outcomes.append([(result.value, result.error, result.steps) for result in results])
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][-1][0] == str(sum(range(20001)))
