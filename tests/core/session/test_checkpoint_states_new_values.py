"""A periodic capture counts the new VALUES it would write, not only new frames
(``CheckpointStates.propose_capture``, ``capture_walk.walk_new_objects``).

A command that builds a long list runs in a shallow stack, so counting frames alone took every
periodic capture, each writing one record per new pair (about 10 us each): the batch run of
map/filter/fold over a 100k list spent more time capturing than evaluating. Now such a capture is
skipped when its new records pass the command's allowance; the checkpoint event stays in the log
and a ``goto`` to it replays from an earlier state to exactly the recorded step.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from omega_core.config import Config, SessionConfig
from omega_core.evaluator import Evaluator
from omega_core.lang.capture_walk import new_object_roots, walk_new_objects
from omega_core.lang.machine import Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_one
from omega_core.lang.serialize_shared import SharedEncoder
from omega_core.lang.values import Pair
from omega_core.session.recorded import CAPTURE_ALWAYS_FRAMES, RecordedSession

GROW = ("(define acc '())\n"
        "(define (grow n) (if (= n 0) (length acc) (begin (set! acc (cons n acc)) (grow (- n 1)))))")
PERIOD = 60_000


def open_session(tmp_path: Path) -> RecordedSession:
    cfg = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                              session=SessionConfig(periodic_checkpoint_steps=PERIOD))
    return RecordedSession.open(cfg.sessions_dir, "values", cfg)


def acc_after(form_steps: int) -> str:
    """``acc`` after ``(grow 40000)`` ran exactly ``form_steps`` steps, in a fresh machine."""
    evaluator = Evaluator()
    list(evaluator.run_text(GROW))
    machine = evaluator.machine
    datum = read_one("(grow 40000)")
    machine.start(machine.compile(datum).root)
    end = machine.steps + form_steps
    while machine.steps < end and machine.run(min(1000, end - machine.steps)) is Status.RUNNING:
        pass
    assert machine.steps == end
    return write_string(machine.globals["acc"])


def test_captures_of_a_list_growing_faster_than_the_allowance_are_skipped(tmp_path: Path) -> None:
    session = open_session(tmp_path)
    session.execute(GROW)
    before = len(session.checkpoints)
    records_before = session.states.records_total
    assert session.execute("(grow 40000)")[0].value == "40000"
    periodic = [cp for cp in session.checkpoints[before:] if cp["reason"] == "periodic"]
    assert len(periodic) >= 3
    assert not [cp for cp in periodic if session.states.has(cp["stateId"])]
    assert session.states.records_total - records_before >= 40_000  # the final state has the list
    target = periodic[1]
    session.goto(target["seq"])  # no state there: replays from the state before the command
    pairs = session.machine.globals["acc"]
    assert type(pairs) is Pair  # mid-command: part of the list is built
    form_steps = session.recorder.form_steps(session.machine)
    assert form_steps == 2 * PERIOD  # the second periodic checkpoint of the command
    assert write_string(pairs) == acc_after(form_steps)
    session.close()


def test_walk_counts_pairs_and_frames_but_not_what_is_written() -> None:
    evaluator = Evaluator()
    encoder = SharedEncoder()
    encoder.capture(evaluator.machine, 1)
    list(evaluator.run_text("(define xs (list 1 2 3 4 5))"))
    work = new_object_roots(encoder, evaluator.machine)
    assert walk_new_objects(encoder, work, set(), 100) == (5, True)  # five pairs, nothing else new
    encoder.capture(evaluator.machine, 2)
    list(evaluator.run_text("(define ys (cons 0 xs))"))
    work = new_object_roots(encoder, evaluator.machine)
    assert walk_new_objects(encoder, work, set(), 100) == (1, True)  # only the new pair
    big = new_object_roots(encoder, evaluator.machine) + [Pair(i, None) for i in range(CAPTURE_ALWAYS_FRAMES)]
    counted, finished = walk_new_objects(encoder, big, set(), 10)
    assert (counted, finished) == (10, False)  # stops at the bound: the walk costs what it counts


def test_one_walk_call_visits_a_bounded_number_of_items_and_the_total_is_unchanged() -> None:
    """A deep stack's frames are counted, their fields (numbers, None) only visited: one call that
    may count 4,096 frames visited ten times as many items and held the server's loop 10-35 ms.
    A call now stops after ``VISITS_PER_COUNTED * count`` items; the calls add up to the same."""
    from omega_core.lang.capture_walk import VISITS_PER_COUNTED

    encoder = SharedEncoder()
    work: list[object] = [Pair(1, None), Pair(2, None)] + [None] * 10_000  # visited from the end
    assert walk_new_objects(encoder, work, set(), 10) == (0, False)
    assert len(work) == 10_002 - VISITS_PER_COUNTED * 10
    total, finished, calls = 0, False, 1
    seen: set[int] = set()
    while not finished:
        counted, finished = walk_new_objects(encoder, work, seen, 10)
        total, calls = total + counted, calls + 1
    assert total == 2 and calls > 100


def test_a_declined_proposal_is_walked_again_only_once_its_allowance_doubled(tmp_path: Path) -> None:
    from omega_core.session.checkpoint_states import CheckpointStates

    evaluator = Evaluator()
    list(evaluator.run_text("(define (upto n acc) (if (= n 0) acc (upto (- n 1) (cons n acc))))\n(define xs (upto 5000 (quote ())))"))
    states = CheckpointStates(tmp_path / "s.states.ndjson")
    states.command_started()
    states.propose_capture(evaluator.machine, "state-1", 1, 1000)
    states.complete()
    assert not states.has("state-1")  # 5,000 new pairs > 1,000: declined
    states.propose_capture(evaluator.machine, "state-2", 2, 1999)
    assert not states.capturing  # not walked again: declined at once
    states.propose_capture(evaluator.machine, "state-3", 3, 2000)
    assert states.capturing  # doubled: walked (and declined again)
    states.complete()
    states.command_started()
    states.propose_capture(evaluator.machine, "state-4", 4, 6000)
    states.complete()
    assert states.has("state-4")  # a new command: walked, and 5,000 <= 6,000
