"""Structurally shared checkpoint states: every stored state restores to exactly the state a replay
of the log from the start computes (after set!, hash-set!, forced promises and redefinitions of
objects written by earlier captures), across a restart, across gotos (branches), and a capture
writes only what is new: bounded as the stack grows, a big value once.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from pathlib import Path
from typing import Any

from omega_core.config import Config, SessionConfig
from omega_core.lang.machine import Machine
from omega_core.lang.serialize import dump_state
from omega_core.session.checkpoint_states import CheckpointStates
from omega_core.session.recorded import RecordedSession
from omega_core.session.replay import Replayer

PROGRAM = [
    "(define h (make-hash))",
    "(define counter 0)",
    "(define shared (list 1 2 3))",
    "(define (bump!) (set! counter (+ counter 1)) counter)",
    "(define (make-acc) (let ((total 0)) (lambda (x) (set! total (+ total x)) total)))",
    "(define acc (make-acc))",
    "(define (work n) (if (= n 0) (acc 0) (begin (hash-set! h (modulo n 7) (list n (bump!) shared))"
    " (acc n) (+ 1 (work (- n 1))))))",
    "(work 120)",
    "(hash-set! h 'shared shared)",
    "(set! shared (cons 0 shared))",
    "(define p (delay (list (bump!) shared)))",
    "(force p)",
    "(define s (cons-stream 1 (begin (bump!) (list 2 3))))",
    "(stream-cdr s)",
    "(work 80)",
    "(define acc2 acc)",
    "(acc2 1000)",
    "(define (make-acc) 'redefined)",
    "(define shared 'gone)",
]


def config(tmp_path: Path, periodic: int = 97) -> Config:
    return dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                               session=SessionConfig(periodic_checkpoint_steps=periodic))


def canonical(machine: Machine) -> str:
    """The whole machine as text, independent of unit ids and of the order globals were defined."""
    view = types.SimpleNamespace(**{name: getattr(machine, name) for name in (
        "node", "env", "value", "k", "choices", "effect_args", "status", "effect_op", "error", "output",
        "steps", "gensym_counter", "unit_counter", "undo")})
    view.globals = dict(sorted(machine.globals.items()))
    data = dump_state(view)  # type: ignore[arg-type]
    text = json.dumps({"root": data["root"], "heap": data["heap"]}, sort_keys=True)
    for unit_id, source in data["units"].items():
        text = text.replace(json.dumps(unit_id), json.dumps(f"unit:{source}"))
    return re.sub(r'"u[0-9a-f]{8}-\d+"', '"prelude-or-unit"', text)


def replayed(session: RecordedSession, seq: int) -> Machine:
    """The machine at ``seq`` computed by replaying the log from event 0 (no stored state used)."""
    saved = session.states
    session.states = CheckpointStates(session.paths.states.with_name("none.states.ndjson"))
    try:
        return Replayer(session).state_at(seq)[0]
    finally:
        session.states = saved


def check_every_state(session: RecordedSession) -> int:
    checked = 0
    for cp in session.checkpoints:
        if not session.states.has(cp["stateId"]):
            continue
        restored = session.states.restore(cp["stateId"])
        assert canonical(restored) == canonical(replayed(session, cp["seq"])), f"state at seq {cp['seq']}"
        checked += 1
    return checked


def test_every_state_equals_the_replayed_one_before_and_after_a_restart(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    session = RecordedSession.open(cfg.sessions_dir, "s", cfg)
    for text in PROGRAM:
        assert all(result.ok for result in session.execute(text)), text
    assert len([cp for cp in session.checkpoints if cp["reason"] == "periodic"]) > 5
    half = check_every_state(session)  # some still pending (not flushed), read from memory
    session.close()
    reopened = RecordedSession.open(cfg.sessions_dir, "s", cfg)
    assert check_every_state(reopened) == half > 20
    reopened.close()


def test_gotos_branch_and_captures_after_them_stay_exact(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    session = RecordedSession.open(cfg.sessions_dir, "g", cfg)
    for text in PROGRAM[:12]:
        session.execute(text)
    middle = [cp["seq"] for cp in session.checkpoints if cp["reason"] == "periodic"][3]
    session.goto(middle + 1)  # mid-command: restore, replay a little, capture from there on
    for text in ["(hash-set! h 'after-goto (list counter shared))", "(work 50)", "(set! counter 1000)"]:
        assert all(result.ok for result in session.execute(text)), text
    session.flush()
    session.goto(session.checkpoints[5]["seq"])
    session.execute("(work 30)")
    check_every_state(session)
    session.close()
    reopened = RecordedSession.open(cfg.sessions_dir, "g", cfg)
    assert canonical(reopened.machine) == canonical(replayed(reopened, reopened.next_seq - 1))
    check_every_state(reopened)
    reopened.close()


def records_per_periodic_capture(tmp_path: Path, depth: int) -> list[int]:
    cfg = config(tmp_path / str(depth), periodic=1000)
    session = RecordedSession.open(cfg.sessions_dir, "deep", cfg)
    session.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    before = len(session.checkpoints)
    assert session.execute(f"(deep {depth})")[0].value == str(depth)
    counts = [session.states.pending[cp["stateId"]]["counts"][0] for cp in session.checkpoints[before:]
              if cp["reason"] == "periodic"]
    session.close()
    return counts


def test_a_capture_costs_what_is_new_not_the_depth_of_the_stack(tmp_path: Path) -> None:
    shallow = records_per_periodic_capture(tmp_path, 2_000)
    deep = records_per_periodic_capture(tmp_path, 20_000)
    assert len(deep) > 5 * len(shallow)
    # 1,000 steps make at most a few hundred frames and environments, whatever the depth already is
    assert max(deep) <= 1000 and max(shallow) <= 1000, (max(shallow), max(deep))
    # the stack of 20,000 frames is written once in all, not once per checkpoint
    assert sum(deep) < 3 * 20_000


def test_a_big_value_is_written_once(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    session = RecordedSession.open(cfg.sessions_dir, "big", cfg)
    session.execute('(define (double s n) (if (= n 0) s (double (string-append s s) (- n 1))))')
    assert session.execute('(define big (double "a" 20))')[0].ok
    session.flush()
    states_before, log_before = session.paths.states.stat().st_size, session.paths.log.stat().st_size
    assert states_before > 1_000_000
    for n in range(60):
        session.execute(f"(define v{n} (list {n} big))")
        session.flush()
    states_growth = session.paths.states.stat().st_size - states_before
    log_growth = session.paths.log.stat().st_size - log_before
    assert states_growth < 2 * log_growth + 60 * 400, (states_growth, log_growth)
    session.close()
    reopened = RecordedSession.open(cfg.sessions_dir, "big", cfg)
    assert reopened.execute("(list (string-length big) (eq? big (cadr v59)))")[0].value == "(1048576 #t)"
    reopened.close()


def test_objects_of_a_returned_stack_are_forgotten(tmp_path: Path) -> None:
    cfg = config(tmp_path, periodic=1000)
    session = RecordedSession.open(cfg.sessions_dir, "prune", cfg)
    session.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    session.execute("(deep 6000)")
    assert len(session.states.encoder.addr) > 6000
    for n in range(15):
        session.execute(f"(deep {1000 + n})")
    assert len(session.states.encoder.addr) < 5000  # live: a few globals; the dead stacks are gone
    session.close()


def test_states_written_before_sharing_still_load(tmp_path: Path, monkeypatch: Any) -> None:
    """Files of the previous format (``omega-delta/2``, full or delta chains) restore, and capture
    goes on in the new format after them."""
    from omega_core.lang.serialize import DeltaEncoder

    old = DeltaEncoder()

    def old_capture(self: CheckpointStates, machine: Machine, state_id: str, seq: int) -> None:
        root, records, units = old.encode(machine, full=True)
        self.pending[state_id] = {"format": "omega-delta/2", "seq": seq, "base": None, "root": root,
                                  "records": records, "units": units}

    cfg = config(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(CheckpointStates, "capture", old_capture)
        session = RecordedSession.open(cfg.sessions_dir, "old", cfg)
        for text in PROGRAM[:9]:
            session.execute(text)
        session.close()
    reopened = RecordedSession.open(cfg.sessions_dir, "old", cfg)
    assert check_every_state(reopened) > 5
    for text in PROGRAM[9:]:
        assert all(result.ok for result in reopened.execute(text)), text
    reopened.close()
    again = RecordedSession.open(cfg.sessions_dir, "old", cfg)
    check_every_state(again)
    again.close()


def test_captures_are_encoded_in_slices_while_the_machine_waits(tmp_path: Path, monkeypatch: Any) -> None:
    """Between slices of a capture the session yields (a server serves others then) and its
    machine does not move; the states so captured are still exact."""
    from omega_core.eval_steps import Pause
    from omega_core.session import recorded

    monkeypatch.setattr(recorded, "CAPTURE_SLICE_S", 0.0)  # one chunk of records per slice
    cfg = config(tmp_path, periodic=3000)
    session = RecordedSession.open(cfg.sessions_dir, "sl", cfg)
    session.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    capturing_pauses = 0
    steps_seen: list[int] = []
    for item in session.execute_steps("(deep 5000)"):
        if isinstance(item, Pause) and session.states.capturing:
            capturing_pauses += 1
            steps_seen.append(session.machine.steps)
    assert capturing_pauses > 10
    assert len(set(steps_seen)) < capturing_pauses / 3  # the machine stood still during capture slices
    for text in PROGRAM:
        assert all(result.ok for result in session.execute(text)), text
    check_every_state(session)
    session.close()


def test_a_fork_keeps_only_the_states_up_to_its_end(tmp_path: Path) -> None:
    """The fork's own later checkpoints reuse seqs the source used after the fork point: states
    of those must not come along (records are addressed by those seqs)."""
    from omega_core.session.copying import copy_session

    cfg = config(tmp_path)
    session = RecordedSession.open(cfg.sessions_dir, "src", cfg)
    for text in PROGRAM[:9]:
        session.execute(text)
    upto = session.next_seq - 1
    for text in PROGRAM[9:]:
        session.execute(text)
    copy_session(session, "fork", upto_seq=upto)
    session.close()
    fork = RecordedSession.open(cfg.sessions_dir, "fork", cfg)
    assert all(int(state_id.split("-")[1]) <= upto for state_id in fork.states.refs)
    for text in ["(set! counter 7)", "(work 40)", "(hash-set! h 'x shared)"]:
        assert all(result.ok for result in fork.execute(text)), text
    fork.close()
    again = RecordedSession.open(cfg.sessions_dir, "fork", cfg)
    assert check_every_state(again) > 5
    again.close()
