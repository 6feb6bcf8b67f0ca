"""A box whose inner rows all look alike, rendered with those rows rendered once.

Why: Textual renders a widget row by row through its styles cache, some 0.1 ms a row. A box that
shows nothing of its own inside its border (an empty side pane in the first frame; the REPL pane,
whose children cover all of its inside) has rows that all look alike between the first inner row
(which carries the start of the empty content) and the bottom border: rendering one of them and
repeating it gives the same strips (``tests/tui/test_alike_rows.py`` compares them with Textual's)
for a few rows' cost, in every full frame, the first one included.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.geometry import Region
from textual.strip import Strip

MIN_HEIGHT = 6
"""Below this the box is rendered as usual (too few alike rows to gain anything)."""


def render_alike_rows(render: Callable[[Region], list[Strip]], size: tuple[int, int], crop: Region) -> list[Strip]:
    """``crop`` of a box of ``size`` (width, height) whose rows from the third to the one above the
    last look alike, by ``render`` (the widget's own ``render_lines``): whole-width crops of a tall
    enough box render its top, first inner, one alike and bottom rows; any other crop is rendered
    as asked."""
    width, height = size
    if crop.column_span != (0, width) or height < MIN_HEIGHT:
        return render(crop)
    top, first, alike, bottom = (render(Region(0, y, width, 1))[0] for y in (0, 1, 2, height - 1))
    rows = [top, first, *[alike] * (height - 3), bottom]
    return rows[crop.y:crop.bottom]
