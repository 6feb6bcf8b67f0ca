"""``session.records_line``: a capture's records line read key by key and record by record gives
what ``json.loads`` gives, and anything else is read by ``json.loads`` (same value, same error)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.session import records_line
from omega_core.session.atomic import dumps_compact
from omega_core.session.records_line import loads_records

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12)


@pytest.fixture(autouse=True)
def piecewise_for_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records_line, "PIECEWISE_FROM_CHARS", 0)


@settings(max_examples=200, deadline=None)
@given(records=st.lists(json_values, max_size=20), rewrites=st.dictionaries(st.text(max_size=4), json_values, max_size=3),
       extra=st.dictionaries(st.text(max_size=6), json_values, max_size=2))
def test_a_compact_records_object_reads_as_json_loads_reads_it(records: list[Any], rewrites: dict[str, Any],
                                                               extra: dict[str, Any]) -> None:
    value = {"recordsOf": "state-1", "records": records, "rewrites": rewrites, **extra}
    text = dumps_compact(value)
    assert loads_records(text) == json.loads(text)
    assert loads_records(text + "\n") == json.loads(text + "\n")


def test_the_records_are_decoded_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point: no single C call over the whole array (it held the GIL 1.2-1.6 s for a big one)."""
    longest: list[int] = []
    real = records_line._DECODER.raw_decode

    def measured(text: str, position: int = 0) -> tuple[Any, int]:
        value, end = real(text, position)
        longest.append(end - position)
        return value, end

    monkeypatch.setattr(records_line._DECODER, "raw_decode", measured)
    records = [["pair", number, ["r", 3, number + 1]] for number in range(10_000)]
    text = dumps_compact({"recordsOf": "state-3", "records": records, "rewrites": {}, "units": {}})
    assert loads_records(text)["records"] == records
    assert max(longest) < 100  # a record (or a key) per call


@pytest.mark.parametrize("text", [
    '{ "recordsOf": "s", "records": [1, 2] }',  # not compact: json.loads reads it
    '{"recordsOf":"s","records":[1,2]} x',  # something after the object
    '[1,2,3]',
])
def test_other_text_is_read_by_json_loads(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except json.JSONDecodeError as problem:
        with pytest.raises(json.JSONDecodeError) as raised:
            loads_records(text)
        assert str(raised.value) == str(problem)
    else:
        assert loads_records(text) == expected


def test_a_records_line_cut_short_is_an_error_as_with_json_loads() -> None:
    text = dumps_compact({"recordsOf": "s", "records": [[1, 2], [3, 4]], "units": {}})
    with pytest.raises(json.JSONDecodeError):
        loads_records(text[:-5])


@settings(max_examples=200, deadline=None)
@given(records=st.lists(json_values, max_size=30), cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=60),
       as_bytes=st.booleans())
def test_a_records_line_in_pieces_reads_as_json_loads_reads_the_whole(records: list[Any], cuts: list[int],
                                                                      as_bytes: bool) -> None:
    """Pieces cut anywhere (inside a number, a string, a UTF-8 character), read through a window
    that slides every few characters, give what one ``json.loads`` of the joined text gives."""
    value = {"recordsOf": "state-2", "records": records + ["\u00e9\u2028 long " * 9], "rewrites": {}, "units": {}}
    data: Any = dumps_compact(value) + "\n"
    if as_bytes:
        data = data.encode("utf-8")
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:start + cut])
        start += cut
    pieces.append(data[start:])
    old = (records_line.PIECE_CHARS, records_line.SLIDE_MARGIN)
    records_line.PIECE_CHARS, records_line.SLIDE_MARGIN = 5, 3
    try:
        assert loads_records(pieces) == json.loads(data)
    finally:
        records_line.PIECE_CHARS, records_line.SLIDE_MARGIN = old


def test_a_long_line_is_read_and_decoded_a_piece_at_a_time(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``states.read_line_at`` reads a long line in bounded pieces and the reader decodes them one
    by one: no call gathers, decodes or parses the whole line (a line of four million records:
    a 140 ms readline and a 73 ms decode). A long string record is read by widening the window."""
    from omega_core.session import states

    monkeypatch.setattr(states, "LINE_PIECE_BYTES", 4096)
    monkeypatch.setattr(records_line, "PIECE_CHARS", 4096)
    monkeypatch.setattr(records_line, "SLIDE_MARGIN", 512)
    records: list[Any] = [["pair", number, ["r", 3, number + 1]] for number in range(5000)]
    records.append(["str", "x\u00e9" * 20_000])  # longer than a piece
    value = {"recordsOf": "state-3", "records": records, "rewrites": {}, "units": {}}
    path = tmp_path / "s.states.ndjson"
    path.write_bytes(b'{"small":1}\n' + dumps_compact(value).encode("utf-8") + b"\n")
    longest: list[int] = []
    real = records_line._DECODER.raw_decode

    def measured(text: str, position: int = 0) -> tuple[Any, int]:
        longest.append(len(text))
        return real(text, position)

    monkeypatch.setattr(records_line._DECODER, "raw_decode", measured)
    with open(path, "rb") as handle:
        assert states.read_line_at(handle, path, len(b'{"small":1}\n')) == value
    assert max(longest) < 60_000 + 2 * 4096  # the window: at most the long string and a piece
