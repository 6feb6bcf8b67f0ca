"""The stepping debugger: stepping, running, breakpoints, time travel, trace, snapshots, misuse."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from omega_core.effects import EffectOutcome
from omega_core.errors import EvalError
from omega_core.evaluator import Evaluator
from omega_core.lang.serialize_read import load_state
from omega_core.repl.debugger import EXPORT_FORMAT, Debugger
from omega_core.repl.views import control_text

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


class FakeHost:
    """Answers host effects and counts the calls (time travel must never call it again)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any]]] = []

    def __call__(self, op: str, args: list[Any]) -> EffectOutcome:
        self.calls.append((op, list(args)))
        if args and args[0] == "fail":
            raise EvalError("the oracle is down")
        return EffectOutcome(f"answer{len(self.calls)}")


def evaluate(evaluator: Evaluator, text: str) -> str:
    return [result.transcript() for result in evaluator.run_text(text)][-1]


@pytest.fixture
def evaluator() -> Evaluator:
    ev = Evaluator()
    assert evaluate(ev, FIB) == "=> fib"
    return ev


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


@pytest.fixture
def debugger(evaluator: Evaluator, host: FakeHost) -> Debugger:
    return Debugger(evaluator.machine.globals, host, checkpoint_every=7)


def step_texts(debugger: Debugger) -> list[str]:
    """Step one at a time to the end, noting the control text at each step (index = step)."""
    texts = [control_text(debugger.machine)]
    while True:
        out = debugger.step()
        if out.startswith("Finished"):
            return texts
        assert out.splitlines()[0].startswith(f"step {len(texts)}: ") or "Breakpoint" in out
        texts.append(control_text(debugger.machine))


# --- stepping and running --------------------------------------------------------------------


def test_start_stops_before_the_first_step(debugger: Debugger) -> None:
    assert debugger.start("(fib 3)") == "Debugging (fib 3): at step 0. :step, :run, :stop"
    assert debugger.active and debugger.machine is not None and debugger.machine.steps == 0
    assert "step: 0" in debugger.state()


def test_step_and_step_n(debugger: Debugger) -> None:
    debugger.start("(fib 5)")
    assert debugger.step() == "step 1: (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))"
    assert debugger.step() == "step 2: (+ (fib (- n 1)) (fib (- n 2)))"
    assert debugger.step(1) == "step 3: (fib (- n 1))"
    assert debugger.step(3) == "step 6: (fib (- n 1))"
    assert debugger.step("2").startswith("step 8: ")
    assert debugger.machine.steps == 8


def test_run_gives_the_same_value_as_normal_evaluation(evaluator: Evaluator, debugger: Debugger) -> None:
    expected = evaluate(evaluator, "(fib 12)")
    debugger.start("(fib 12)")
    out = debugger.run()
    assert out.splitlines()[-1] == expected == "=> 144"
    assert out.splitlines()[-2].startswith(f"step {debugger.machine.steps}: value 144")
    assert debugger.step().startswith(f"Finished at step {debugger.machine.steps}: => 144")
    assert debugger.run().startswith("Finished")
    assert debugger.goto(3) == "step 3: (fib (- n 1))"  # still usable at the end


def test_stepping_to_the_end_prints_the_value(debugger: Debugger) -> None:
    debugger.start("(fib 3)")
    out = debugger.step(10_000)
    assert out.endswith("=> 2") and out.startswith("step ")


def test_a_define_under_the_debugger_defines_for_real(evaluator: Evaluator, debugger: Debugger) -> None:
    debugger.start("(define (twice x) (* 2 (fib x)))")
    assert debugger.run().endswith("=> twice")
    assert evaluate(evaluator, "(twice 6)") == "=> 16"


def test_display_output_appears_once(debugger: Debugger) -> None:
    debugger.start('(begin (display "hello") (newline) (fib 2))')
    out = debugger.run()
    assert out.startswith("hello\n") and out.endswith("=> 1")
    assert debugger.goto(4).startswith("step 4: ")  # a jump does not repeat output
    assert debugger.goto(0).startswith("step 0: ")
    assert debugger.run().startswith("hello\n")  # running over the display again shows it again


