"""The checks of a big request frame look at it piece by piece (``protocol.SCAN_PIECE_BYTES``), so
no C call holds the GIL (and the loop) for long: whatever the piece size, their answers are those
of a plain scan of the whole text (escapes and strings across piece boundaries included). On a
real server, the 8 MB frame of ``bench/isolation.py`` is refused with the probe served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.server import protocol
from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, raw_call, servers
from tests.core.server.test_protocol_nesting_scan import reference_depth


def reference_outside(data: bytes) -> bytes:
    """``data`` without its strings (quotes included), one byte at a time."""
    kept = bytearray()
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        else:
            kept.append(byte)
    return bytes(kept)


nested = st.recursive(st.one_of(st.integers(), st.text(alphabet='[]{}"\\ab', max_size=8)),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                      max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(nested, st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=6))
def test_any_piece_size_gives_the_answers_of_a_plain_scan(value: object, piece: int, limit: int) -> None:
    check_pieces(json.dumps(value).encode(), piece, limit)


def test_many_containers_are_counted_exactly_across_pieces() -> None:
    data = json.dumps({"s": '[\\"[' * 3000, "x": [[1, {"a": "]"}]] * 2000}).encode()
    for piece in (1, 2, 3, 5, 64, 4096):
        check_pieces(data, piece, 3)


def check_pieces(data: bytes, piece: int, limit: int) -> None:
    saved = protocol.SCAN_PIECE_BYTES
    protocol.SCAN_PIECE_BYTES = piece
    try:
        outside = reference_outside(data)
        assert protocol.json_text_outside_strings(data) == outside
        raw = data.count(b"[") + data.count(b"{")  # small counts are taken as they are (an upper bound)
        exact = outside.count(b"[") + outside.count(b"{")
        assert protocol.json_container_count(data) == (raw if raw <= protocol.MAX_JSON_CONTAINERS else exact)
        assert protocol.json_too_deep(data, limit) == (reference_depth(data) > limit)
        brackets = bytes(byte for byte in outside if byte in b"[]{}").replace(b"{", b"[").replace(b"}", b"]")
        assert protocol.json_brackets(data) == brackets
        assert protocol._has_run_of_openers(data, limit) == (b"[" * limit in brackets)
    finally:
        protocol.SCAN_PIECE_BYTES = saved


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("isolation-frames"))
    make = next(factory)
    try:
        yield make()
    finally:
        factory.close()


def test_an_8_mb_frame_of_nested_brackets_is_refused_and_others_are_served(srv: LiveServer) -> None:
    filler = b"[" * 60 + b"]" * 60
    count = ((8 << 20) - 4096) // (len(filler) + 1)
    frame = (b'{"v":1,"id":"brackets","op":"ping","session":null,"args":{"x":['
             + b",".join([filler] * count) + b"]}}")
    conn = srv.raw()
    try:
        with Probe(srv) as probe:
            reply = raw_call(conn, frame, timeout_s=120)
        assert reply["id"] == "brackets" and reply["error"]["code"] == "bad_request"
        assert "arrays/objects" in reply["error"]["message"]
        probe.assert_served()
    finally:
        conn.close()
