"""A session's command figures after a crash: the index keeps them (``SessionMetrics.to_json``)
and is written in the background, so at a kill -9 it may lag the log; reopening counts the inputs
the log has beyond it (``SessionMetrics.catch_up``), so the Metrics pane never shows fewer commands
than ran (it showed 4 after 6: 3 from the lagging index, then 1 new)."""

from __future__ import annotations

from pathlib import Path

from omega_core.config import Config
from omega_core.session.metrics import SessionMetrics
from omega_core.session.recorded import RecordedSession


def make_config(tmp_path: Path) -> Config:
    config = Config(session_dir=str(tmp_path / "sessions"), runtime_dir=str(tmp_path / "run"))
    config.sessions_dir.mkdir(parents=True, exist_ok=True)
    return config


def test_inputs_after_the_last_index_write_are_counted_when_the_session_reopens(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = RecordedSession.open(config.sessions_dir, "m", config)
    session.execute("(define a 1)")
    session.execute("(+ a 1)")
    session.flush(force_index=True)  # the index keeps 2 commands
    session.execute("(car '()) (+ 1 2)")  # one error, two forms
    session.execute("(define (f n) (if (= n 0) 0 (f (- n 1)))) (f 100)")
    before = (session.metrics.commands, session.metrics.errors, session.metrics.steps)
    assert before[0] == 4 and before[1] == 1
    session.release_files()  # as a kill -9: the log has four inputs, the index two
    reopened = RecordedSession.open(config.sessions_dir, "m", config)
    try:
        assert any("index lags the log" in warning for warning in reopened.warnings)
        assert (reopened.metrics.commands, reopened.metrics.errors, reopened.metrics.steps) == before
        assert len(reopened.metrics.latencies_ms) == 4 and list(reopened.metrics.steps_window) == \
            list(session.metrics.steps_window)
    finally:
        reopened.close()


def test_with_the_index_gone_the_figures_are_counted_from_the_whole_log(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = RecordedSession.open(config.sessions_dir, "m", config)
    session.execute("(define a 1)")
    session.execute("(car '())")
    session.flush(force_index=True)
    session.release_files()
    session.paths.index.unlink()
    reopened = RecordedSession.open(config.sessions_dir, "m", config)
    try:
        assert (reopened.metrics.commands, reopened.metrics.errors) == (2, 1)
    finally:
        reopened.close()


def test_catch_up_reads_inputs_results_and_errors_in_order() -> None:
    metrics = SessionMetrics()
    counted = metrics.catch_up([
        {"seq": 0, "ts": 1000, "type": "input"},
        {"seq": 1, "ts": 1001, "type": "step"},
        {"seq": 2, "ts": 1004, "type": "result", "steps": 3},
        {"seq": 3, "ts": 1005, "type": "checkpoint"},
        {"seq": 4, "ts": 2000, "type": "input"},
        {"seq": 5, "ts": 2010, "type": "error", "steps": 2},
        {"seq": 6, "ts": 2030, "type": "result", "steps": True},  # not a count: ignored
    ])
    assert counted == 2
    assert (metrics.commands, metrics.errors, metrics.steps) == (2, 1, 5)
    assert list(metrics.latencies_ms) == [4.0, 30.0] and list(metrics.steps_window) == [3, 2]