def test_an_error_ends_the_run_and_stays_inspectable(debugger: Debugger) -> None:
    debugger.start("(+ 1 (car (fib 2)))")
    out = debugger.run()
    assert "error: car: expected a pair" in out
    assert debugger.step().startswith("Stopped by an error at step")
    assert debugger.goto(0) == "step 0: (+ 1 (car (fib 2)))"


def test_run_stops_at_the_step_budget(evaluator: Evaluator, host: FakeHost) -> None:
    debugger = Debugger(evaluator.machine.globals, host, step_budget=500)
    debugger.start("(let loop ((i 0)) (loop (+ i 1)))")
    out = debugger.run()
    assert "Paused: 500 steps without finishing (the step budget)" in out
    assert debugger.machine.steps == 500
    assert debugger.step(10_000).startswith("step 1000: ")


def test_interrupt_stops_a_long_run(evaluator: Evaluator, host: FakeHost) -> None:
    debugger = Debugger(evaluator.machine.globals, host)
    debugger.start("(let loop ((i 0)) (loop (+ i 1)))")
    timer = threading.Timer(0.2, debugger.interrupt)
    timer.start()
    out = debugger.run()
    timer.join()
    assert out.startswith("Interrupted at step ")


# --- breakpoints ----------------------------------------------------------------------------------


def test_step_breakpoint(debugger: Debugger) -> None:
    assert debugger.add_break("step", 40) == "Breakpoint 1: step 40"
    debugger.start("(fib 6)")
    assert debugger.run().splitlines()[0] == "Breakpoint 1 (step 40) hit at step 40"
    assert debugger.step(100).endswith("=> 8")  # no second hit past it
    assert "  1  step  40   yes      1" in debugger.breaks()


def test_step_breakpoint_stops_a_multi_step(debugger: Debugger) -> None:
    debugger.add_break("step", "10")
    debugger.start("(fib 6)")
    assert debugger.step(100).startswith("Breakpoint 1 (step 10) hit at step 10\nstep 10: ")


def test_expr_breakpoint_hits_each_call(debugger: Debugger) -> None:
    debugger.add_break("expr", "fib")
    debugger.start("(fib 4)")
    first = debugger.run()
    assert first == "Breakpoint 1 (expr fib) hit at step 3\nstep 3: (fib (- n 1))"
    calls = 1
    while "hit at step" in debugger.run():
        calls += 1
        assert control_text(debugger.machine).startswith("(fib (- n ")
    assert calls == 8  # fib 4 makes 8 recursive calls
    assert "  1  expr  fib  yes      8" in debugger.breaks()


def test_expr_breakpoint_on_whole_source(debugger: Debugger) -> None:
    debugger.add_break("expr", "(fib  (- n 2))")  # spacing does not matter
    debugger.start("(fib 3)")
    out = debugger.run()
    assert "Breakpoint 1 (expr (fib (- n 2))) hit" in out
    assert control_text(debugger.machine) == "(fib (- n 2))"


def test_effect_breakpoint_stops_before_the_host_performs(debugger: Debugger, host: FakeHost) -> None:
    assert debugger.add_break("effect", "infer.op") == "Breakpoint 1: effect infer.op"
    debugger.start('(string-append "<" (effect infer.op "x") ">")')
    out = debugger.run()
    assert out.startswith("Breakpoint 1 (effect infer.op) hit at step")
    assert host.calls == []
    assert 'pending effect: infer.op "x"' in debugger.state()
    assert debugger.run().endswith('=> "<answer1>"')
    assert host.calls == [("infer.op", ["x"])]


def test_toggle_and_delete(debugger: Debugger) -> None:
    debugger.add_break("expr", "fib")
    debugger.add_break("step", 5)
    assert debugger.toggle(1) == "Breakpoint 1 (expr fib) disabled"
    debugger.start("(fib 4)")
    assert debugger.run().startswith("Breakpoint 2 (step 5) hit at step 5")
    assert debugger.delete_break("2") == "Deleted breakpoint 2 (step 5)"
    assert "  2" not in debugger.breaks()
    assert debugger.run().endswith("=> 3")
    assert debugger.toggle("1") == "Breakpoint 1 (expr fib) enabled"
    debugger.goto(0)
    assert "Breakpoint 1 (expr fib) hit" in debugger.run()


