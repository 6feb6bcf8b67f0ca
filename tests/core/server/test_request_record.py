"""Exactly-once across a backend crash for every request, whatever its size or kind: a resend (same
client id, same request id) after a kill -9 of the backend gets the original reply and runs nothing,
even when the input made more than 2,000 events, when another client now holds the write lock, and
for ``:`` commands (snapshot, goto)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.server.live_server import LiveServer, log_events, raw_call, servers as _servers, wait_gone


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield from _servers(tmp_path)


class RawClient:
    """A bare connection that says hello with a fixed client id, as a client after a crash does."""

    def __init__(self, server: LiveServer, client_id: str) -> None:
        self.server = server
        self.client_id = client_id
        self.conn: Any = None
        self.connect()

    def connect(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                self.conn = self.server.raw()
                reply = raw_call(self.conn, {"v": 1, "id": "hello", "op": "hello", "session": None,
                                             "args": {"client_id": self.client_id, "name": "resender"}})
                if reply.get("ok"):
                    return
            except (OSError, EOFError, AssertionError):
                pass
            assert time.monotonic() < deadline, "no backend came back"
            time.sleep(0.05)

    def call(self, request_id: str, op: str, session: str | None, **args: Any) -> dict[str, Any]:
        return raw_call(self.conn, {"v": 1, "id": request_id, "op": op, "session": session, "args": args})

    def close(self) -> None:
        self.conn.close()


def kill_backend(server: LiveServer) -> None:
    pid = server.backend_pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid, 10)


def inputs_with(path: Path, code: str) -> int:
    return sum(1 for event in log_events(path) if event.get("type") == "input" and event.get("code") == code)


def test_a_resent_input_that_made_more_than_2000_events_is_not_run_again(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers()
    client = RawClient(server, uuid.uuid4().hex)
    big = " ".join(["(+ 1 1)"] * 1100) + ' (display "once")'
    first = client.call("7", "execute", "s", line=big)
    assert first["ok"], first
    log = server.sessions_dir / "s.jsonl"
    assert len(log_events(log)) > 2200  # more events than the old 2,000-event window
    client.close()
    kill_backend(server)
    client.connect()
    again = client.call("7", "execute", "s", line=big)
    assert again["ok"] and again["result"]["output"] == first["result"]["output"]
    assert again["result"].get("replayed_from_log") is True
    assert inputs_with(log, big) == 1
    client.close()


def test_a_resend_while_another_client_holds_the_write_lock_gets_the_original_reply(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers()
    client = RawClient(server, uuid.uuid4().hex)
    first = client.call("3", "execute", "shared", line="(define counter 1)")
    assert first["ok"], first
    client.close()
    kill_backend(server)
    other = server.client(name="other")
    assert other.execute("(+ counter 1)", "shared").output == "=> 2"  # holds the write lock now
    client.connect()
    again = client.call("3", "execute", "shared", line="(define counter 1)")
    assert again["ok"], again  # not `locked`: the command was applied before the crash
    assert again["result"]["output"] == first["result"]["output"]
    assert inputs_with(server.sessions_dir / "shared.jsonl", "(define counter 1)") == 1
    client.close()


def test_resent_snapshot_and_goto_commands_do_not_run_twice(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers()
    client = RawClient(server, uuid.uuid4().hex)
    for number, line in enumerate(["(define a 1)", "(define b 2)", "(define c 3)"]):
        assert client.call(f"c{number}", "execute", "s", line=line)["ok"]
    snapshot = client.call("snap", "execute", "s", line=":session snapshot before")
    goto = client.call("jump", "execute", "s", line=":session goto 2")
    structured = client.call("jump2", "goto", "s", seq=1)
    assert snapshot["ok"] and goto["ok"] and structured["ok"], (snapshot, goto, structured)
    log = server.sessions_dir / "s.jsonl"
    events_before = len(log_events(log))
    client.close()
    kill_backend(server)
    client.connect()
    assert client.call("snap", "execute", "s", line=":session snapshot before") == snapshot
    assert client.call("jump", "execute", "s", line=":session goto 2") == goto
    assert client.call("jump2", "goto", "s", seq=1) == structured
    assert len(log_events(log)) == events_before  # no second jump record
    snapshots = client.call("list", "snapshots", "s")
    assert snapshots["ok"] and len([s for s in snapshots["result"] if s.get("description") == "before"]) == 1, snapshots
    client.close()
