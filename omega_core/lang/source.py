"""Where read code came from: line and column of each list, and its text as the user wrote it.

Error messages quote code as it was written (``'()``, ``(lambda () 1)``), not as its data prints
(``(quote null)``, ``(lambda null 1)``), so the reader keeps, beside each list's position, the span
of text it was read from. Keys are ``id`` of the list's first pair: data read from text is alive as
long as the code compiled from it, so the ids stay valid for as long as anyone asks.
"""

from __future__ import annotations

import re
from typing import Any

_LINE_BREAK = re.compile(r"\s*\n\s*")


class SourcePositions(dict[int, tuple[int, int]]):
    """(line, column) by ``id`` of a form (a plain dict to its users), plus ``spans`` into ``text``."""

    __slots__ = ("text", "spans")

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text
        self.spans: dict[int, tuple[int, int]] = {}
        """(start, end) character offsets in ``text`` by ``id`` of a form."""

    def written(self, form: Any, limit: int) -> str | None:
        """The source text of ``form`` on one line, cut near ``limit`` characters; None if unknown.

        Only a stretch a little longer than ``limit`` is looked at, so naming a huge form is cheap.
        """
        span = self.spans.get(id(form))
        if span is None:
            return None
        start, end = span
        cut = end > start + 4 * limit + 80
        text = _LINE_BREAK.sub(" ", self.text[start : start + 4 * limit + 80 if cut else end])
        return text + "..." if cut else text