def test_breakpoint_misuse(debugger: Debugger) -> None:
    assert debugger.breaks().startswith("No breakpoints.")
    assert debugger.toggle(7) == "error: no breakpoint 7 (breakpoints: none; see :breaks)"
    debugger.add_break("step", 1)
    assert debugger.delete_break(9) == "error: no breakpoint 9 (breakpoints: 1; see :breaks)"
    assert debugger.delete_break("x").startswith("error: a breakpoint id must be a whole number")
    assert debugger.add_break("line", 3).startswith("error: unknown breakpoint kind 'line'")
    assert debugger.add_break("step", "soon").startswith("error: the step of a breakpoint must be a whole number")
    assert debugger.add_break("step", -1).startswith("error: the step of a breakpoint must be at least 0")
    assert debugger.add_break("expr", " ").startswith("error: missing TAG")
    assert debugger.add_break("effect", "").startswith("error: missing OP")
    assert debugger.add_break("expr", "(fib").startswith("error: cannot read the expression")
    assert "note: foo.op is not a host effect" in debugger.add_break("effect", "foo.op")


# --- time travel ------------------------------------------------------------------------------------


def test_goto_lands_on_the_same_control_as_first_stepped(debugger: Debugger) -> None:
    debugger.start("(fib 6)")
    texts = step_texts(debugger)
    last = len(texts) - 1
    for target in (0, 5, 6, 7, 13, last, 1, 42, 41, last - 1, 20, 3):
        assert debugger.goto(target).splitlines()[0] == f"step {target}: {texts[target]}"
        assert control_text(debugger.machine) == texts[target]
    debugger.goto(10)
    for target in range(11, 30):  # forward again by stepping from a restored state
        assert debugger.step() == f"step {target}: {texts[target]}"


def test_goto_beyond_what_was_reached_runs_forward(debugger: Debugger) -> None:
    debugger.start("(fib 5)")
    assert debugger.goto(30).startswith("step 30: ")
    out = debugger.goto(10_000)
    assert "=> 5" in out and "(the evaluation stops at step" in out
    assert debugger.goto(2) == "step 2: (+ (fib (- n 1)) (fib (- n 2)))"


