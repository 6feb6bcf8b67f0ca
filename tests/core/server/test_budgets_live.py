"""Budgets on a LIVE server (issue 10, item 4): a command past its memory or integer budget ends
with ``budget_exceeded``, the backend keeps running, the session is as it was before the command,
and after a SIGKILL the reloaded session (its log replayed) is in the same state as the memory was."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.server.live_server import LiveServer, servers, wait_gone

SETUP = ("(define h (make-hash)) (hash-set! h 'a 1) (define s \"x\")"
         " (define (grow) (set! s (string-append s s)) (grow)) (define (sq x) (sq (* x x)))")
CHECK = "(list (string-length s) (hash-ref h 'a) (hash-count h))"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def test_budget_failures_leave_the_session_as_it_was_in_memory_and_after_a_reload(
    make_server: Callable[..., LiveServer],
) -> None:
    srv = make_server(language={"max_memory_mb": 16, "max_string_chars": 64 * 1024 * 1024},  # memory first
                      server={"save_interval_ms": 50})
    with srv.client() as client:
        assert client.execute(SETUP, "bud").ok
        pid = srv.backend_pid()
        reply = client.execute("(begin (hash-set! h 'a 2) (hash-set! h 'b 3) (grow))", "bud")
        error = reply.results[-1]  # type: ignore[attr-defined]
        assert error["error_code"] == "budget_exceeded"
        assert "memory budget exceeded" in reply.output and "[language] max_memory_mb" in reply.output
        reply = client.execute("(sq 2)", "bud")
        assert reply.results[-1]["error_code"] == "budget_exceeded"  # type: ignore[attr-defined]
        assert "[language] max_integer_bits" in reply.output
        assert client.execute(CHECK, "bud").output == "=> (1 1 1)"
        assert client.status()["backend_pid"] == pid  # the backend never restarted
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid, 10)
    with srv.client() as client:  # reloaded from the log and states: the same state as before the kill
        assert client.execute(CHECK, "bud").output == "=> (1 1 1)"
        assert client.execute("(begin (set! s \"yy\") (string-length s))", "bud").output == "=> 2"
    srv.assert_healthy()


def test_a_session_filling_memory_over_many_commands_is_stopped_and_others_go_on(
    make_server: Callable[..., LiveServer],
) -> None:
    """Each command keeps 8 MB, far below the budget alone: what earlier commands keep counts too."""
    srv = make_server(language={"max_memory_mb": 48, "max_string_chars": 16 * 1024 * 1024})  # 8 MB strings
    with srv.client() as client:
        assert client.execute("(define (rep s n) (if (= n 0) s (rep (string-append s s) (- n 1))))", "hog").ok
        pid = srv.backend_pid()
        refused = None
        for number in range(12):
            reply = client.execute(f'(define g{number} (rep "x" 23))', "hog")
            if not reply.ok:
                refused = reply
                break
            assert client.execute("(+ 1 2)", "other").output == "=> 3"
        assert refused is not None, "12 strings of 8 MB kept under a budget of 48 MB"
        assert refused.results[-1]["error_code"] == "budget_exceeded"  # type: ignore[attr-defined]
        assert "kept by earlier commands" in refused.output and "[language] max_memory_mb" in refused.output
        assert client.execute("(string-length g0)", "hog").output == "=> 8388608"
        assert client.status()["backend_pid"] == pid
    srv.assert_healthy()
