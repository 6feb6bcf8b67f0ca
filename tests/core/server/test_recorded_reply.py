"""Exactly-once across a backend restart: a retried request whose input reached the log before the
crash is answered from the log, also by a backend that has just reopened the session."""

from __future__ import annotations

from pathlib import Path

from omega_core.config import Config
from omega_core.eval_steps import drive
from omega_core.server.ops import recorded_reply
from omega_core.session.recorded import RecordedSession


def run_with_id(session: RecordedSession, code: str, request_id: str) -> None:
    list(drive(session.execute_steps(code, request_id=request_id), session.effects.perform))


def test_a_logged_request_is_found_after_the_session_is_reopened(tmp_path: Path) -> None:
    session = RecordedSession.open(tmp_path, "s", Config())
    run_with_id(session, "(define n 1)", "client:1")
    run_with_id(session, "(+ n 2) (display \"x\")", "client:2")
    session.close()
    reopened = RecordedSession.open(tmp_path, "s", Config())  # what a restarted backend does
    reply = recorded_reply(reopened, "client:2")
    assert reply is not None and reply["replayed_from_log"] is True
    assert reply["output"] == "=> 3\nx\n=> null"
    assert [result["value"] for result in reply["results"]] == ["3", "null"]
    assert recorded_reply(reopened, "client:9") is None
    reopened.close()
