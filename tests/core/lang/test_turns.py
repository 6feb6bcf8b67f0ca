"""Long steps take turns (``lang.turns``): every primitive that walks or builds a long list in one
step calls ``take_turn`` every ``TURN_EVERY`` elements, and the pieces a long string is split or
joined in give exactly what one C call would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator
from omega_core.lang import turns
from omega_core.lang.primitives import strings
from omega_core.lang.turns import TURN_EVERY
from omega_core.lang.values import list_to_python, make_list

LONG = 3 * TURN_EVERY + 5


@pytest.fixture
def turns_taken() -> Iterator[list[int]]:
    taken: list[int] = []
    turns.install(lambda: taken.append(1))
    try:
        yield taken
    finally:
        turns.install(None)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    evaluator = Evaluator()
    machine = evaluator.machine
    machine.define_global("xs", make_list(range(LONG)))
    machine.define_global("pairs", make_list(make_list([index, index]) for index in range(LONG)))
    machine.define_global("words", make_list("w" for _ in range(LONG)))
    machine.define_global("text", "ab" * LONG)
    return evaluator


def run(evaluator: Evaluator, text: str) -> FormResult:
    (result,) = list(evaluator.run_text(text))
    return result


def value(evaluator: Evaluator, text: str) -> str:
    result = run(evaluator, text)
    assert result.ok, result
    return result.value or ""


@pytest.mark.parametrize("text, expected", [
    ("(length xs)", str(LONG)),
    ("(list? xs)", "#t"),
    ("(member -1 xs)", "#f"),
    ("(assoc -1 pairs)", "#f"),
    ("(last xs)", str(LONG - 1)),
    ("(list-ref xs (- (length xs) 1))", str(LONG - 1)),
    ("(car (drop xs (- (length xs) 1)))", str(LONG - 1)),
    ("(length (take xs (- (length xs) 1)))", str(LONG - 1)),
    ("(equal? xs (take xs (length xs)))", "#t"),
    ("(length (string-split text \"\"))", str(2 * LONG)),
    ("(string-length (string-join words \"\"))", str(LONG)),
    ("(apply + xs)", str(sum(range(LONG)))),
])
def test_a_long_walk_or_build_takes_turns(evaluator: Evaluator, turns_taken: list[int], text: str, expected: str) -> None:
    assert value(evaluator, text) == expected
    assert len(turns_taken) >= 3, f"{text} took {len(turns_taken)} turns over {LONG:,} elements"


def test_short_lists_take_no_turn(evaluator: Evaluator, turns_taken: list[int]) -> None:
    assert value(evaluator, "(length (list 1 2 3))") == "3"
    assert value(evaluator, "(member 2 (list 1 2 3))") == "(2 3)"
    assert turns_taken == []


def test_make_list_reads_sequences_and_views_backwards_and_anything_else_once() -> None:
    assert list_to_python(make_list((1, 2, 3))) == [1, 2, 3]
    assert list_to_python(make_list({"a": 1, "b": 2}.values())) == [1, 2]
    assert list_to_python(make_list(x for x in "ab")) == ["a", "b"]
    assert list_to_python(make_list({3})) == [3]
    assert list_to_python(make_list("ab", tail=make_list([0]))) == ["a", "b", 0]


SEPARATORS = ["a", "b", "ab", "aa", "aba", ",", ",,"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab,", max_size=60), separator=st.sampled_from(SEPARATORS),
       window=st.integers(min_value=1, max_value=9))
def test_splitting_in_windows_gives_what_one_split_gives(text: str, separator: str, window: int) -> None:
    original = strings.SPLIT_WINDOW_CHARS
    strings.SPLIT_WINDOW_CHARS = window
    try:
        assert strings.split_taking_turns(text, separator) == text.split(separator)
    finally:
        strings.SPLIT_WINDOW_CHARS = original


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.text(alphabet="xé,", max_size=3), max_size=12), separator=st.sampled_from(["", ",", "--"]),
       chunk=st.integers(min_value=1, max_value=4))
def test_joining_in_chunks_gives_what_one_join_gives(items: list[str], separator: str, chunk: int) -> None:
    original = strings.JOIN_CHUNK_ITEMS
    strings.JOIN_CHUNK_ITEMS = chunk
    try:
        evaluator = Evaluator()
        evaluator.machine.define_global("items", make_list(items))
        evaluator.machine.define_global("sep", separator)
        assert value(evaluator, "(string-join items sep)") == value(evaluator, _quoted(separator.join(items)))
    finally:
        strings.JOIN_CHUNK_ITEMS = original


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
