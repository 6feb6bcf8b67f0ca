"""``omega_core.error_words``: codes read as words, never as identifiers, in messages for people."""

from __future__ import annotations

from omega_core.error_words import for_people


def test_read_only_reads_as_words() -> None:
    text = for_people("read_only", "this client follows session 'a' read-only; take write access with :session attach a")
    assert text.startswith("read-only: this client") and "read_only" not in text


def test_locked_and_unknown_codes() -> None:
    assert for_people("locked", "session 'a' is held by b").startswith("locked: ")
    assert for_people("eval_error", "car: expected a pair") == "car: expected a pair"
    assert for_people("something_new", "m") == "m"


def test_no_repeat_when_the_message_says_it() -> None:
    assert for_people("budget_exceeded", "step budget exceeded after 5 steps") == "step budget exceeded after 5 steps"
    assert for_people("not_found", "not found: session 'x'") == "not found: session 'x'"
