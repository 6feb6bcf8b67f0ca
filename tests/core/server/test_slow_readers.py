"""A client that stops reading never delays anyone else (issue 10, item 3), on a real server.

A client pipelining requests without reading its replies is disconnected once its unread output
passes ``[server] max_client_backlog_mb`` (with the reason in the server log); a follower that
falls behind gets one ``resync`` push instead of the events it missed. Meanwhile a probe client's
pings and listings are all answered (no timing assertions: answered is what counts).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from omega_core.server import protocol as proto
from tests.core.server.live_server import LiveServer, servers

BIG = "a" * 20_000
"""A string literal whose reply (input echoed, value printed) is about 40 KB."""


@pytest.fixture
def srv(tmp_path: Any) -> Iterator[LiveServer]:
    factory = servers(tmp_path)
    make = next(factory)
    try:
        yield make(server={"max_client_backlog_mb": 1})
    finally:
        factory.close()


class Probe(threading.Thread):
    """Pings and lists sessions on its own connection until told to stop; records every answer."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(daemon=True)
        self.client = server.client(name="probe")
        self.stop = threading.Event()
        self.answered = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                assert self.client.ping() == "pong"
                self.client.list_sessions()
                self.answered += 1
            except Exception as problem:  # noqa: BLE001 - reported by the test
                self.failures.append(repr(problem))
                return

    def finish(self) -> None:
        self.stop.set()
        self.join(20)
        assert not self.is_alive()
        assert not self.failures, self.failures
        assert self.answered > 0


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_client_that_pipelines_and_never_reads_is_disconnected_and_nobody_else_waits(srv: LiveServer) -> None:
    probe = Probe(srv)
    probe.start()
    slow = srv.raw()
    sent = 0
    try:
        for number in range(200):  # ~8 MB of replies against a 1 MiB limit
            slow.send_bytes(proto.encode(proto.request(number, "execute", "slow", line=f'"{BIG}"')))
            sent += 1
    except OSError:
        pass  # disconnected while still sending: what the test waits for anyway
    wait_for(lambda: "unread output" in srv.paths.log.read_text(errors="replace"), 30, "the disconnect in the log")
    log_text = srv.paths.log.read_text(errors="replace")
    assert "disconnecting client" in log_text and "max_client_backlog_mb" in log_text
    received = 0
    with pytest.raises((EOFError, OSError)):  # what was written before the disconnect, then the end
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if slow.poll(1):
                json.loads(slow.recv_bytes())
                received += 1
    assert received < sent
    probe.finish()
    srv.assert_healthy()
    slow.close()


def test_a_follower_that_stops_reading_gets_a_resync_and_replies_are_never_dropped(srv: LiveServer) -> None:
    writer = srv.client(name="writer")
    writer.execute("(define x 0)", "followed")
    follower = srv.raw()
    follower.send_bytes(proto.encode(proto.request("sub", "subscribe", "followed")))
    probe = Probe(srv)
    probe.start()
    commands = 60
    for _ in range(commands):  # each command's events carry ~40 KB to the follower, who does not read
        reply = writer.execute(f'"{BIG}"', "followed")
        assert reply.ok
    follower.send_bytes(proto.encode(proto.request("after", "ping")))
    probe.finish()
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not any(message.get("id") == "after" for message in messages):
        assert time.monotonic() < deadline, "the follower's reply never came"
        if follower.poll(1):
            messages.append(json.loads(follower.recv_bytes()))
    replies = [message["id"] for message in messages if "id" in message]
    assert replies == ["sub", "after"]  # replies are all there, in order
    resyncs = [message for message in messages if message.get("push") == "resync"]
    assert resyncs and all(message["session"] == "followed" for message in resyncs)
    events = [message for message in messages if message.get("push") == "events"]
    assert len(events) < commands  # the missed ones were coalesced
    follower.close()
