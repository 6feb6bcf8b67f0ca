"""A command stopped by a budget is undone live, and replay (reopen, goto) undoes it the same way:
the log and the memory stay in step (issue 10, items 4 and 7). Replay stops such a command at its
recorded step count, never re-measures memory (which could differ), and undoes it like live."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from omega_core.config import Config, LanguageConfig, SessionConfig
from omega_core.session.recorded import RecordedSession

SETUP = ("(define h (make-hash)) (hash-set! h 'a 1) (define n 0) (define s \"x\")"
         " (define (grow) (set! s (string-append s s)) (grow))")
CHECK = "(list n (string-length s) (hash-ref h 'a) (hash-count h))"
EXPECTED = "=> (0 1 1 1)"
STOPPED = [
    "(begin (hash-set! h 'a 2) (hash-set! h 'b 3) (set! n 9) (let loop ((i 0)) (set! n i) (loop (+ i 1))))",
    "(begin (set! n 7) (hash-set! h 'a 5) (grow))",
    "(define (sq x) (sq (* x x))) (begin (set! n 3) (sq 2))",
]


def _config(tmp_path: Path) -> Config:
    """Periodic checkpoints every 1,000 steps: the stopped commands have saved states INSIDE them,
    so replay starts in the middle of the command and must still undo all of it."""
    language = LanguageConfig(step_budget=20_000, max_memory_mb=8)
    return dataclasses.replace(Config(), language=language, session=SessionConfig(periodic_checkpoint_steps=1000))


def _check(session: RecordedSession) -> str:
    return session.execute(CHECK)[0].transcript()


@pytest.mark.parametrize("stopped", STOPPED, ids=["steps", "memory", "integer"])
def test_reopen_and_goto_rebuild_the_state_the_stopped_command_left(tmp_path: Path, stopped: str) -> None:
    config = _config(tmp_path)
    session = RecordedSession.open(tmp_path, "s", config)
    session.execute(SETUP)
    results = session.execute(stopped)
    assert results[-1].error_code == "budget_exceeded", results[-1].transcript()
    error_seq = max(event["seq"] for event in session.recent if event["type"] == "error")
    assert _check(session) == EXPECTED
    last = session.next_seq - 1
    session.goto(error_seq)  # from a checkpoint taken inside the stopped command
    assert _check(session) == EXPECTED
    session.close()

    reopened = RecordedSession.open(tmp_path, "s", config)  # from the states
    assert _check(reopened) == EXPECTED
    reopened.goto(last)
    assert _check(reopened) == EXPECTED
    reopened.close()

    for path in tmp_path.iterdir():  # no states, no index: the whole log is replayed
        if path.name != "s.jsonl":
            path.unlink()
    replayed = RecordedSession.open(tmp_path, "s", config)
    assert _check(replayed) == EXPECTED
    replayed.close()
