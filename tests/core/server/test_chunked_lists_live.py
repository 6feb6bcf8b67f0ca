"""Copying a long list never stalls other clients (issue 10, item 4: "no single step runs for more
than a few milliseconds"): ``append`` and ``reverse`` copy in chunks that each end the slice, so a
probe client's pings are answered WHILE a command appends a million-pair list, and the command still
returns the right value on a backend that never restarted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.server.live_server import LiveServer, servers

SETUP = ("(define (grow l n) (if (= n 0) l (grow (append l l) (- n 1))))"
         " (define big (grow (list 1) 17))")  # 131,072 pairs
DOUBLING = "(length (append big big big big))"  # one call of append copying 393,216 pairs


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def test_pings_are_answered_while_append_copies_a_long_list(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server()
    with srv.client() as worker, srv.client() as probe:
        assert worker.execute(SETUP, "lists").ok
        pid = srv.backend_pid()
        probe.ping()  # connected and answered before the command starts
        replies: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                replies.append(worker.execute(DOUBLING, "lists"))
            finally:
                done.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        answered_while_running = 0
        while not done.is_set():  # the probe's own replies are the only clock: no sleeping
            probe.ping()
            if not done.is_set():
                answered_while_running += 1
        thread.join(30)
        assert replies and replies[0].output == "=> 524288"
        # one step copying every pair would leave the probe unanswered until the command ended
        assert answered_while_running >= 3
        assert worker.execute("(length (reverse big))", "lists").output == "=> 131072"
        assert srv.status()["backend_pid"] == pid
    srv.assert_healthy()
