"""An idle session's lagging index is written by the flush loop, off the loop
(``persistence.IDLE_INDEX_S``), so evicting or closing it later finds it up to date and does not
rewrite it on the loop."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import anyio

from omega_core.config import Config
from omega_core.server.manager import SessionManager
from omega_core.server.persistence import IDLE_INDEX_S, PersistenceManager


def index_count(path: Path) -> int:
    return int(json.loads(path.read_bytes())["eventCount"])


def test_the_index_of_an_idle_session_is_brought_up_to_date(tmp_path: Path) -> None:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path))
    manager = SessionManager(config)
    persistence = PersistenceManager(config, manager)
    try:
        instance = manager.get("idle")
        session = instance.session
        for start in range(0, 400, 40):
            session.execute(" ".join(f"(define v{n} {n})" for n in range(start, start + 40)))
        session.flush(force_index=True)
        written = index_count(session.paths.index)
        session.execute("(define one-more 1)")  # far under the 5% growth that makes it due
        anyio.run(persistence.flush_round)
        assert index_count(session.paths.index) == written  # in use: the throttle holds
        instance.last_access = time.time() - IDLE_INDEX_S
        anyio.run(persistence.flush_round)
        assert index_count(session.paths.index) == session.next_seq
        assert session.index_job(force=True) is None  # closing it would write nothing more
    finally:
        manager.close_all()
