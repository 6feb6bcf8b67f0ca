"""An interrupt that lands while one form of an input ends stops the rest of the input, and says so.

Before, the forms after it were dropped without a word (a Jupyter cell "succeeded" although its
endless second form never ran). Now the next form reports ``interrupted`` (it never started, so
nothing is undone), and a replay of the log stops at the same place instead of running it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from omega_core.eval_steps import FormResult
from omega_core.evaluator import NOT_STARTED_MESSAGE, Evaluator
from omega_core.session.recorded import RecordedSession

from .test_goto import counting_host, make_config, observe

TEXT = "(define a 1)\n(define (spin) (spin))\n(spin)"


def run_interrupting_after_first_form(steps: Generator[Any, Any, None], interrupt: Callable[[], None]) -> list[FormResult]:
    """Drive ``steps``; interrupt as soon as the first form's result is out (between two forms)."""
    results: list[FormResult] = []
    to_send = None
    while True:
        try:
            item = steps.send(to_send)
        except StopIteration:
            return results
        to_send = None
        if isinstance(item, FormResult):
            results.append(item)
            if len(results) == 1:
                interrupt()
        assert len(results) < 4


def test_the_evaluator_reports_the_form_that_did_not_start() -> None:
    evaluator = Evaluator()
    results = run_interrupting_after_first_form(evaluator.text_steps(TEXT), evaluator.interrupt)
    assert [result.transcript() for result in results[:1]] == ["=> a"]
    assert len(results) == 2
    assert results[1].error_code == "interrupted" and results[1].error == NOT_STARTED_MESSAGE
    assert results[1].source == "(define (spin) (spin))" and results[1].line == 2
    assert observe(evaluator.machine, ["a", "spin"]) == {"a": "1", "spin": None}
    assert [result.transcript() for result in evaluator.run_text("(+ a 1)")] == ["=> 2"]  # the session goes on


def test_a_replay_stops_where_the_interrupt_stopped_the_input(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    host, _ = counting_host(config)
    session = RecordedSession.open(config.sessions_dir, "between", config, host)
    results = run_interrupting_after_first_form(session.execute_steps(TEXT), session.evaluator.interrupt)
    assert [result.error_code for result in results] == [None, "interrupted"]
    session.execute("(define b 2)")
    end = session.next_seq - 1
    session.close()
    session.paths.states.unlink(missing_ok=True)  # from the log alone: the replay must not run (spin)
    reopened = RecordedSession.open(config.sessions_dir, "between", config, host)
    assert observe(reopened.machine, ["a", "spin", "b"]) == {"a": "1", "spin": None, "b": "2"}
    reopened.goto(end)
    assert observe(reopened.machine, ["a", "spin", "b"]) == {"a": "1", "spin": None, "b": "2"}
    reopened.close()
