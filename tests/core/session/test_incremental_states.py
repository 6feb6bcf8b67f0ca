"""Incremental state capture: every checkpoint restores to exactly the state a straight run had.

Captures encode only what the write barriers report as changed, so these tests mutate state in every
way the language allows (set! of locals captured by closures, of globals, hash-set!, forcing
promises, redefinition, a debugger run on the shared globals) and check each restore.
"""

from __future__ import annotations

from pathlib import Path

from omega_core.config import Config
from omega_core.evaluator import Evaluator
from omega_core.lang.printer import write_string
from omega_core.session import checkpoint_restore
from omega_core.session.recorded import RecordedSession

PROGRAM = [
    "(define (make-counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n)))",
    "(define c (make-counter))",
    "(c)",
    "(c)",
    "(define h (make-hash))",
    "(hash-set! h 'a 1)",
    "(hash-set! h 'b (list 1 2 3))",
    "(define p (delay (begin (c) (* 10 (c)))))",
    "(force p)",
    "(define big (let loop ((i 0) (acc '())) (if (= i 300) acc (loop (+ i 1) (cons i acc)))))",
    "(set! big (cdr big))",
    "(hash-set! h 'a (c))",
    "(define c2 c)",
    "(c2)",
    "(define (make-counter) 'redefined)",
    "(list (c) (hash-ref h 'a) (hash-ref h 'b) (force p) (length big))",
]
PROBES = "(list (c2) (hash-keys h) (hash-ref h 'a) (hash-ref h 'b) (force p) (length big) (make-counter))"


def observe(evaluator: Evaluator) -> str:
    """Everything visible: each user global printed, and a probe that mutates (so sharing shows)."""
    names = sorted(n for n in ("c", "c2", "h", "p", "big") if n in evaluator.machine.globals)
    values = [f"{name}={write_string(evaluator.machine.globals[name])[:80]}" for name in names]
    probe = [result.transcript() for result in evaluator.run_text(PROBES)]
    return " ".join(values) + " | " + " ".join(probe)


def reference_states() -> list[str]:
    """The observation after each input of a straight, unrecorded run."""
    seen = []
    for count in range(1, len(PROGRAM) + 1):
        evaluator = Evaluator()
        for text in PROGRAM[:count]:
            list(evaluator.run_text(text))
        seen.append(observe(evaluator))
    return seen


def test_every_checkpoint_restores_exactly(tmp_path: Path) -> None:
    session = RecordedSession.open(tmp_path, "inc", Config())
    manual = []
    for text in PROGRAM:
        session.execute(text)
        manual.append(session.checkpoints[-1]["stateId"])
    session.flush(force_index=True)
    expected = reference_states()
    for position, state_id in enumerate(manual):
        machine = session.states.restore(state_id)
        assert observe(Evaluator(machine)) == expected[position], f"after input {position}: {PROGRAM[position]}"
    session.close()


def test_restores_after_reopen_and_short_chains(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(checkpoint_restore, "MAX_CHAIN", 3)  # a short limit for chains read back
    session = RecordedSession.open(tmp_path, "inc", Config())
    for text in PROGRAM:
        session.execute(text)
    session.close()
    reopened = RecordedSession.open(tmp_path, "inc", Config())
    expected = reference_states()
    manual = [cp for cp in reopened.checkpoints if cp["reason"] == "manual"]
    assert len(manual) == len(PROGRAM)
    for position, cp in enumerate(manual):
        machine = reopened.states.restore(cp["stateId"])
        assert observe(Evaluator(machine)) == expected[position]
    assert observe(reopened.evaluator) == expected[-1]
    reopened.close()


def test_incremental_captures_are_small(tmp_path: Path) -> None:
    session = RecordedSession.open(tmp_path, "inc", Config())
    session.execute("(define big (let loop ((i 0) (acc '())) (if (= i 5000) acc (loop (+ i 1) (cons i acc)))))")
    first = session.states.pending[session.checkpoints[-1]["stateId"]]
    session.execute("(define small 1)")
    second = session.states.pending[session.checkpoints[-1]["stateId"]]
    assert first["counts"][0] >= 5000
    assert second["counts"][0] < 10 and list(second["root"]["globals"]) == ["small"]
    session.close()


def test_debugger_changes_reach_the_session_capture(tmp_path: Path) -> None:
    from omega_core.repl.processor import process
    from omega_core.repl.state import ReplState

    session = RecordedSession.open(tmp_path, "dbg", Config())
    state = ReplState(config=Config(), session=session, effects=session.effects)
    for line in ["(define x 1)", ":debug (define y (+ x 41))", ":run", ":stop", "(define z 3)"]:
        state, _, _ = process(state, line)
    machine = session.states.restore(session.checkpoints[-1]["stateId"])
    assert write_string(machine.globals["y"]) == "42"
    session.close()
