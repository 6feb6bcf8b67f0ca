"""The isolation bombs of ``bench/isolation.py`` on a real server, as tests (issue 10): each
offending command ends with its clear error (or its value), the backend never restarts, the probe
client on its own connection is answered throughout, and the session is usable afterwards. No
timing is asserted (the bench reports latencies); the server's own loop figures must be there.

Sizes are small (a 64 MB memory budget) so each case takes a few seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("isolation"))
    make = next(factory)
    try:
        yield make(language={"max_memory_mb": 64, "max_string_chars": 1 << 20, "step_budget": 5_000_000})
    finally:
        factory.close()


def last_error(reply: object) -> tuple[str | None, str]:
    results = getattr(reply, "results")
    assert results, reply
    return results[-1].get("error_code"), str(results[-1].get("error") or "")


def test_a_string_doubling_stops_at_the_string_budget(srv: LiveServer) -> None:
    with srv.client(name="bomb") as client, Probe(srv) as probe:
        client.execute("(define (grow s n) (if (= n 0) (string-length s) (grow (string-append s s) (- n 1))))",
                       "strings")
        code, message = last_error(client.execute('(grow "x" 31)', "strings"))
        assert code == "budget_exceeded"
        assert "string size budget exceeded" in message and "[language] max_string_chars" in message
        assert "2,097,152 characters" in message and "limit 1,048,576 characters" in message
        assert client.execute('(grow "x" 20)', "strings").output == "=> 1048576"
    probe.assert_served()


def test_a_list_doubling_stops_at_the_memory_budget_and_its_list_is_freed(srv: LiveServer) -> None:
    with srv.client(name="bomb") as client, Probe(srv) as probe:
        client.execute("(define (grow l n) (if (= n 0) (length l) (grow (append l l) (- n 1))))", "lists")
        code, message = last_error(client.execute("(grow (list 1) 27)", "lists"))
        assert code == "budget_exceeded" and "[language] max_memory_mb" in message
        assert client.execute("(grow (list 1) 10)", "lists").output == "=> 1024"
        assert client.execute("(append '(1 2) '(3) '() '(4 5))", "lists").output == "=> (1 2 3 4 5)"
    probe.assert_served()


def test_an_endless_recursion_stops_at_the_memory_budget(srv: LiveServer) -> None:
    with srv.client(name="bomb") as client, Probe(srv) as probe:
        client.execute("(define (down n) (+ 1 (down (+ n 1))))", "endless")
        code, message = last_error(client.execute("(down 0)", "endless"))
        assert code == "budget_exceeded" and "[language] max_memory_mb" in message
        assert client.execute("(+ 40 2)", "endless").output == "=> 42"
    probe.assert_served()


def test_the_server_reports_its_loop_stalls_and_collections(srv: LiveServer) -> None:
    with srv.client(name="watcher") as client:
        loop = client.call("metrics")["loop"]
        status = client.status()["loop"]
    assert loop["iterations"] > 0 and loop["collections"][0] > 0
    for key in ("longest_stall_ms", "stalls_over_5ms", "stalls_over_50ms", "recent_stalls", "longest_collection_ms"):
        assert key in loop
    assert "recent_stalls" not in status and status["iterations"] > 0
