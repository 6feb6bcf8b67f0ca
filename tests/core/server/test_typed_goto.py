"""``:session goto SEQ`` typed at the REPL through a server (``server.typed_goto``): the replay runs
in a worker thread like the ``goto`` op, the output and errors read as the REPL's, the jump is
recorded, the probe client is answered throughout and the backend does not restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("typed-goto"))
    make = next(factory)
    try:
        yield make()
    finally:
        factory.close()


def test_a_typed_goto_replays_and_records_the_jump(srv: LiveServer) -> None:
    with srv.client(name="writer") as client, Probe(srv) as probe:
        client.execute("(define x 1)", "tg")
        client.execute("(define (loop n) (if (= n 0) 'done (loop (- n 1))))", "tg")
        client.execute("(loop 300000)", "tg")
        client.execute("(set! x 2)", "tg")
        target = next(row for row in client.checkpoints("tg") if row["reason"] == "periodic")["seq"]
        reply = client.execute(f":session goto {target}", "tg")
        assert reply.output.startswith(f"Jumped to seq {target} (replayed"), reply.output
        assert client.execute("x", "tg").output == "=> 1"
    probe.assert_served()


@pytest.mark.parametrize(("line", "expected"), [
    (":session goto", "usage: :session goto SEQ"),
    (":session goto abc", "error: SEQ must be a whole number, got 'abc'"),
    (":session goto 999999", "error: no event 999999 in session 'tg-errors'"),
])
def test_typed_goto_errors_read_as_the_repl_s(srv: LiveServer, line: str, expected: str) -> None:
    with srv.client(name="errors") as client:
        client.execute("(define y 1)", "tg-errors")
        assert client.execute(line, "tg-errors").output.startswith(expected)
