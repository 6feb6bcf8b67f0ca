"""Loaded sessions that sit idle give their file descriptors back (issue 10, item 8): the pool
counts descriptors, not only sessions and memory, so a server under a low ``ulimit -n`` serves
more sessions than it has descriptors for, one after another, and each keeps its work."""

from __future__ import annotations

import resource
import subprocess
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from tests.core.server.live_server import LiveServer, servers

DESCRIPTOR_LIMIT = 64
SESSIONS = 100


@pytest.fixture
def make_server(tmp_path: Any) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def start_with_descriptor_limit(server: LiveServer, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Start ``server`` with soft and hard RLIMIT_NOFILE at ``limit`` (its subprocesses inherit it)."""
    real_popen = subprocess.Popen

    def limited_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        return real_popen(*args, **kwargs, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))

    monkeypatch.setattr(subprocess, "Popen", limited_popen)
    try:
        server.start()
    finally:
        monkeypatch.undo()


def test_more_sessions_than_descriptors_are_created_and_used_one_after_another(
        make_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_server(start=False, server={"max_cached_sessions": 1000})
    start_with_descriptor_limit(server, monkeypatch, DESCRIPTOR_LIMIT)
    backend = server.backend_pid()
    with server.client(name="many") as client:
        for number in range(SESSIONS):
            reply = client.execute(f"(define x {number}) (* x 2)", f"s{number}")
            assert reply.output.endswith(f"=> {number * 2}"), (number, reply.output)
        for number in (0, 1, SESSIONS // 2, SESSIONS - 1):  # each kept its work
            assert client.execute("x", f"s{number}").output == f"=> {number}"
        loaded = [row["name"] for row in client.list_sessions() if row["loaded"]]
        assert len(loaded) > DESCRIPTOR_LIMIT  # loaded, not evicted: their descriptors were given back
    assert server.backend_pid() == backend, "the backend restarted"