def test_goto_rerun_never_calls_perform_again(evaluator: Evaluator, host: FakeHost) -> None:
    debugger = Debugger(evaluator.machine.globals, host, checkpoint_every=2)
    debugger.start('(list (effect infer.op "a") (fib 3) (effect infer.op "b") (effect search.op "c"))')
    first = debugger.run()
    assert first.endswith('=> ("answer1" 2 "answer2" "answer3")')
    assert len(host.calls) == 3
    end = debugger.machine.steps
    for target in (0, end, 3, 1, end - 1, 5, 0):
        debugger.goto(target)
    assert debugger.run() == first
    debugger.goto(end // 2)
    assert debugger.run() == first
    assert len(host.calls) == 3


def test_a_failed_effect_is_replayed_without_asking_again(debugger: Debugger, host: FakeHost) -> None:
    debugger.start('(string-append "x" (effect infer.op "fail"))')
    assert "error: infer.op: the oracle is down" in debugger.run()
    debugger.goto(0)
    assert "error: infer.op: the oracle is down" in debugger.run()
    assert len(host.calls) == 1


def test_goto_back_restores_globals_the_expression_changed(evaluator: Evaluator, debugger: Debugger) -> None:
    evaluate(evaluator, "(define x 42) (define h (make-hash))")
    debugger.start("(begin (define q 1) (set! x 99) (hash-set! h 'a 1) (list q x (hash-count h)))")
    assert debugger.run().endswith("=> (1 99 1)")
    assert evaluate(evaluator, "(list q x (hash-count h))") == "=> (1 99 1)"
    debugger.goto(0)
    assert evaluate(evaluator, "(list x (hash-count h))") == "=> (42 0)"
    assert evaluate(evaluator, "q").startswith("error: unbound variable: q (line 1, column 1)")
    evaluate(evaluator, "(define unrelated 7)")  # the session's own work is left alone
    assert debugger.run().endswith("=> (1 99 1)")
    debugger.goto(1)
    assert evaluate(evaluator, "unrelated") == "=> 7"


def test_many_checkpoints_are_thinned_and_goto_still_works(evaluator: Evaluator, host: FakeHost) -> None:
    debugger = Debugger(evaluator.machine.globals, host, checkpoint_every=5, max_checkpoints=4)
    debugger.start("(fib 7)")
    texts = step_texts(debugger)
    assert len(debugger._tl.checkpoints) <= 4  # noqa: SLF001 - checking the memory bound
    last = len(texts) - 1
    for target in (last, 0, last - 3, 12, last // 2, 1):
        assert debugger.goto(target).splitlines()[0] == f"step {target}: {texts[target]}"


# --- trace and state ------------------------------------------------------------------------------


def test_trace_lists_steps_with_depth(debugger: Debugger) -> None:
    debugger.start("(fib 3)")
    debugger.step(4)
    lines = debugger.trace().splitlines()
    assert lines[0] == "Steps 0-4 of 0-4 (current step 4):"
    assert lines[1] == "       0  depth 0    (fib 3)"
    assert lines[4] == "       3  depth 1    (fib (- n 1))"
    assert lines[5].startswith(">      4  depth 1 ")
    lines = debugger.trace(2, 2).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["2", "3"]
    assert debugger.trace(50).startswith("error: step 50 has not been reached yet (the furthest step is 4")


def test_trace_says_when_older_steps_are_gone(evaluator: Evaluator, host: FakeHost) -> None:
    debugger = Debugger(evaluator.machine.globals, host, trace_size=10)
    debugger.start("(fib 4)")
    debugger.step(30)
    out = debugger.trace(15, 5)
    assert out == "steps 15-19 are no longer kept; the trace keeps the last 10 steps reached: 21-30"
    out = debugger.trace(18, 5)
    assert "(steps 18-20 are no longer kept" in out and out.splitlines()[-1].split()[0] == "22"
    debugger.goto(3)
    assert "(step 3 is no longer in the trace" in debugger.trace()


def test_state_shows_choice_points(debugger: Debugger) -> None:
    debugger.start("(let ((x (amb 1 2 3))) (require (> x 2)) x)")
    debugger.step(3)
    state = debugger.state()
    assert "choice points: 1" in state and "status: running" in state and "pending effect: none" in state
    assert debugger.run().endswith("=> 3")


# --- snapshots --------------------------------------------------------------------------------------


def test_save_restore_and_export(debugger: Debugger, tmp_path: Any) -> None:
    assert debugger.snapshots().startswith("No snapshots.")
    debugger.start("(fib 5)")
    at_five = debugger.step(5)
    assert debugger.save("five") == "Saved snapshot 'five' at step 5"
    debugger.run()
    assert debugger.restore("five") == f"Restored snapshot 'five'\n{at_five}"
    assert "  five  step 5" in debugger.snapshots()
    target = tmp_path / "five.json"
    assert debugger.export("five", str(target)) == f"Exported snapshot 'five' (step 5) to {target}"
    data = json.loads(target.read_text())
    assert data["format"] == EXPORT_FORMAT and data["step"] == 5 and data["expression"] == "(fib 5)"
    assert load_state(data["state"]).steps == 5
    assert debugger.run().endswith("=> 5")


def test_restore_after_stop_starts_a_timeline_from_the_snapshot(debugger: Debugger, host: FakeHost) -> None:
    debugger.start('(list (fib 3) (effect infer.op "q") (fib 2))')
    debugger.step(6)
    debugger.save("mid")
    first = debugger.run()
    debugger.stop()
    assert debugger.restore("mid").endswith(f"step 6: {control_text(debugger.machine)}")
    assert debugger.goto(2).startswith("error: step 2 is before the start of this timeline (step 6")
    assert debugger.run() == first
    assert len(host.calls) == 1  # the answer came with the snapshot


def test_snapshot_misuse(debugger: Debugger, tmp_path: Any) -> None:
    assert debugger.save("a") == "error: no debugging session: start one with :debug EXPR"
    debugger.start("(fib 2)")
    assert debugger.save(".hidden").startswith("error: invalid snapshot name")
    assert debugger.save("a/b").startswith("error: invalid snapshot name")
    assert debugger.save("x" * 65).startswith("error: invalid snapshot name")
    assert debugger.restore("nope") == "error: no snapshot named 'nope' (snapshots: none saved yet; see :snapshots)"
    debugger.save("a")
    assert debugger.export("b", "x.json").startswith("error: no snapshot named 'b' (snapshots: a;")
    assert debugger.export("a", " ") == "error: usage: :export NAME FILE"
    assert debugger.export("a", str(tmp_path / "missing" / "x.json")).startswith("error: ")
    assert debugger.save("a") == "Saved snapshot 'a' at step 0 (replacing the old one)"


# --- misuse -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["step", "run", "stop", "state", "trace"])
def test_commands_need_a_debugging_session(debugger: Debugger, command: str) -> None:
    assert getattr(debugger, command)() == "error: no debugging session: start one with :debug EXPR"


def test_misuse_messages(debugger: Debugger) -> None:
    assert debugger.goto(3) == "error: no debugging session: start one with :debug EXPR"
    assert debugger.start("") == "error: usage: :debug EXPR"
    assert debugger.start("(fib 1) (fib 2)").startswith("error: :debug takes one expression, got 2")
    assert debugger.start("(fib 1").startswith("error: unbalanced parentheses")
    assert debugger.start("(if)").startswith("error: if: expected (if TEST THEN [ELSE])")
    assert not debugger.active
    debugger.start("(fib 3)")
    assert debugger.step(0) == "error: the number of steps must be at least 1, got 0"
    assert debugger.step("many") == "error: the number of steps must be a whole number, got 'many'"
    assert debugger.goto(-1) == "error: the step to go to must be at least 0, got -1"
    assert debugger.goto("x").startswith("error: the step to go to must be a whole number")
    assert debugger.trace(count=0) == "error: the number of steps to list must be at least 1, got 0"
    assert debugger.trace("a").startswith("error: the first step must be a whole number")
    assert debugger.start("(fib 2)").endswith("(the previous debugging session ended)")
    assert debugger.stop() == "Stopped debugging (fib 2) at step 0."
    assert not debugger.active and debugger.machine is None


def test_stepping_over_a_long_list_copy_takes_whole_steps(evaluator: Evaluator, host: FakeHost) -> None:
    """A step of ``append`` over a long list is done in pieces, the machine leaving its slice
    between them (``list_copy``); the debugger's single steps still move one whole step, and a
    goto lands on the step it names."""
    from omega_core.lang.values import make_list

    evaluator.machine.globals["big"] = make_list(range(40_000))
    debugger = Debugger(evaluator.machine.globals, host, checkpoint_every=3)
    debugger.start("(length (append big '(1)))")
    texts = step_texts(debugger)
    assert debugger.machine.value == 40_001
    assert not debugger.machine.inside_step
    for target in (len(texts) - 2, 5, 9):
        assert debugger.goto(target).splitlines()[0] == f"step {target}: {texts[target]}"
        assert not debugger.machine.inside_step
    copy_steps = [step for step, text in enumerate(texts) if text.startswith("(%reverse-onto who")]
    assert len(copy_steps) >= 3  # the next step copies (the first and the consuming pass: 16,384 pairs)
    debugger.add_break("step", str(copy_steps[0]))  # hit once, not again inside the copy step
    debugger.start("(length (append big '(1)))")
    assert debugger.run().splitlines()[0].startswith("Breakpoint 1 (step ")
    assert debugger.run().splitlines()[-1] == "=> 40001"
