"""outbox.Outbox: replies kept, a lagging follower's pushes coalesced into one resync, the limit."""

from __future__ import annotations

import json

from omega_core.server import protocol as proto
from omega_core.server.framing import frame
from omega_core.server.outbox import Added, OutFrame, Outbox


def push(kind: str, session: str, size: int = 100) -> OutFrame:
    data = frame(proto.encode(proto.push(kind, session=session, pad="x" * size)))
    return OutFrame(data, kind, session)


def reply(request_id: int, size: int = 100) -> OutFrame:
    return OutFrame(frame(proto.encode(proto.ok_reply(request_id, "y" * size))))


def decoded(outbox: Outbox) -> list[dict]:
    messages = []
    while outbox:
        chunk = bytes(outbox.peek())
        messages.append(json.loads(chunk[4:]))
        outbox.consumed(len(chunk))
    return messages


def test_a_follower_behind_gets_its_event_pushes_replaced_by_one_resync_and_replies_are_kept() -> None:
    outbox = Outbox(limit_bytes=1_000_000, behind_bytes=1000)
    assert outbox.add(reply(1)) is Added.QUEUED
    for _ in range(20):
        outbox.add(push("events", "s"))
    outbox.add(push("events", "other"))
    outbox.add(reply(2))
    for _ in range(20):
        outbox.add(push("events", "s"))
    messages = decoded(outbox)
    assert [m["id"] for m in messages if "id" in m] == [1, 2]
    resyncs = [m for m in messages if m.get("push") == "resync"]
    assert len(resyncs) == 1 and resyncs[0]["session"] == "s"
    assert sum(1 for m in messages if m.get("push") == "events" and m["session"] == "s") < 20
    assert any(m.get("push") == "events" and m["session"] == "other" for m in messages)
    assert outbox.pending_bytes == 0 and outbox.coalesced > 0


def test_a_half_written_push_is_never_dropped() -> None:
    outbox = Outbox(limit_bytes=1_000_000, behind_bytes=10)
    first = push("events", "s")
    outbox.add(first)
    outbox.consumed(3)  # the socket took 3 bytes of it
    outbox.add(push("events", "s"))  # behind: coalesced
    rest = bytes(outbox.peek())
    assert rest == first.data[3:]


def test_passing_the_limit_is_refused_but_one_big_reply_to_an_empty_outbox_is_not() -> None:
    outbox = Outbox(limit_bytes=1000, behind_bytes=500)
    assert outbox.add(reply(1, size=5000)) is Added.QUEUED  # bigger than the limit, nothing else waiting
    assert outbox.add(reply(2)) is Added.OVER_LIMIT
    outbox.clear()
    assert outbox.add(reply(3, size=500)) is Added.QUEUED
    assert outbox.add(reply(4, size=600)) is Added.OVER_LIMIT


def test_once_a_resync_is_queued_later_pushes_of_its_session_wait_for_it_and_then_flow_again() -> None:
    outbox = Outbox(limit_bytes=1_000_000, behind_bytes=1000)
    for _ in range(20):
        outbox.add(push("events", "s"))
    assert outbox.add(push("events", "s")) is Added.COALESCED
    messages = decoded(outbox)  # the client reads everything: the resync among it
    assert [m["push"] for m in messages].count("resync") == 1
    assert outbox.add(push("events", "s")) is Added.QUEUED  # caught up: pushes flow again
