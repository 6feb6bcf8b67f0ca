"""The session catalog's disk work runs in a worker thread, not on the event loop: after a restart
the first ``list_sessions`` summarized every session on disk on the loop (200-400 ms with many
sessions, every other client waiting). A real backend on a temp dir, driven through
``ops.dispatch`` like a connection would; the listings stay right."""

from __future__ import annotations

import dataclasses
import json
import itertools
import socket
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from multiprocess.connection import Connection as MpConnection

from omega_core.config import Config
from omega_core.server import backend as backend_module
from omega_core.server import catalog_scan
from omega_core.server import catalog as catalog_module
from omega_core.server.backend import Backend
from omega_core.server.connection import Connection
from omega_core.server.list_reply import ListReplyEncoder, rows_from_reply
from omega_core.server.ops import dispatch
from omega_core.server.protocol import RawJSON, Request
from omega_core.session.recorded import RecordedSession

SESSIONS = 12


def make_backend(tmp_path: Path) -> Backend:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    return Backend(config, listener=None, key=b"k", supervisor_pid=1)


def make_sessions(config: Config, names: list[str]) -> None:
    for name in names:
        session = RecordedSession.open(config.sessions_dir, name, config)
        session.execute(f"(define who '{name})")
        session.close()


_ids = itertools.count(1)


async def listed(backend: Backend, connection: Connection) -> dict[str, dict[str, Any]]:
    reply = await dispatch(backend, connection, Request(next(_ids), "list_sessions", None, {}))
    assert isinstance(reply, RawJSON)
    return {row["name"]: row for row in rows_from_reply(json.loads(bytes(reply)))}


def test_list_sessions_scans_the_disk_in_a_worker_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "QUICK_SCAN_SESSIONS", 0)  # as with thousands of sessions
    backend = make_backend(tmp_path)  # as after a restart: sessions on disk, an empty catalog
    make_sessions(backend.config, [f"s{number:02d}" for number in range(SESSIONS)])
    scanned: list[str] = []
    real_list, real_summarize = catalog_scan.list_sessions, catalog_scan.summarize_session
    monkeypatch.setattr(catalog_scan, "list_sessions",
                        lambda *a, **k: (scanned.append(threading.current_thread().name), real_list(*a, **k))[1])
    monkeypatch.setattr(catalog_scan, "summarize_session",
                        lambda *a, **k: (scanned.append(threading.current_thread().name), real_summarize(*a, **k))[1])
    encoded: list[str] = []  # where every row of a new listing layout is encoded
    real_rebuild = ListReplyEncoder._rebuild
    monkeypatch.setattr(ListReplyEncoder, "_rebuild",
                        lambda self, *a: (encoded.append(threading.current_thread().name), real_rebuild(self, *a))[1])
    ours, theirs = socket.socketpair()
    connection = Connection(MpConnection(ours.detach()), number=1)
    loop_thread = threading.current_thread().name

    async def main() -> None:
        rows = await listed(backend, connection)
        assert sorted(rows) == [f"s{number:02d}" for number in range(SESSIONS)]
        assert all(row["events"] > 0 for row in rows.values())
        assert len(scanned) == 1  # one full scan, then the catalog is current
        make_sessions(backend.config, ["late-a", "late-b"])  # appear on disk: summarized apart
        rows = await listed(backend, connection)
        assert {"late-a", "late-b"} <= set(rows) and len(rows) == SESSIONS + 2
        assert len(scanned) == 3
        for name in ("late-a", "late-b"):
            for path in backend.config.sessions_dir.glob(f"{name}.*"):
                path.unlink()
        rows = await listed(backend, connection)
        assert len(rows) == SESSIONS and "late-a" not in rows
        # a tool keeps writing sessions: the directory changes between the scan and the reply,
        # and the reply must not scan again on the loop (it shows the new one next time)
        real_refresh = backend.refresh_catalog

        async def refresh_then_a_session_appears() -> None:
            await real_refresh()
            if "racing" not in backend.manager.summaries(refresh=False)[-1].name:
                make_sessions(backend.config, ["zz-racing"])

        backend.refresh_catalog = refresh_then_a_session_appears  # type: ignore[method-assign]
        rows = await listed(backend, connection)
        assert "zz-racing" not in rows
        rows = await listed(backend, connection)
        assert "zz-racing" in rows

    try:
        anyio.run(main)
    finally:
        backend.manager.close_all()
        theirs.close()
    assert scanned and all(name != loop_thread for name in scanned), scanned
    assert len(encoded) >= 4 and all(name != loop_thread for name in encoded), encoded


def test_a_small_catalog_is_refreshed_on_the_loop_and_new_sessions_in_a_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy session rewrites its index and sidecar, which moves the directory's mtime, so every
    listing refreshed the catalog: in a worker thread, a hop that waited for the GIL while a slice
    computed (list_sessions p99 5-15 ms beside a busy session). A small catalog is refreshed on
    the loop (a listdir) when no session is new; the full scan after a restart, and summaries of
    new sessions (a read of their files), still go to a worker."""
    backend = make_backend(tmp_path)
    make_sessions(backend.config, [f"s{number:02d}" for number in range(SESSIONS)])
    jobs: list[Any] = []
    real_run_in_worker = backend_module.run_in_worker

    async def counting_run_in_worker(job: Any, *args: Any) -> Any:
        jobs.append(job)
        return await real_run_in_worker(job, *args)

    monkeypatch.setattr(backend_module, "run_in_worker", counting_run_in_worker)
    ours, theirs = socket.socketpair()
    connection = Connection(MpConnection(ours.detach()), number=1)

    async def main() -> None:
        assert len(await listed(backend, connection)) == SESSIONS
        worker_jobs = len(jobs)
        assert worker_jobs >= 1  # the first scan (an empty catalog) ran in a worker
        sessions_dir = backend.config.sessions_dir
        for rewrite in range(3):  # a busy session rewrites its index: the directory's mtime moves
            before = catalog_scan.directory_mtime(sessions_dir)
            while catalog_scan.directory_mtime(sessions_dir) == before:
                (sessions_dir / f"s00.rewrite{rewrite}.tmp").write_text("x")
                (sessions_dir / f"s00.rewrite{rewrite}.tmp").unlink()
            assert not backend.manager.catalog_current()
            assert len(await listed(backend, connection)) == SESSIONS
            assert backend.manager.catalog_current()
        assert len(jobs) == worker_jobs  # refreshed on the loop
        (sessions_dir / "s01.jsonl").unlink()  # a session gone: on the loop too
        assert "s01" not in await listed(backend, connection)
        assert len(jobs) == worker_jobs
        make_sessions(backend.config, ["late-a"])  # a new one is summarized (a read of its files)
        rows = await listed(backend, connection)
        assert "late-a" in rows and rows["late-a"]["events"] > 0
        assert len(jobs) > worker_jobs  # in a worker

    try:
        anyio.run(main)
    finally:
        backend.manager.close_all()
        theirs.close()
