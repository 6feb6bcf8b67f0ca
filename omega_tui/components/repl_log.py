"""The REPL's log: a ``RichLog`` that paints only what is new when it grows.

Why it is not a plain ``RichLog``: Enter to a painted result has a budget of 10 ms, and a plain
``RichLog`` spends most of a frame (7-9 ms on a quiet machine, 15-25 ms on a loaded one) re-styling
every visible line whenever one line is appended, because the whole widget is marked dirty and
Textual's styles cache forgets every line (each line then walks the DOM for its ``rich_style``).
Its scrollbar repaints all its cells too, although appending one line to a long log seldom moves
the thumb by even one eighth of a cell. And ``write`` scrolls to the end only *after* the next
frame, so the new line first becomes visible in a second frame.

Here:

* ``render_lines`` keeps the finished (styled, filtered) strip of each log line by its index in
  the log, for as long as the look of the lines does not change (width, horizontal scroll, style,
  background, filters); appending and scrolling to the end renders only the new lines.
* The vertical scrollbar (``steady_scrollbar``) keeps its painted cells while the thumb stays
  where it is.
* Growth never lays out the screen (the log's box does not change) unless a scrollbar comes or
  goes, and the log scrolls to its end at once, so the frame that follows shows the new lines.

It leans on ``RichLog``'s and the styles cache's internals in Textual 8 (``lines``,
``_size_known``, ``_start_line``, ``_styles_cache``, ``styles._cache_key``);
``tests/tui/test_repl_log_paint.py`` compares what it paints with what a ``RichLog`` paints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from omega_tui.components.steady_scrollbar import SteadyScrollBar, steady_vertical_scrollbar

__all__ = ["ReplLog", "SteadyScrollBar"]


def _rich_log_without_attrs() -> type:
    """``textual.widgets.RichLog``, imported without letting ``rich.pretty`` (which it imports)
    load ``attrs``: that package costs the app's start 15-20 ms (issue 12: keys within 0.3 s) and
    serves only to pretty-print attrs classes, which the app never shows. ``rich.pretty`` treats a
    failed ``import attr`` as "no attrs installed"; the block lasts only for this import (a later
    ``import attr`` works), and is skipped if either module is loaded already."""
    if "attr" in sys.modules or "rich.pretty" in sys.modules:
        from textual.widgets import RichLog as loaded
        return loaded
    sys.modules["attr"] = None  # type: ignore[assignment] - "import attr" raises ImportError
    try:
        from textual.widgets import RichLog as loaded
    finally:
        del sys.modules["attr"]
    return loaded


if TYPE_CHECKING:  # pragma: no cover
    from textual.widgets import RichLog
else:
    RichLog = _rich_log_without_attrs()

MAX_KEPT_SCREENS = 3
"""How many screenfuls of finished lines the log keeps (the visible one and some either side)."""


class ReplLog(RichLog):
    """The REPL log (see the module docstring)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=False)
    """No layout and no repaint of the whole log when it grows: ``write`` marks the new lines'
    rows (``_refresh_lines``), a scroll repaints what moved, a scrollbar that comes lays out
    (``watch_virtual_size``). With ``repaint`` on, every write marked all the log's rows dirty, and
    each Enter's frame composited and sent every row of the log (not just the new ones) while the
    log was shorter than its box."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished: dict[int, Strip] = {}
        """Index of a line in the log (counting lines dropped by ``max_lines``) -> its finished strip."""
        self._finished_look: tuple[Any, ...] | None = None
        self.style_generation = 0
        """Counts the CSS applications to the log (see ``notify_style_update``)."""

    # --- growing ---------------------------------------------------------------------------------

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        room = self.container_size
        if (old.height > room.height) != (new.height > room.height) or (old.width > room.width) != (new.width > room.width):
            self.refresh(layout=True)  # a scrollbar comes or goes: the box's content area changes
            return
        self._scroll_update(new)

    def write(self, content: Any, width: int | None = None, expand: bool = False, shrink: bool = True,
              scroll_end: bool | None = None, animate: bool = False) -> "ReplLog":
        follow = self.auto_scroll if scroll_end is None else scroll_end
        lines_before = len(self.lines)
        super().write(content, width, expand, shrink, scroll_end=False, animate=animate)
        if not self._size_known:  # deferred until the size is known: written (and followed) then
            return self
        if len(self.lines) != lines_before:
            self._refresh_lines(lines_before)
        if follow:
            if self._layout_required:  # a scrollbar just came: the end is known after the layout
                self.scroll_end(animate=False, immediate=False, x_axis=False)
            else:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        return self

    def _refresh_lines(self, first_new: int) -> None:
        """Mark the new lines' rows dirty if they are on screen (the rest is unchanged). Regions
        given to ``refresh`` are in content coordinates, as ``ScrollView.refresh_lines`` uses them."""
        top = int(self.scroll_offset.y)
        content = self.size
        start, end = max(first_new - top, 0), min(len(self.lines) - top, content.height)
        if end > start:
            self.refresh(Region(0, start, content.width, end - start))

    def clear(self) -> "ReplLog":
        self._finished.clear()
        super().clear()
        return self

    def notify_style_update(self) -> None:
        """Textual calls this whenever CSS is applied to the log, which it does for every
        descendant of a node whose classes, pseudo classes or theme changed: so it also hears of
        an ancestor's new background."""
        super().notify_style_update()
        self.style_generation += 1
        self._finished.clear()

    # --- painting --------------------------------------------------------------------------------

    def _look(self) -> tuple[Any, ...] | None:
        """What every finished line depends on besides its content; None when the box has rows
        that are not log lines (a border, vertical padding): then the styles cache does it all.
        Cheap on purpose (it is asked once a frame): the colours that come from the log's
        ancestors are covered by ``style_generation`` rather than by walking them."""
        styles = self.styles
        top, _, bottom, _ = styles.gutter
        if top or bottom or styles.has_rule("hatch"):
            return None
        app = self.app
        return (self.region.size, self.scrollable_content_region.width, int(self.scroll_offset.x), self.style_generation,
                styles._cache_key, app.theme, app.ansi_color, tuple(id(line_filter) for line_filter in app.get_line_filters()))

    def render_lines(self, crop: Region) -> list[Strip]:
        look = self._look()
        if look is None:
            return super().render_lines(crop)
        if look != self._finished_look:
            self._finished.clear()
            self._finished_look = look
        finished = self._finished
        top = int(self.scroll_offset.y)
        width, height = self.region.size  # what the styles cache renders: the box with its padding
        count = len(self.lines)
        rows = list(crop.line_range)
        # A blank row below the end is kept too (by its place: every blank row looks alike, but the
        # key keeps them apart from lines): a log shorter than its box (a new session) otherwise
        # painted all its blank rows again at each Enter, five times the rows of the new lines.
        missing = [y for y in rows
                   if ((-1 - y) if top + y >= count else (top + y + self._start_line)) not in finished]
        if missing:
            self._styles_cache.clear()  # its rows are keyed by place, not by line: stale after a scroll
            lines = [y for y in missing if top + y < count]
            if lines:
                first, last = lines[0], lines[-1]
                fresh = super().render_lines(Region(0, first, width, last - first + 1))
                for y in lines:
                    finished[top + y + self._start_line] = fresh[y - first]
            blanks = missing[len(lines):]  # the rows below the end (``missing`` is in order)
            if blanks:
                # every blank row looks alike (no border or padding rows: see ``_look``): one is
                # rendered for all (a new session's log is all blank rows, in the first frame too)
                blank = super().render_lines(Region(0, blanks[0], width, 1))[0]
                for y in blanks:
                    finished[-1 - y] = blank  # keyed by place, apart from lines
        strips = [finished[top + y + self._start_line] if top + y < count else finished[-1 - y] for y in rows]
        if len(finished) > MAX_KEPT_SCREENS * max(1, height) + 64:
            keep = range(top + self._start_line - height, top + self._start_line + 2 * height)
            self._finished = {index: strip for index, strip in finished.items() if index in keep or index < 0}
        if crop.column_span != (0, width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    # --- the scrollbar ---------------------------------------------------------------------------

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scrollbar, a ``SteadyScrollBar`` (created when first needed, as Textual does)."""
        return steady_vertical_scrollbar(self)
