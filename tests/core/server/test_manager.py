"""SessionManager in-process: what unloading a session leaves behind."""

from __future__ import annotations

import dataclasses
import gc
import time
import weakref
from pathlib import Path

from omega_core.config import Config
from omega_core.lang.release import releases_running
from omega_core.lang.values import Pair
from omega_core.server.manager import SessionManager


def _wait_for_releases() -> None:
    deadline = time.monotonic() + 30
    while releases_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not releases_running()


def _pairs_alive() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Pair)


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
        _wait_for_releases()
        assert gone() is None and machine() is None
    finally:
        gc.enable()
    manager.close_all()


def test_an_unloaded_sessions_values_are_freed_by_the_release_thread_not_by_the_unloading_one(tmp_path: Path) -> None:
    """Unloading frees a session's values in pieces in the release thread: its capture table
    (each captured pair has an entry), then its globals one by one, then the rest. Dropped with
    the session on the loop, four million pairs took 0.76 s in one call. No collector here:
    the release frees everything."""
    manager = make_manager(tmp_path)
    gc.collect()
    baseline = _pairs_alive()
    gc.disable()
    try:
        instance = manager.get("big")
        instance.session.execute("(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))")
        instance.session.execute("(define xs (build 50000 '()))")
        instance.session.execute("(define ys (list xs xs))")
        assert len(instance.session.states.encoder.addr) > 50_000  # captured: the table holds every pair
        del instance
        assert manager.unload("big")
        assert _pairs_alive() - baseline >= 50_000  # not freed by the unloading thread
        _wait_for_releases()
        assert _pairs_alive() - baseline < 100
    finally:
        gc.enable()
    manager.close_all()
