"""``omega_tui.entries``: the language-free scanner must cut input exactly where the reader would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.lang import reader
from omega_core.lang.reader import ReadFailure, read_all
from omega_tui.entries import _TOKEN, Entry, iter_entries, needs_more_input


def reader_says_more(text: str) -> bool:
    """The definition: the reader's first complaint is an unclosed list or string."""
    try:
        read_all(text)
    except ReadFailure as failure:
        return bool(getattr(failure, "unclosed", False)) or failure.bare_message.startswith("unterminated string")
    except Exception:  # noqa: BLE001 - any other failure means "complete, report the error"
        return False
    return False


def test_token_pattern_is_the_readers() -> None:
    assert _TOKEN.pattern == reader._TOKEN.pattern and _TOKEN.flags == reader._TOKEN.flags


PIECES = ["(", ")", "[", "]", "'", "`", ",", '"', "\\", "\\u", "d83d", "dc00", "0041", "n", "q", ";", "\n", " ",
          ".", "a", "1", "#t", "#x", "null", "(a . b)", "(a . )", "; c (", '"x"']


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14))
def test_agrees_with_the_reader_on_random_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert needs_more_input(text) is reader_says_more(text), repr(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()[]'\";\\ .#au1\n`", max_size=20))
def test_agrees_with_the_reader_on_random_characters(text: str) -> None:
    assert needs_more_input(text) is reader_says_more(text), repr(text)


def test_nesting_past_the_readers_limit_is_complete() -> None:
    deep = "(" * 10_001
    assert needs_more_input(deep) is reader_says_more(deep) is False
    assert needs_more_input("(" * 50) is True


def test_entries_keep_their_first_line() -> None:
    text = "; comment\n\n(define (f x)\n  (+ x 1))\n:session list\n\n(f\n 2)\n"
    assert list(iter_entries(text)) == [
        Entry("(define (f x)\n  (+ x 1))", 3, False),
        Entry(":session list", 5, True),
        Entry("(f\n 2)", 7, False),
    ]


@pytest.mark.parametrize("text", ["(a", '"open', "(a ; (", '("x" (b'])
def test_open_entries(text: str) -> None:
    assert needs_more_input(text)


@pytest.mark.parametrize(("line", "command"), [
    (":session goto 30      ; back in time", ":session goto 30"),
    (':session annotate 5 "a; b" ; note', ':session annotate 5 "a; b"'),
    (":help;x", ":help;x"),
    ("  :history  ", ":history"),
])
def test_commands_lose_their_trailing_comment(line: str, command: str) -> None:
    assert list(iter_entries(line + "\n")) == [Entry(command, 1, True)]
