"""Failures stay in their session (issue 10, item 1): a failure injected at each background step
(states flush, index write, fsync, push, eviction flush) marks that session degraded with the
cause, in ``list_sessions``, ``:session list``, ``status`` and ``metrics``; the backend's loops go
on, the session keeps running commands and keeps its log, and a later success clears the mark.

Failures are injected by patching the in-process backend's session objects (a real backend on a
temp dir, driven through ``ops.dispatch`` like a connection would).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
from pathlib import Path
from typing import Any, Callable

import anyio
import pytest
from multiprocess.connection import Connection as MpConnection

from omega_core.config import Config
from omega_core.server.backend import Backend
from omega_core.server.connection import Connection
from omega_core.server.list_reply import rows_from_reply
from omega_core.server.ops import dispatch
from omega_core.server.protocol import Request
from tests.core.server.live_server import log_events


def make_backend(tmp_path: Path, **server: Any) -> Backend:
    config = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"))
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, save_interval_ms=10, **server))
    return Backend(config, listener=None, key=b"k", supervisor_pid=1)


def make_connection(number: int = 1) -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    return Connection(MpConnection(ours.detach()), number=number), theirs


_ids = itertools.count(1)


async def call(backend: Backend, connection: Connection, op: str, session: str | None = None, **args: Any) -> Any:
    return await dispatch(backend, connection, Request(next(_ids), op, session, args))


def degraded_everywhere(backend: Backend, name: str) -> str:
    """The cause shown for ``name`` by every view; they must agree."""
    cause = backend.status()["degraded"].get(name)
    assert cause, backend.status()["degraded"]
    assert backend.server_metrics()["degraded"] == {name: cause}
    rows = {row["name"]: row for row in rows_from_reply(json.loads(backend.manager.list_json()))}
    assert rows[name]["degraded"] == cause
    assert all("degraded" not in row for other, row in rows.items() if other != name)
    listed = {row["name"]: row for row in backend.manager.list()}
    assert listed[name]["degraded"] == cause
    return cause


def healthy(backend: Backend) -> bool:
    rows = rows_from_reply(json.loads(backend.manager.list_json()))
    return not backend.status()["degraded"] and all("degraded" not in row for row in rows)


def boom(*args: Any, **kwargs: Any) -> None:
    raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")


def run(backend: Backend, main: Callable[[], Any]) -> None:
    try:
        anyio.run(main)
    finally:
        backend.manager.close_all()


def test_a_failing_states_flush_degrades_only_its_session_and_the_flush_loop_goes_on(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    connection, _peer = make_connection()

    async def main() -> None:
        await call(backend, connection, "execute", "bad", line="(define x 1)")
        await call(backend, connection, "execute", "good", line="(define y 2)")
        bad = backend.manager.pool["bad"].session
        original = bad.flush_states_job
        bad.flush_states_job = lambda: boom  # type: ignore[method-assign]  # the write fails (in its worker thread)
        bad.dirty = True
        async with anyio.create_task_group() as group:
            group.start_soon(backend.persistence.run_flush_loop)
            with anyio.fail_after(10):
                while not backend.status()["degraded"]:
                    await anyio.sleep(0.01)
            cause = degraded_everywhere(backend, "bad")
            assert cause.startswith("flush failed: ValueError") and "4300" in cause
            # it keeps running commands, its log keeps every acknowledged event
            reply = await call(backend, connection, "execute", "bad", line="(+ x 41)")
            assert reply["results"][0]["value"] == "42"
            text = (await call(backend, connection, "execute", "bad", line=":session list"))["output"]
            assert f"  bad (" in text and f"[degraded: {cause}]" in text
            assert "good (" in text and text.count("[degraded") == 1
            bad.flush_states_job = original  # type: ignore[method-assign]
            with anyio.fail_after(10):
                while not healthy(backend):
                    await anyio.sleep(0.01)
            group.cancel_scope.cancel()
        inputs = [event["code"] for event in log_events(bad.paths.log) if event.get("type") == "input"]
        assert inputs == ["(define x 1)", "(+ x 41)"]

    run(backend, main)


def test_a_failing_index_write_degrades_its_session_until_an_index_is_written(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    connection, _peer = make_connection()

    async def main() -> None:
        await call(backend, connection, "execute", "idx", line="(define x 1)")
        session = backend.manager.pool["idx"].session

        def failing_job(force: bool = False) -> Callable[[], None]:
            def write() -> None:
                raise OSError(28, "No space left on device")
            return write

        original = session.index_job
        session.index_job = failing_job  # type: ignore[method-assign]
        await backend.persistence.flush_round()
        cause = degraded_everywhere(backend, "idx")
        assert cause.startswith("index failed: OSError") and "No space left" in cause
        session.index_job = lambda force=False: original(force=True)  # type: ignore[method-assign]
        await backend.persistence.flush_round()
        assert healthy(backend)

    run(backend, main)


def test_a_failing_fsync_degrades_its_session(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    connection, _peer = make_connection()

    async def main() -> None:
        await call(backend, connection, "execute", "fs", line="(define x 1)")
        writer = backend.manager.pool["fs"].session._writer
        assert writer is not None and writer.needs_fsync
        original = writer.fsync
        writer.fsync = lambda: (_ for _ in ()).throw(OSError(5, "Input/output error"))  # type: ignore[method-assign]
        await backend.persistence.fsync_round()
        assert degraded_everywhere(backend, "fs").startswith("fsync failed: OSError")
        writer.fsync = original  # type: ignore[method-assign]
        await backend.persistence.fsync_round()
        assert healthy(backend)

    run(backend, main)


def test_a_failing_push_degrades_the_session_but_the_command_succeeds(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    writer, _peer = make_connection(1)
    follower, _follower_peer = make_connection(2)
    backend.connections = {1: writer, 2: follower}

    async def main() -> None:
        await call(backend, follower, "execute", "pushed", line="(define x 1)")
        await call(backend, follower, "subscribe", "pushed")
        await call(backend, follower, "release", "pushed")
        follower.send = boom  # type: ignore[method-assign]
        reply = await call(backend, writer, "execute", "pushed", line="(+ x 1)")
        assert reply["results"][0]["value"] == "2"
        assert degraded_everywhere(backend, "pushed").startswith("push failed: ValueError")
        del follower.send  # the instance attribute goes: the real method again
        await call(backend, writer, "execute", "pushed", line="(+ x 2)")
        assert healthy(backend)

    run(backend, main)


def test_a_failing_flush_at_eviction_degrades_the_session_and_still_closes_its_log(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, max_cached_sessions=1)
    connection, _peer = make_connection()

    async def main() -> None:
        await call(backend, connection, "execute", "first", line="(define x 1)")
        first = backend.manager.pool["first"].session
        first.flush = boom  # type: ignore[method-assign]
        await call(backend, connection, "execute", "second", line="(define y 1)")  # evicts first
        assert "first" not in backend.manager.pool
        assert degraded_everywhere(backend, "first").startswith("evict failed: ValueError")
        # the log was closed (its lock released): the session opens again with its work
        reply = await call(backend, connection, "execute", "first", line="(+ x 1)")
        assert reply["results"][0]["value"] == "2"
        await call(backend, connection, "execute", "second", line="(+ y 1)")  # evicts first again, fine now
        assert healthy(backend)

    run(backend, main)


def test_a_request_whose_handling_fails_unexpectedly_still_gets_exactly_one_reply(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.server import backend as backend_module

    backend = make_backend(tmp_path)
    connection, peer = make_connection()

    def failing_decode(*args: Any) -> Any:  # anything unexpected, before any reply went out
        raise MemoryError()

    async def main() -> None:
        monkeypatch.setattr(backend_module.proto, "decode_request", failing_decode)
        await backend.handle(connection, b'{"v":1,"id":"r9","op":"ping","session":null,"args":{}}')

    run(backend, main)
    peer.settimeout(5)
    reader = MpConnection(peer.detach())
    reply = json.loads(reader.recv_bytes())
    assert reply["id"] == "r9" and reply["error"]["code"] == "internal" and "MemoryError" in reply["error"]["message"]
    assert not reader.poll(0.2)
