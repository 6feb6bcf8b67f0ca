"""A big string in a capture is turned into JSON text in pieces (``STRING_PIECE_CHARS``), with a
look at the clock between them, and stays in pieces until written: one JSON call over a 16 MiB
string held a server's loop for 90-190 ms. The text of the pieces together is exactly what one
call gives (the states format does not change), and restores read it back."""

from __future__ import annotations

import json
from typing import Any

from omega_core.lang.machine import Machine, Status
from omega_core.lang.reader import read_all
from omega_core.lang.restore_shared import restore_shared
from omega_core.lang.serialize_shared import (
    STRING_PIECE_CHARS,
    SharedEncoder,
    payload_pieces,
    payload_text,
)

TRICKY = 'ab"c\\d\ne\u00e9\u20ac\U0001f600\t\x01'
"""Characters JSON escapes, and ones it writes as they are (a piece may end on any of them)."""


class MemoryStore:
    """A ``StoreReader`` over captures kept in memory."""

    def __init__(self) -> None:
        self.bodies: dict[int, dict[str, Any]] = {}

    def body(self, capture: int) -> dict[str, Any]:
        return self.bodies[capture]

    def records(self, capture: int) -> dict[str, Any]:
        payload = self.bodies[capture]["payload"]
        return json.loads(payload_text(payload)) if payload is not None else {"records": [], "rewrites": {}, "units": {}}


def machine_with(**strings: str) -> Machine:
    machine = Machine()
    for datum in read_all("(define small (list 1 2 3))").forms:
        machine.start(machine.compile(datum).root)
        assert machine.run(10**6) is Status.DONE
    for name, text in strings.items():
        machine.globals[name] = text
        machine.globals.dirty.add(name)
    return machine


def big_text(pieces: int) -> str:
    repeats = pieces * STRING_PIECE_CHARS // len(TRICKY) + 7  # not a whole number of pieces
    return TRICKY * repeats


def test_a_big_string_is_encoded_one_piece_per_slice_and_written_in_pieces() -> None:
    big = big_text(5)
    machine = machine_with(big=big, other=big_text(2) + "x")
    encoder = SharedEncoder()
    encoder.begin(machine, 1)
    calls = 1
    while not encoder.step(0.0):  # a budget of nothing: every look at the clock ends the slice
        calls += 1
    expected_pieces = -(-len(big) // STRING_PIECE_CHARS) + -(-(len(big_text(2)) + 1) // STRING_PIECE_CHARS)
    assert calls >= expected_pieces
    body = encoder.finish()
    payload = body["payload"]
    assert isinstance(payload, list) and payload_pieces(payload) is payload
    assert max(len(piece) for piece in payload) < 3 * STRING_PIECE_CHARS  # no piece holds a whole string
    records = json.loads(payload_text(payload))["records"]
    assert ["str", big] in records and ["str", big_text(2) + "x"] in records


def test_the_pieces_make_the_same_text_and_restore_the_same_strings() -> None:
    big = big_text(3)
    machine = machine_with(big=big)
    store = MemoryStore()
    body = SharedEncoder().capture(machine, 1)
    store.bodies[1] = body
    text = payload_text(body["payload"])
    parsed = json.loads(text)
    whole = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(parsed)
    assert text == whole  # exactly what one JSON call writes: readers of the format see no change
    restored, _ = restore_shared(body, store)
    assert restored.globals["big"] == big
    assert restored.globals["small"] is not None


def test_a_small_capture_keeps_a_single_text_payload() -> None:
    body = SharedEncoder().capture(machine_with(medium="y" * 1000), 1)
    assert isinstance(body["payload"], str)
    assert ["str", "y" * 1000] in json.loads(body["payload"])["records"]
