"""Slices bounded by time as well as steps (``evaluator.SlicePacer``, ``[language] slice_ms``): the
next slice fits the time target at the measured rate, within ``[MIN_STEPS, slice_steps]`` and at most
doubling; and since only where slices end depends on time, results and step counts do not."""

from __future__ import annotations

from typing import Any

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


def test_the_first_slice_is_short_and_the_pace_carries_over_to_the_next_command(monkeypatch) -> None:
    """A fresh evaluator's first slice is ``FIRST_STEPS``, not ``slice_steps`` (20,000 steps of a
    deep recursion held the backend 10-20 ms); later commands start at the pace last measured."""
    from omega_core.lang.machine import Machine

    asked: list[int] = []
    real_run = Machine.run

    def run(self: Machine, max_steps: int) -> Any:
        asked.append(max_steps)
        return real_run(self, max_steps)

    monkeypatch.setattr(Machine, "run", run)
    evaluator = Evaluator(language=LanguageConfig(slice_steps=20_000, slice_ms=10_000.0))
    program = "(define (loop i) (if (= i 0) 0 (loop (- i 1)))) (loop 100000)"
    assert [result.value for result in evaluator.run_text(program)] == ["loop", "0"]
    assert asked[0] == SlicePacer.FIRST_STEPS
    assert asked[1:4] == [2 * SlicePacer.FIRST_STEPS, 4 * SlicePacer.FIRST_STEPS, 8 * SlicePacer.FIRST_STEPS]
    assert max(asked) == 20_000
    asked.clear()
    assert [result.value for result in evaluator.run_text("(loop 10)")] == ["0"]
    assert asked == [20_000]  # the pace of the last command: quick slices, so the limit
