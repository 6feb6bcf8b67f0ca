"""Time travel: ``goto(seq)`` gives the state a fresh run reaches at the same point, for every seq.

The reference is always computed without the session's replay: a fresh session (or a bare
Evaluator) runs the same inputs from scratch and stops at the same input boundary.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omega_core.config import Config, LanguageConfig, OracleConfig, SessionConfig
from omega_core.effects import EffectHost
from omega_core.errors import OmegaError
from omega_core.evaluator import Evaluator
from omega_core.lang.machine import Machine
from omega_core.lang.printer import write_string
from omega_core.oracle import ScriptedOracle
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_core.session.recorded import RecordedSession

SCRIPT = (
    "[[answer]]\n"
    'match = "say hello"\n'
    'answer = "hello, world"\n'
    "[[answer]]\n"
    'match = "short"\n'
    'answer = "brief"\n'
)

# one list of forms per input (inputs with several forms are joined with a space)
INPUTS: list[list[str]] = [
    ["(define counter 0)"],
    ["(define (loop i) (if (= i 0) counter (begin (set! counter (+ counter 1)) (loop (- i 1)))))"],
    ['(define greeting (effect infer.op "please say hello"))'],
    ["(car 5)"],
    ["(loop 1000)"],
    ["(define x 1)", "(define y (+ x counter))"],
    ["(set! x 42)"],
    ['(define both (list greeting (effect infer.op "short")))'],
    ["(undefined-fn 1)"],
]
NAMES = ["counter", "loop", "greeting", "x", "y", "both"]
PROBES = ["counter", "(loop 3)", "greeting", "(+ x y)", "both"]
LOOP_INPUT = 4
STEPS_PER_ITERATION = 5  # (loop 1000) takes 5 steps per turn (checked against the recorded step count)


class CountingOracle:
    def __init__(self, inner: ScriptedOracle) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls = 0

    def ask(self, prompt: str, samples: int = 1) -> Any:
        self.calls += 1
        return self.inner.ask(prompt, samples)


def make_config(tmp_path: Path) -> Config:
    script = tmp_path / "oracle.toml"
    script.write_text(SCRIPT, encoding="utf-8")
    return dataclasses.replace(
        Config(), session_dir=str(tmp_path / "sd"), oracle=OracleConfig(script=str(script)),
        session=SessionConfig(periodic_checkpoint_steps=1000), language=LanguageConfig(slice_steps=500),
    )


def counting_host(config: Config) -> tuple[EffectHost, CountingOracle]:
    oracle = CountingOracle(ScriptedOracle(Path(config.oracle.script), config.oracle.fallback_answer))
    return EffectHost(config.oracle, config.effects, oracle_factory=lambda: oracle), oracle


def observe(machine: Machine, names: list[str]) -> dict[str, str | None]:
    table = machine.globals
    return {name: (write_string(table[name]) if name in table else None) for name in names}


def events_of(session: RecordedSession) -> list[dict[str, Any]]:
    return [json.loads(line) for line in session.paths.log.read_text(encoding="utf-8").splitlines()[1:]]


def transcripts(session: RecordedSession, code: str) -> list[str]:
    return [result.transcript() for result in session.execute(code)]


def input_position(events: list[dict[str, Any]]) -> dict[int, tuple[int, int, dict[str, Any]]]:
    """seq -> (input number, forms of that input finished at that seq, the event)."""
    where: dict[int, tuple[int, int, dict[str, Any]]] = {}
    number, done = -1, 0
    for event in events:
        if event["type"] == "input":
            number, done = number + 1, 0
        elif event["type"] in ("result", "error"):
            done += 1
        where[event["seq"]] = (number, done, event)
    return where


class FreshRuns:
    """States reached by fresh sessions that run the inputs from scratch (cached per stopping point)."""

    def __init__(self, config: Config, tmp_path: Path) -> None:
        self.config = dataclasses.replace(config, session_dir=str(tmp_path / "fresh"))
        self.host, self.oracle = counting_host(config)
        self.cache: dict[tuple[int, int], tuple[dict[str, str | None], list[str]]] = {}
        self.count = 0

    def state(self, number: int, forms: int) -> tuple[dict[str, str | None], list[str]]:
        """Globals and probe transcripts after inputs[:number] and the first ``forms`` forms of the next."""
        key = (number, forms)
        if key not in self.cache:
            self.count += 1
            session = RecordedSession.open(self.config.sessions_dir, f"fresh{self.count}", self.config, self.host)
            for forms_of_input in INPUTS[:number]:
                session.execute(" ".join(forms_of_input))
            if forms:
                session.execute(" ".join(INPUTS[number][:forms]))
            observed = observe(session.machine, NAMES)
            probes = [line for probe in PROBES for line in transcripts(session, probe)]
            session.close()
            self.cache[key] = (observed, probes)
        return self.cache[key]


def record(config: Config, name: str = "main") -> tuple[RecordedSession, CountingOracle]:
    host, oracle = counting_host(config)
    session = RecordedSession.open(config.sessions_dir, name, config, host)
    for forms in INPUTS:
        session.execute(" ".join(forms))
    return session, oracle


@pytest.mark.parametrize("states", ["kept", "deleted"])
def test_goto_every_seq_equals_a_fresh_run(tmp_path: Path, states: str) -> None:
    config = make_config(tmp_path)
    session, oracle = record(config)
    if states == "deleted":  # no stored state at all: goto replays from the start of the log
        session.close()
        session.paths.states.unlink()
        host, oracle = counting_host(config)
        session = RecordedSession.open(config.sessions_dir, "main", config, host)
    events = events_of(session)
    recorded_end = session.next_seq
    where = input_position(events)
    loop_result = next(e for e in events if e["type"] == "result" and where[e["seq"]][0] == LOOP_INPUT)
    assert loop_result["steps"] == 1000 * STEPS_PER_ITERATION + 3
    kinds = {(event["type"], event.get("reason")) for event in events}
    assert {("checkpoint", "periodic"), ("checkpoint", "llm_boundary"), ("llm_resp", None),
            ("resume", None), ("effect", None), ("error", None)} <= kinds
    calls_before = oracle.calls
    fresh = FreshRuns(config, tmp_path)

    for seq in range(recorded_end):
        number, forms, event = where[seq]
        report = session.goto(seq)
        assert report.startswith(f"Jumped to seq {seq} ")
        assert session.cursor == seq
        expected, expected_probes = fresh.state(number, forms)
        if event.get("reason") == "periodic":  # inside (loop 1000): the loop has run formSteps steps
            expected = {**expected, "counter": str(event["formSteps"] // STEPS_PER_ITERATION)}
            assert observe(session.machine, NAMES) == expected, (seq, event)
            continue
        assert observe(session.machine, NAMES) == expected, (seq, event)
        probes = [line for probe in PROBES for line in transcripts(session, probe)]
        assert probes == expected_probes, (seq, event)

    assert oracle.calls == calls_before  # goto never asked the oracle
    seqs = [event["seq"] for event in events_of(session)]
    assert seqs == list(range(len(seqs)))  # jumps and probes appended after, nothing rewritten
    session.close()


def test_goto_mid_effect_then_continue(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session, oracle = record(config)
    events = events_of(session)
    resp = next(e for e in events if e["type"] == "llm_resp")
    asked = oracle.calls
    session.goto(resp["seq"])
    assert observe(session.machine, ["greeting", "counter", "loop"]) == {
        "greeting": None, "counter": "0", "loop": "<closure (i)>"}
    assert transcripts(session, "(loop 2)") == ["=> 2"]
    assert oracle.calls == asked
    session.close()


def test_goto_the_result_event_reports_the_value(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session, _ = record(config)
    result = next(e for e in events_of(session) if e["type"] == "result" and e["value"] == "1000")
    report = session.goto(result["seq"])
    assert report.splitlines()[-1] == "=> 1000"
    session.close()


def test_new_input_after_goto_keeps_the_log_and_reopens_post_jump(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    host, _ = counting_host(config)
    session = RecordedSession.open(config.sessions_dir, "j", config, host)
    session.execute("(define a 1)")  # 0..3
    session.execute("(define b 2)")  # 4..7
    session.execute("(define c 3)")  # 8..11
    before = session.paths.log.read_bytes()
    session.goto(3)
    session.execute("(define d (+ a 10))")
    after = session.paths.log.read_bytes()
    assert after.startswith(before)  # nothing past the jump point was lost
    events = events_of(session)
    jump = events[12]
    assert jump["type"] == "checkpoint" and jump["jumpTo"] == 3 and jump["reason"] == "manual"
    assert jump["stateId"] == "state-12"
    assert [e["type"] for e in events[13:]] == ["input", "step", "result", "checkpoint"]
    expected = {"a": "1", "b": None, "c": None, "d": "11"}
    assert observe(session.machine, list(expected)) == expected
    session.close()

    reopened = RecordedSession.open(config.sessions_dir, "j", config, host)
    assert observe(reopened.machine, list(expected)) == expected
    reopened.close()
    reopened.paths.states.unlink()  # and again purely from the log
    again = RecordedSession.open(config.sessions_dir, "j", config, host)
    assert observe(again.machine, list(expected)) == expected
    # the old timeline is still reachable
    again.goto(11)
    assert observe(again.machine, ["a", "b", "c", "d"]) == {"a": "1", "b": "2", "c": "3", "d": None}
    again.close()


def test_goto_a_jump_record_gives_the_jump_target_state(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    host, _ = counting_host(config)
    session = RecordedSession.open(config.sessions_dir, "j", config, host)
    session.execute("(define a 1)")
    session.execute("(define b 2)")
    session.goto(3)
    jump_seq = session.next_seq - 1
    session.execute("(define c 3)")
    session.goto(jump_seq)
    assert observe(session.machine, ["a", "b", "c"]) == {"a": "1", "b": None, "c": None}
    session.goto(jump_seq + 4)  # the manual checkpoint of (define c 3)
    assert observe(session.machine, ["a", "b", "c"]) == {"a": "1", "b": None, "c": "3"}
    session.close()


def test_goto_out_of_range_changes_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = ReplState.open(config, "r")
    process(state, "(define a 1)")
    size = state.session.paths.log.stat().st_size
    for bad in ("4", "1000"):
        state, out, exit_ = process(state, f":session goto {bad}")
        assert out == f"error: no event {bad} in session 'r' (it has events 0 to 3)"
        assert not exit_
    state, out, _ = process(state, ":session goto -2")
    assert out == "error: SEQ must be 0 or more, got -2"
    state, out, _ = process(state, ":session goto two")
    assert out == "error: SEQ must be a whole number, got 'two'"
    assert state.session.paths.log.stat().st_size == size and state.session.next_seq == 4
    assert state.session.cursor is None
    assert process(state, "a")[1] == "=> 1"
    state.close()


def test_resume_goes_to_the_next_checkpoint(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = ReplState.open(config, "r")
    for code in ["(define a 1)", "(define b 2)", "(define c 3)"]:  # checkpoints 3, 7, 11
        process(state, code)
    state, out, _ = process(state, ":session resume")
    assert out == "error: nothing to resume: use :session goto SEQ first"
    state, out, _ = process(state, ":session goto 1")
    assert out.startswith("Jumped to seq 1 ")
    state, out, _ = process(state, ":session resume")
    assert out.startswith("Jumped to seq 3 ")
    assert state.session.cursor == 3
    assert observe(state.session.machine, ["a", "b"]) == {"a": "1", "b": None}
    state, out, _ = process(state, ":session resume")
    assert out.startswith("Jumped to seq 7 ")
    assert observe(state.session.machine, ["a", "b", "c"]) == {"a": "1", "b": "2", "c": None}
    state.close()


def test_resume_stops_at_the_end_of_the_timeline(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = ReplState.open(config, "r")
    process(state, "(define a 1)")  # checkpoint 3
    process(state, "(define b 2)")  # checkpoint 7
    process(state, ":session goto 2")  # jump record at 8
    state, out, _ = process(state, ":session resume")
    assert out.startswith("Jumped to seq 3 ")
    state, out, _ = process(state, ":session resume")
    assert out.startswith("Jumped to seq 7 ")
    state, out, _ = process(state, ":session resume")
    assert out == "error: no checkpoint after seq 7 in this timeline"
    assert process(state, "b")[1] == "=> 2"
    state.close()


# --- property: random programs ------------------------------------------------------------------


@st.composite
def programs(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """Inputs of ``(define vK expr)`` / ``(set! vJ expr)`` forms (a few failing), with a record flag."""
    defined: list[str] = []

    def expr(depth: int = 0) -> str:
        choices = ["int"] + (["var"] if defined else []) + (["op"] if depth < 2 else [])
        kind = draw(st.sampled_from(choices))
        if kind == "int":
            return str(draw(st.integers(-20, 20)))
        if kind == "var":
            return draw(st.sampled_from(defined))
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({op} {expr(depth + 1)} {expr(depth + 1)})"

    inputs = []
    for _ in range(draw(st.integers(1, 7))):
        forms = []
        for _ in range(draw(st.integers(1, 2))):
            kind = draw(st.sampled_from(["define", "define", "set", "fail"] if defined else ["define"]))
            if kind == "define":
                name = f"v{len(defined)}"
                forms.append(f"(define {name} {expr()})")
                defined.append(name)
            elif kind == "set":
                forms.append(f"(set! {draw(st.sampled_from(defined))} {expr()})")
            else:
                forms.append(f"(set! {draw(st.sampled_from(defined))} (car {expr()}))")  # an error: no change
        inputs.append((" ".join(forms), draw(st.booleans())))
    return inputs


def reference_values(inputs: list[str], last_forms: int, names: list[str]) -> dict[str, str | None]:
    """A bare Evaluator runs every input but the last fully, then ``last_forms`` forms of the last."""
    evaluator = Evaluator(Machine(), LanguageConfig())
    for code in inputs[:-1]:
        list(evaluator.run_text(code))
    if inputs:
        for number, _ in enumerate(evaluator.run_text(inputs[-1])):
            if number + 1 >= last_forms:
                break
    return observe(evaluator.machine, names)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(), data=st.data())
def test_goto_matches_a_fresh_evaluator(program: list[tuple[str, bool]], data: st.DataObject) -> None:
    directory = Path(tempfile.mkdtemp(prefix="omega-goto-"))
    try:
        config = dataclasses.replace(Config(), session_dir=str(directory))
        session = RecordedSession.open(config.sessions_dir, "p", config)
        for code, record_steps in program:
            session.recorder.record_steps = record_steps
            session.execute(code)
        session.recorder.record_steps = True
        events = events_of(session)
        names = sorted({word for code, _ in program for word in code.replace("(", " ").replace(")", " ").split()
                        if word.startswith("v") and word[1:].isdigit()})
        seq = data.draw(st.integers(0, session.next_seq - 1), label="seq")
        number, forms, _ = input_position(events)[seq]
        codes = [code for code, _ in program]
        # an input event itself is the state before that input; inside an input, finished forms count
        expected = reference_values(codes[:number + 1], forms, names) if forms else \
            reference_values(codes[:number], 10**6, names)
        session.goto(seq)
        assert observe(session.machine, names) == expected
        session.close()
        reopened = RecordedSession.open(config.sessions_dir, "p", config)  # the jump is durable
        assert observe(reopened.machine, names) == expected
        reopened.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_fork_at_a_mid_input_seq_ends_at_the_cut(tmp_path: Path) -> None:
    """The fork's own end state is right (the bug below is about goto inside it)."""
    config = make_config(tmp_path)
    state = ReplState.open(config, "A")
    process(state, "(define a 1)")  # 0..3
    process(state, "(define b 2) (define c 3)")  # 4 input, 5 step, 6 result b, 7 step, 8 result c, 9 cp
    process(state, ":session goto 6")
    state, out, _ = process(state, ":session fork B")
    assert out == "Forked 'A' at seq 6 into 'B' (7 events); now in 'B'"
    assert observe(state.session.machine, ["a", "b", "c"]) == {"a": "1", "b": "2", "c": None}
    state.close()


def test_goto_in_a_fork_cut_mid_input(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    state = ReplState.open(config, "A")
    process(state, "(define a 1)")
    process(state, "(define b 2) (define c 3)")
    process(state, ":session goto 6")  # after (define b 2), before (define c 3)
    state, _, _ = process(state, ":session fork B")
    process(state, "(define d 4)")  # 7 input, 8 step, 9 result, 10 checkpoint
    state, out, _ = process(state, ":session goto 9")
    assert out.startswith("Jumped to seq 9 ")
    assert observe(state.session.machine, ["a", "b", "c", "d"]) == {"a": "1", "b": "2", "c": None, "d": "4"}
    state.close()


def test_goto_is_refused_outside_and_state_at_does_not_move(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session, _ = record(config)
    end = session.next_seq
    machine = session.state_at(3)
    assert observe(machine, ["counter", "loop"]) == {"counter": "0", "loop": None}
    assert session.next_seq == end and session.cursor is None  # state_at records nothing
    with pytest.raises(OmegaError, match=f"it has events 0 to {end - 1}"):
        session.goto(end)
    session.close()
