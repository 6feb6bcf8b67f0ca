"""Long state work off the loop, on a real server: a deep recursion's checkpoints, ``:session
save`` and ``goto`` leave other clients answered, and what they produce is right."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.core.server.live_server import LiveServer, servers


@pytest.fixture
def make_server(tmp_path: Any) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def test_deep_recursion_save_and_goto_while_a_probe_is_answered(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(language={"step_budget": 10_000_000})
    worker, probe = srv.client(), srv.client()
    worker.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))", session="w")
    worker.execute("(define h (make-hash))", session="w")
    answered: list[bool] = []
    done = threading.Event()

    def ping_until_done() -> None:
        while not done.is_set():
            answered.append(probe.ping() is not None)

    thread = threading.Thread(target=ping_until_done)
    thread.start()
    try:
        reply = worker.execute("(begin (hash-set! h 'a (deep 60000)) (hash-ref h 'a))", session="w")
        assert reply.results[0]["value"] == "60000"
        saved = worker.execute(":session save w-copy", session="w")
        assert "Saved session 'w'" in saved.output
        seq = [cp["seq"] for cp in worker.checkpoints("w") if cp["reason"] == "periodic"][1]
        jumped = worker.goto("w", seq)
        assert f"Jumped to seq {seq}" in jumped["report"]
        assert worker.execute("(hash-ref h 'a #f)", session="w").results[0]["value"] == "#f"
    finally:
        done.set()
        thread.join(timeout=30)
    assert answered and all(answered)
    copy = srv.client().execute("(list (deep 10) (hash-ref h 'a))", session="w-copy")
    assert copy.results[0]["value"] == "(10 60000)"
