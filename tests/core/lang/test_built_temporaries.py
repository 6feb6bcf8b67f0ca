"""Big lists primitives build are held to the end of their slice (``slice_work.keep_built``), then
freed in pieces by the release thread if nothing else holds them: a 4-million-pair temporary
consumed inside one step (``(length (string-split s ""))``) was freed by one C-level cascade of
about 150 ms that held the GIL. A list a variable holds stays whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator
from omega_core.lang import slice_work
from omega_core.lang.slice_work import BUILT_HELD_PAIRS
from omega_core.lang.values import Pair

LONG_TEXT = "ab" * BUILT_HELD_PAIRS


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[list[object], threading.Thread | None]]]:
    """Each hand-over to the release thread: what it was given, and the thread (joined here)."""
    seen: list[tuple[list[object], threading.Thread | None]] = []
    original = slice_work.release_in_background

    def recording(roots: list[object]) -> threading.Thread | None:
        given = list(roots)
        thread = original(roots)
        seen.append((given, thread))
        return thread

    monkeypatch.setattr(slice_work, "release_in_background", recording)
    yield seen
    for _, thread in seen:
        if thread is not None:
            thread.join(30)


def run(evaluator: Evaluator, text: str) -> FormResult:
    (result,) = list(evaluator.run_text(text))
    assert result.ok, result
    return result


def test_a_big_temporary_goes_to_the_release_thread_at_the_end_of_its_slice(releases: list) -> None:
    evaluator = Evaluator()
    evaluator.machine.define_global("text", LONG_TEXT)
    assert run(evaluator, '(length (string-split text ""))').value == str(len(LONG_TEXT))
    assert len(releases) == 1
    given, thread = releases[0]
    assert len(given) == 1 and type(given[0]) is Pair
    assert thread is not None  # nothing else held it: taken apart off the machine's thread


def test_a_big_list_a_variable_holds_stays_whole(releases: list) -> None:
    evaluator = Evaluator()
    evaluator.machine.define_global("text", LONG_TEXT)
    run(evaluator, '(define parts (string-split text ""))')
    run(evaluator, "(define firsts (take parts 70000))")
    for _, thread in releases:
        if thread is not None:
            thread.join(30)
    assert len(releases) == 2
    assert run(evaluator, "(length parts)").value == str(len(LONG_TEXT))
    assert run(evaluator, "(length firsts)").value == "70000"
    assert run(evaluator, "(list-ref parts 100001)").value == '"b"'


def test_small_lists_are_not_held(releases: list) -> None:
    evaluator = Evaluator()
    assert run(evaluator, '(length (string-split "a,b,c" ","))').value == "3"
    assert releases == []
