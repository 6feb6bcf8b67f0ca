"""FrameReader: the backend's own reading of ``multiprocess.connection`` frames, byte by byte."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiprocess.connection import Connection

from omega_core.server.framing import FrameError, FrameReader, frame


def framed(payload: bytes) -> bytes:
    return struct.pack("!i", len(payload)) + payload


def feed_in_pieces(reader: FrameReader, data: bytes, cuts: list[int]) -> list[bytes]:
    frames: list[bytes] = []
    start = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        frames += reader.feed(data[start:cut])
        start = cut
    return frames


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_frames_come_out_whole_however_the_bytes_are_cut(payloads: list[bytes], cuts: list[int]) -> None:
    reader = FrameReader(max_bytes=1000)
    data = b"".join(framed(payload) for payload in payloads)
    assert feed_in_pieces(reader, data, cuts) == payloads
    assert reader.pending_bytes == 0


def test_a_partial_frame_waits_for_the_rest() -> None:
    reader = FrameReader(max_bytes=100)
    data = framed(b"hello") + framed(b"world")
    assert reader.feed(data[:3]) == []  # not even the header
    assert reader.feed(data[3:7]) == []  # header and part of the payload
    assert reader.pending_bytes == 7
    assert reader.feed(data[7:12]) == [b"hello"]
    assert reader.feed(data[12:]) == [b"world"]


def test_a_frame_over_the_limit_is_refused_from_its_header_alone() -> None:
    reader = FrameReader(max_bytes=10)
    with pytest.raises(FrameError) as caught:
        reader.feed(struct.pack("!i", 11))
    assert caught.value.too_large
    assert "11 bytes" in caught.value.message and "limit of 10" in caught.value.message


def test_the_long_header_form_is_read_and_checked() -> None:
    reader = FrameReader(max_bytes=100)
    assert reader.feed(struct.pack("!i", -1) + struct.pack("!Q", 3) + b"abc") == [b"abc"]
    with pytest.raises(FrameError) as caught:
        reader.feed(struct.pack("!i", -1) + struct.pack("!Q", 2**40))
    assert caught.value.too_large


def test_a_negative_length_is_not_a_frame() -> None:
    with pytest.raises(FrameError) as caught:
        FrameReader(max_bytes=100).feed(struct.pack("!i", -7))
    assert not caught.value.too_large
    assert "bad frame header" in caught.value.message


@pytest.mark.parametrize("size", [0, 10, 16_384, 16_385, 200_000])
def test_what_send_bytes_writes_is_read_back(size: int) -> None:
    """Small frames go out in one write, large ones (> 16 KiB) as header then payload."""
    left, right = socket.socketpair()
    sender = Connection(left.detach())
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    reader = FrameReader(max_bytes=1 << 20)
    frames: list[bytes] = []
    try:
        thread = threading.Thread(target=lambda: (sender.send_bytes(payload), sender.send_bytes(b"next")))
        thread.start()
        while len(frames) < 2:
            chunk = right.recv(65536)
            assert chunk, "the sender closed early"
            frames += reader.feed(chunk)
        thread.join(10)
    finally:
        sender.close()
        right.close()
    assert frames == [payload, b"next"]


@pytest.mark.parametrize("size", [0, 10, 16_385, 200_000])
def test_a_frame_written_in_one_piece_is_what_recv_bytes_reads(size: int) -> None:
    left, right = socket.socketpair()
    receiver = Connection(right.detach())
    payload = b"y" * size
    try:
        thread = threading.Thread(target=lambda: left.sendall(frame(payload) + frame(b"after")))
        thread.start()
        assert receiver.recv_bytes() == payload
        assert receiver.recv_bytes() == b"after"
        thread.join(10)
    finally:
        left.close()
        receiver.close()
