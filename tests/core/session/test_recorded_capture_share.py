"""Periodic captures of a deep recursion are skipped when their new frames would cost more than a
share of the command's own work (``RecordedSession._periodic_capture_allowance``): the checkpoint
events are still logged, a ``goto`` to one replays from an earlier state, and captures of ordinary
(shallow) work are still taken."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from omega_core.config import Config, SessionConfig
from omega_core.session.recorded import CAPTURE_ALWAYS_FRAMES, RecordedSession

DEEP = "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))"
LOOP = "(define (loop n acc) (if (= n 0) (length acc) (loop (- n 1) (cons n acc))))"


def open_session(tmp_path: Path, periodic: int) -> RecordedSession:
    cfg = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                              session=SessionConfig(periodic_checkpoint_steps=periodic))
    return RecordedSession.open(cfg.sessions_dir, "share", cfg)


def periodic_since(session: RecordedSession, before: int) -> list[dict]:
    return [cp for cp in session.checkpoints[before:] if cp["reason"] == "periodic"]


def test_a_deep_recursion_skips_captures_of_its_growing_stack(tmp_path: Path) -> None:
    periodic = 3 * CAPTURE_ALWAYS_FRAMES * 2  # each period pushes about twice the always-taken frames
    session = open_session(tmp_path, periodic)
    session.execute(DEEP)
    before = len(session.checkpoints)
    records_before = session.states.records_total
    assert session.execute("(deep 30000)")[0].value == "30000"
    checkpoints = periodic_since(session, before)
    assert len(checkpoints) >= 4
    assert not [cp for cp in checkpoints if session.states.has(cp["stateId"])]
    assert session.states.records_total - records_before < 1000  # the final state, not the stack
    middle = checkpoints[len(checkpoints) // 2]["seq"]
    session.goto(middle)  # replays from the state before the command
    assert session.execute("(+ 1 2)")[0].value == "3"
    session.close()
    reopened = RecordedSession.open(session.paths.log.parent, "share", session.config)
    assert reopened.execute("(deep 10)")[0].value == "10"
    reopened.close()


def test_shallow_work_is_still_captured_at_every_periodic_checkpoint(tmp_path: Path) -> None:
    session = open_session(tmp_path, 5000)
    session.execute(LOOP)
    before = len(session.checkpoints)
    assert session.execute("(loop 20000 '())")[0].value == "20000"
    checkpoints = periodic_since(session, before)
    assert len(checkpoints) >= 4
    assert all(session.states.has(cp["stateId"]) for cp in checkpoints)
    session.close()


def test_a_modest_stack_is_captured(tmp_path: Path) -> None:
    session = open_session(tmp_path, 3000)  # about 1,000 new frames per period: always taken
    session.execute(DEEP)
    before = len(session.checkpoints)
    assert session.execute("(deep 6000)")[0].value == "6000"
    checkpoints = periodic_since(session, before)
    assert checkpoints and all(session.states.has(cp["stateId"]) for cp in checkpoints)
    session.close()


def test_a_stopped_command_leaves_nothing_of_its_stack_in_the_encoder(tmp_path: Path) -> None:
    from omega_core.config import LanguageConfig

    cfg = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                              session=SessionConfig(periodic_checkpoint_steps=3000),
                              language=LanguageConfig(step_budget=60_000))
    session = RecordedSession.open(cfg.sessions_dir, "stopped", cfg)
    session.execute("(define (down n) (+ 1 (down (+ n 1))))")
    (result,) = session.execute("(down 0)")
    assert result.error_code == "budget_exceeded"
    assert len(session.states.encoder.addr) < 1000  # the captured frames (about 20,000) are gone
    assert session.execute("(+ 40 2)")[0].value == "42"
    session.close()


def test_the_state_before_an_oracle_call_is_encoded_in_slices_before_the_call(tmp_path: Path, monkeypatch: Any) -> None:
    """At depth, the LLM-boundary capture is encoded a slice at a time (the session yields between
    slices, a server serves others) and is complete before the call goes out."""
    from omega_core.config import OracleConfig
    from omega_core.eval_steps import EffectCall, Pause
    from omega_core.session import recorded

    monkeypatch.setattr(recorded, "CAPTURE_SLICE_S", 0.0)  # one chunk of records per slice
    script = tmp_path / "script.toml"
    script.write_text('[[answer]]\nmatch = "short"\nanswer = "brief"\n', encoding="utf-8")
    cfg = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"), oracle=OracleConfig(script=str(script)))
    session = RecordedSession.open(cfg.sessions_dir, "ask", cfg)
    session.execute('(define (ask n) (if (= n 0) (effect infer.op "short") (string-append "" (ask (- n 1)))))')
    steps = session.execute_steps("(ask 3000)")
    capturing_pauses = 0
    to_send: Any = None
    values = []
    for _ in range(10**6):
        try:
            item = steps.send(to_send)
        except StopIteration:
            break
        to_send = None
        if isinstance(item, Pause) and session.states.capturing:
            capturing_pauses += 1
        elif isinstance(item, EffectCall):
            assert not session.states.capturing  # the boundary state is whole before the call
            to_send = session.effects.perform(item.op, item.args)
        elif not isinstance(item, Pause):
            values.append(item.value)
    assert values == ['"brief"'] and capturing_pauses > 5
    boundary = [cp for cp in session.checkpoints if cp["reason"] == "llm_boundary"]
    assert boundary and all(session.states.has(cp["stateId"]) for cp in boundary)
    session.close()
