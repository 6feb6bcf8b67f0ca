"""connection.read_frames: frames handed out as they arrive, the end of a peer, refusals."""

from __future__ import annotations

import json
import socket
import struct

import anyio
from multiprocess.connection import Connection as MpConnection

from omega_core.server.connection import Connection, read_frames


def framed(payload: bytes) -> bytes:
    return struct.pack("!i", len(payload)) + payload


def pair() -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    return Connection(MpConnection(ours.detach()), number=1), theirs


def test_frames_arrive_in_order_and_the_peer_closing_ends_the_reading() -> None:
    connection, peer = pair()
    seen: list[bytes] = []

    async def main() -> None:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(read_frames, connection, 1000, seen.append)
                peer.sendall(framed(b"one") + framed(b"two")[:5])
                await anyio.sleep(0.05)
                assert seen == [b"one"]  # the second frame is not complete yet
                peer.sendall(framed(b"two")[5:] + framed(b"three"))
                await anyio.sleep(0.05)
                peer.close()  # read_frames returns by itself

    anyio.run(main)
    assert seen == [b"one", b"two", b"three"]
    connection.close()


def test_an_oversized_frame_is_refused_with_a_reply_and_ends_the_reading() -> None:
    connection, peer = pair()
    seen: list[bytes] = []

    async def main() -> None:
        with anyio.fail_after(10):
            peer.sendall(struct.pack("!i", 5000))
            await read_frames(connection, 1000, seen.append)

    anyio.run(main)
    reply = MpConnection(peer.detach()).recv_bytes()
    error = json.loads(reply)["error"]
    assert error["code"] == "too_large" and "5000 bytes" in error["message"] and "max_frame_bytes" in error["message"]
    assert seen == []
    connection.close()


def test_cancelling_the_reader_leaves_the_connection_open_for_replies() -> None:
    connection, peer = pair()

    async def main() -> None:
        with anyio.move_on_after(0.1):
            await read_frames(connection, 1000, lambda data: None)
        assert connection.send({"v": 1, "id": "late", "ok": True, "result": "still here"})

    anyio.run(main)
    assert json.loads(MpConnection(peer.detach()).recv_bytes())["result"] == "still here"
    connection.close()
