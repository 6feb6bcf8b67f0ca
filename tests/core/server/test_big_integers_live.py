"""Integers past Python's 4,300-digit int<->text guard on a LIVE server (issue 10, item 2).

Before the fix, the background state capture of ``(fact 2000)`` (5,736 digits) raised ``ValueError``
inside ``json.dumps``, the backend died, and reloading the session crashed it again. Here the value
is defined, the background save writes it, the backend is killed with SIGKILL, and the reloaded
session still has the exact value, prints it and computes with it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.server.live_server import LiveServer, servers, wait_gone

FACT = "(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def _wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def test_huge_integers_survive_a_background_save_a_kill_and_a_reload(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 50})
    states = srv.sessions_dir / "big.states.ndjson"
    with srv.client() as client:
        assert client.execute(FACT, "big").ok
        reply = client.execute("(define f (fact 2000)) (define big (expt 10 5000)) (string-length (number->string f))",
                               "big")
        assert reply.ok and reply.output.endswith("=> 5736"), reply
        # the background save wrote the integers (as digit text) and the backend is still the same one
        _wait_for(lambda: states.exists() and b'["i","' in states.read_bytes(), 10, "the state with the integers")
        pid = srv.backend_pid()
        assert client.execute("(+ big 1)", "big").output == "=> 1" + "0" * 4999 + "1"
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid, 10)
    with srv.client() as client:
        reply = client.execute("(list (= f (fact 2000)) (string-length (number->string big)) (= big (expt 10 5000)))",
                               "big")
        assert reply.ok and reply.output == "=> (#t 5001 #t)", reply
        assert client.status()["backend_pid"] != pid
    srv.assert_healthy()
