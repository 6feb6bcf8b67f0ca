"""One long step (a primitive walking or building four million pairs in one call) on a real server:
the event loop answers other clients during it (the step runs in the machine thread), and another
session's commands run during it too (the step's loop lends turns). Ordering only, no clocks: a
ping or a command counts when it was answered after the long command was sent and before its
reply came back. On the old server (steps on the loop) at most the one or two requests already
read before the step began could count."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.core.server.live_server import LiveServer, servers

LONG_STEP = '(length (string-split text ""))'
"""One step: ``string-split`` builds 4,194,304 pairs in one call, ``length`` walks them in one."""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("long-steps"))
    make = next(factory)
    try:
        server = make()
        with server.client(name="setup") as client:
            client.execute('(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))', "long")
            assert client.execute('(string-length (begin (define text (grow "abcd" 20)) text))', "long").output \
                == "=> 4194304"
            client.execute("(+ 1 2)", "other")
        yield server
    finally:
        factory.close()


def during_long_step(srv: LiveServer, others: Callable[[Any], object]) -> int:
    """Run ``LONG_STEP`` on one connection while ``others(client)`` runs again and again on
    another; how many of its calls were answered while the long command was out."""
    sent = threading.Event()
    answered = threading.Event()
    outcome: dict[str, Any] = {}
    counted = 0
    with srv.client(name="long") as long_client, srv.client(name="others") as other_client:
        others(other_client)  # connected and warm before the long command goes out

        def run_long() -> None:
            sent.set()
            outcome["reply"] = long_client.execute(LONG_STEP, "long")
            answered.set()

        thread = threading.Thread(target=run_long, daemon=True)
        thread.start()
        sent.wait(10)
        while not answered.is_set():
            others(other_client)
            if not answered.is_set():
                counted += 1
        thread.join(60)
    assert outcome["reply"].output == "=> 4194304", outcome["reply"]
    return counted


def test_pings_are_answered_while_one_step_walks_millions_of_pairs(srv: LiveServer) -> None:
    pings = during_long_step(srv, lambda client: client.ping())
    assert pings >= 20, f"only {pings} pings were answered during the long step"


def test_another_sessions_commands_run_while_one_step_walks_millions_of_pairs(srv: LiveServer) -> None:
    def command(client: Any) -> None:
        assert client.execute("(+ 1 2)", "other").output == "=> 3"

    commands = during_long_step(srv, command)
    assert commands >= 5, f"only {commands} commands of another session ran during the long step"
