"""A resend whose input reached the log is answered from the log before any access rule: when the
request record missed it (a crash between the log's write and the record's), another client
holding the shared session's write lock by then must not turn it into a ``locked`` refusal of an
input that ran (the jepsen test found one: "input refused as locked ... is in the log 1 times")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from multiprocess.connection import Client

from omega_core.server import protocol as proto
from omega_core.server.request_record import RECORD_NAME

from tests.core.server.live_server import LiveServer, servers


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


class RawClient:
    """One connection speaking the protocol by hand, so a request can be resent under its id."""

    def __init__(self, srv: LiveServer, client_id: str) -> None:
        self.conn = Client(str(srv.paths.socket), family="AF_UNIX", authkey=srv.paths.read_key())
        assert self.call("hello", None, client_id=client_id, name=client_id)["ok"]

    def call(self, op: str, session: str | None, request_id: Any = None, **args: Any) -> dict[str, Any]:
        request_id = request_id if request_id is not None else f"{op}-{id(args)}"
        self.conn.send_bytes(proto.encode(proto.request(request_id, op, session, **args)))
        while True:
            message = json.loads(self.conn.recv_bytes())
            if message.get("id") == request_id:
                return message

    def close(self) -> None:
        self.conn.close()


def test_a_resend_missing_from_the_record_gets_its_reply_although_another_client_writes(
    make_server: Callable[..., LiveServer],
) -> None:
    srv = make_server()
    first = RawClient(srv, "writer-a")
    try:
        reply = first.call("execute", "shared", request_id=7, line="(define z 1)")
        assert reply["ok"], reply
    finally:
        first.close()
    srv.stop()
    (srv.sessions_dir / RECORD_NAME).unlink()  # the crash came between the log's write and the record's
    srv.start()
    with srv.client(name="b") as other:
        assert other.execute("(define y 2)", "shared").ok  # b holds the write lock now
        again = RawClient(srv, "writer-a")
        try:
            resent = again.call("execute", "shared", request_id=7, line="(define z 1)")
        finally:
            again.close()
        assert resent["ok"], resent  # before: error "locked"
        assert resent["result"]["output"] == "=> z" and resent["result"]["replayed_from_log"] is True
        log = (srv.sessions_dir / "shared.jsonl").read_text(encoding="utf-8")
        inputs = [json.loads(line) for line in log.splitlines() if json.loads(line).get("type") == "input"]
        assert [event.get("text") or event.get("code") for event in inputs].count("(define z 1)") == 1, inputs  # ran once
