"""The nesting check of request frames (``protocol.json_too_deep``): the same answer as a plain
scan, in time linear in the size (brackets inside strings and after escapes never count), and on a
real server a big frame full of brackets is answered while other clients are served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.server.protocol import DEPTH_CHUNK, MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, json_container_count, json_too_deep
from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, raw_call, servers


def reference_depth(data: bytes) -> int:
    """The deepest nesting of ``data``, one byte at a time (strings and escapes skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_of(value: object) -> bytes:
    return json.dumps(value).encode()


nested = st.recursive(st.one_of(st.integers(), st.text(alphabet='[]{}"\\ab', max_size=6)),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                      max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(nested, st.integers(min_value=1, max_value=8))
def test_the_check_agrees_with_a_plain_scan(value: object, limit: int) -> None:
    data = json_of(value)
    assert json_too_deep(data, limit) == (reference_depth(data) > limit)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
def test_a_deep_point_after_many_chunks_of_brackets_is_found(depth: int) -> None:
    flat = b"[]," * (3 * DEPTH_CHUNK)
    data = b'{"a":[' + flat + b"[1," * (depth - 2) + b"0" + b"]" * (depth - 2) + b"]}"
    assert json_too_deep(data) == (reference_depth(data) > MAX_JSON_DEPTH)


def test_brackets_in_strings_and_escapes_do_not_count() -> None:
    text = '\\"[[[' * 100 + "]" * 300
    data = json_of({"text": text, "more": ["[" * 200, '\\' * 3 + '"[[['] * 50})
    assert reference_depth(data) == 2 and not json_too_deep(data)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("nesting-scan"))
    make = next(factory)
    try:
        yield make()
    finally:
        factory.close()


def test_containers_are_counted_outside_strings_only() -> None:
    data = json_of({"text": "[" * 10 * MAX_JSON_CONTAINERS, "tags": [[1], [2], {"a": [3]}]})
    assert json_container_count(data) == 6


@pytest.mark.parametrize("filler", [b"[]", b"[" * 60 + b"]" * 60])
def test_a_big_frame_full_of_brackets_is_refused_and_others_are_served(srv: LiveServer, filler: bytes) -> None:
    count = (4 << 20) // (len(filler) + 1)
    frame = (b'{"v":1,"id":"big","op":"ping","session":null,"args":{"x":['
             + b",".join([filler] * count) + b"]}}")
    conn = srv.raw()
    try:
        with Probe(srv) as probe:
            reply = raw_call(conn, frame, timeout_s=60)
            assert raw_call(conn, {"v": 1, "id": "next", "op": "ping", "session": None, "args": {}})["ok"] is True
        assert reply["id"] == "big" and reply["error"]["code"] == "bad_request"
        assert f"limit of {MAX_JSON_CONTAINERS:,}" in reply["error"]["message"]
        probe.assert_served()
    finally:
        conn.close()


def test_a_big_frame_with_brackets_only_in_strings_is_served(srv: LiveServer) -> None:
    text = "[" * (3 << 20)
    frame = json_of({"v": 1, "id": "text", "op": "ping", "session": None, "args": {"x": [text, [1, [2]]]}})
    conn = srv.raw()
    try:
        with Probe(srv) as probe:
            reply = raw_call(conn, frame, timeout_s=60)
        assert reply == {"v": 1, "id": "text", "ok": True, "result": "pong"}
        probe.assert_served()
    finally:
        conn.close()
