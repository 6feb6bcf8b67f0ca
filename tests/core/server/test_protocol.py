"""The wire protocol: every malformed frame is a ProtocolError with the right code, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.server import protocol
from omega_core.server.protocol import ErrorCode, Op, ProtocolError, Request

LIMIT = 1024 * 1024


def frame(message: object) -> bytes:
    return json.dumps(message).encode("utf-8")


def good(**overrides: object) -> dict:
    message = {"v": 1, "id": "7", "op": "execute", "session": "main", "args": {"line": "(+ 1 2)"}}
    message.update(overrides)
    return message


def refused(data: bytes, max_bytes: int = LIMIT) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        protocol.decode_request(data, max_bytes)
    return caught.value


def test_a_good_request_decodes() -> None:
    request = protocol.decode_request(frame(good()), LIMIT)
    assert request == Request("7", "execute", "main", {"line": "(+ 1 2)"})


def test_integer_ids_null_session_and_missing_args_are_fine() -> None:
    message = {"v": 1, "id": 3, "op": "ping", "session": None}
    assert protocol.decode_request(frame(message), LIMIT) == Request(3, "ping", None, {})


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "not JSON"),
        (b"garbage{", "not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
    ],
)
def test_garbage_is_a_bad_request(data: bytes, words: str) -> None:
    problem = refused(data)
    assert problem.code == ErrorCode.BAD_REQUEST
    assert words in problem.message


@pytest.mark.parametrize("version", [None, 0, 2, "1", 1.5])
def test_wrong_version_is_refused_and_names_ours(version: object) -> None:
    message = good(v=version) if version is not None else {k: v for k, v in good().items() if k != "v"}
    problem = refused(frame(message))
    assert problem.code == ErrorCode.BAD_REQUEST
    assert "v1" in problem.message


@pytest.mark.parametrize("request_id", ["absent", None, True, 1.5, [1], {"a": 1}])
def test_missing_or_bad_id_is_refused(request_id: object) -> None:
    message = good()
    if request_id == "absent":
        del message["id"]
    else:
        message["id"] = request_id
    problem = refused(frame(message))
    assert problem.code == ErrorCode.BAD_REQUEST
    assert "id" in problem.message


@pytest.mark.parametrize("op", ["launch_missiles", "", None, 3, "EXECUTE"])
def test_unknown_op_is_refused_with_the_request_id(op: object) -> None:
    problem = refused(frame(good(op=op)))
    assert problem.code == ErrorCode.BAD_REQUEST
    assert "unknown op" in problem.message
    assert problem.request_id == "7"


@pytest.mark.parametrize("args", [[], "line", 3, None])
def test_args_must_be_an_object(args: object) -> None:
    problem = refused(frame(good(args=args)))
    assert problem.code == ErrorCode.BAD_REQUEST
    assert "args" in problem.message


@pytest.mark.parametrize("session", [3, [], {"n": 1}, True])
def test_session_must_be_a_name_or_null(session: object) -> None:
    assert refused(frame(good(session=session))).code == ErrorCode.BAD_REQUEST


def test_an_oversized_frame_is_too_large_before_it_is_parsed() -> None:
    data = frame(good(args={"line": "x" * 2000}))
    problem = refused(data, max_bytes=1000)
    assert problem.code == ErrorCode.TOO_LARGE
    assert str(len(data)) in problem.message and "1000" in problem.message
    assert refused(b"\xff" * 2000, max_bytes=1000).code == ErrorCode.TOO_LARGE


def test_every_op_is_accepted() -> None:
    for op in Op:
        assert protocol.decode_request(frame(good(op=op.value)), LIMIT).op == op.value


def test_encode_decode_round_trip_keeps_unicode() -> None:
    message = protocol.request("42", Op.EXECUTE, "main", line='(display "λ → ☃")')
    data = protocol.encode(message)
    assert "λ".encode() in data  # not \\u escapes: UTF-8 on the wire
    request = protocol.decode_request(data, LIMIT)
    assert request == Request("42", "execute", "main", {"line": '(display "λ → ☃")'})


def test_replies_and_pushes_have_the_documented_shape() -> None:
    assert json.loads(protocol.encode(protocol.ok_reply("1", {"a": 1}))) == {"v": 1, "id": "1", "ok": True, "result": {"a": 1}}
    assert json.loads(protocol.encode(protocol.error_reply(2, ErrorCode.LOCKED, "held by x"))) == {
        "v": 1, "id": 2, "ok": False, "error": {"code": "locked", "message": "held by x"},
    }
    assert json.loads(protocol.encode(protocol.push("events", session="s", events=[]))) == {
        "v": 1, "push": "events", "session": "s", "events": [],
    }


def test_error_codes_are_the_documented_closed_set() -> None:
    assert {code.value for code in ErrorCode} == {
        "bad_request", "not_found", "locked", "read_only", "invalid_name", "parse_error", "eval_error",
        "budget_exceeded", "interrupted", "too_large", "unavailable", "internal",
    }


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_protocol_error(data: bytes) -> None:
    try:
        request = protocol.decode_request(data, 200)
    except ProtocolError as problem:
        assert problem.code in set(ErrorCode)
    else:
        assert isinstance(request, Request)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "v": st.one_of(st.just(1), json_values),
            "id": st.one_of(st.text(max_size=5), st.integers(), json_values),
            "op": st.one_of(st.sampled_from([op.value for op in Op]), json_values),
            "session": st.one_of(st.none(), st.text(max_size=5), json_values),
            "args": st.one_of(st.dictionaries(st.text(max_size=5), json_values, max_size=3), json_values),
        },
    )
)
def test_random_objects_decode_or_raise_protocol_error(message: dict) -> None:
    try:
        request = protocol.decode_request(frame(message), LIMIT)
    except ProtocolError as problem:
        assert problem.code == ErrorCode.BAD_REQUEST
    else:
        assert request.op in {op.value for op in Op}
        assert isinstance(request.args, dict)
        assert request.session is None or isinstance(request.session, str)
