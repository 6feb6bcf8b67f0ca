"""A long ``:session trace`` (more events than the session keeps in memory) prints every event as
the short one does, and shows events appended since an earlier trace (session/trace_cache.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from omega_core.config import load_config
from omega_core.repl.processor import process
from omega_core.repl.session_commands import trace_line
from omega_core.repl.state import ReplState
from omega_core.session import recorded
from omega_core.session.log_reader import SessionLogReader

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")


def test_a_long_trace_is_complete_and_follows_the_log(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(recorded, "RECENT_EVENTS", 4)  # so that 16 events are a "long" trace
    env = {"OMEGA_SESSION_DIR": str(tmp_path / "sd"), "OMEGA_RUNTIME_DIR": str(tmp_path / "run"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_config(environ=env, cwd=tmp_path)
    config.sessions_dir.mkdir(parents=True)
    for suffix in (".jsonl", ".index.json"):
        shutil.copyfile(FIXTURES / f"squares{suffix}", config.sessions_dir / f"squares{suffix}")
    state = ReplState.open(config, "squares")
    try:
        assert len(state.session.recent) == 4
        lines = process(state, ":session trace 1000")[1].splitlines()
        assert len(lines) == 16
        assert lines[0] == "  [000] input      (define (square x) (* x x))"
        assert lines[-1] == "  [015] checkpoint manual (state-15)"
        state, output, _ = process(state, "(square 7)")
        assert output == "=> 49"
        lines = process(state, ":session trace 1000")[1].splitlines()
        with SessionLogReader(state.session.paths.log) as reader:
            expected = [trace_line(event) for _, event in reader.tail(1000)]
        assert lines == expected and len(lines) > 16
        assert process(state, ":session trace 5")[1].splitlines() == expected[-5:]
    finally:
        state.close()
