"""SessionManager in-process: what unloading a session leaves behind."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from pathlib import Path

from omega_core.config import Config
from omega_core.server.manager import SessionManager


def make_manager(tmp_path: Path) -> SessionManager:
    return SessionManager(dataclasses.replace(Config(), session_dir=str(tmp_path / "sd")))


def test_an_unloaded_session_is_freed_at_once_not_by_a_later_garbage_collection(tmp_path: Path) -> None:
    """A session held in a reference cycle would stay in memory until a full collection: with
    thousands of sessions loaded and evicted, that made the backend's resident size creep up."""
    manager = make_manager(tmp_path)
    gc.collect()
    gc.disable()
    try:
        instance = manager.get("cyc")
        instance.session.execute("(define (f x) (* x 2)) (define items (list 1 2 3)) (f 4)")
        gone = weakref.ref(instance.session)
        machine = weakref.ref(instance.session.machine)
        assert manager.unload("cyc")
        del instance
        assert gone() is None and machine() is None
    finally:
        gc.enable()
    manager.close_all()
