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
