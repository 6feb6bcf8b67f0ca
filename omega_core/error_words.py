"""Error codes as words for people: ``read-only: ...`` rather than ``... (read_only)``.

Why: the closed set of codes (ARCHITECTURE.md section 2) is for programs; a person reading a message
wants the same fact in words, in front, and no identifiers. Front ends show ``for_people(code,
message)``; only ``--json`` output (and the wire) carries the code itself.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    "bad_request": "bad request",
    "not_found": "not found",
    "locked": "locked",
    "read_only": "read-only",
    "invalid_name": "invalid name",
    "too_large": "too large",
    "unavailable": "unavailable",
    "internal": "internal error",
}
"""Words for the codes whose messages do not already say what kind of failure they are.
``eval_error``, ``parse_error``, ``budget_exceeded`` and ``interrupted`` messages name the problem
themselves (``car: expected ...``, ``step budget exceeded ...``)."""


def for_people(code: object, message: str) -> str:
    """``message`` led by the words of ``code`` (unless the message already starts with them)."""
    word = WORDS.get(str(code))
    if word is None or message.lower().startswith(word):
        return message
    return f"{word}: {message}"
