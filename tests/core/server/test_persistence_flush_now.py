"""``PersistenceManager.flush_now``: a session's pending states and its index written in worker
threads, so that closing it (the ``close`` request a client sends to unload it) has nothing left to
write on the loop (21 unflushed states of a four-million-pair session took 150 ms there)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import anyio
import pytest

from omega_core.config import Config
from omega_core.server.manager import SessionManager
from omega_core.server.persistence import PersistenceManager
from omega_core.session import states as states_module


def test_flush_now_writes_states_and_index_off_the_calling_thread(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    manager = SessionManager(config)
    persistence = PersistenceManager(config, manager)
    written_in: list[str] = []
    real_append = states_module.StateStore.append_pieces

    def append_pieces(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        written_in.append(threading.current_thread().name)
        return real_append(self, *args, **kwargs)

    monkeypatch.setattr(states_module.StateStore, "append_pieces", append_pieces)
    session = manager.get("flushed").session
    for number in range(5):
        session.execute(f"(define v{number} (list {number} {number}))")
    assert session.states.pending and not session.paths.index.exists()
    anyio.run(persistence.flush_now, session)
    assert not session.states.pending and session.paths.index.exists()
    assert written_in and threading.current_thread().name not in written_in
    written_in.clear()
    manager.unload("flushed", sync_in_background=False)
    assert written_in == []  # the close found nothing to write
    manager.close_all()
