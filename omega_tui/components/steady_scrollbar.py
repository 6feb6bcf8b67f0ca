"""A scrollbar that repaints its cells only when what they show changes.

Textual refreshes a scroll view's scrollbar on every change of its sizes or position, and rendering
it again goes through the styles cache cell by cell: several milliseconds of a frame on a loaded
machine. For a long list (a REPL log of 100,000 lines, a timeline of 100,000 inputs) appending a
line or moving one row seldom moves the thumb by even one eighth of a cell, so the last rendering
is reused while the thumb, the bar's size and its colours' sources are the same.

A scroll view uses it by returning ``steady_vertical_scrollbar(self)`` from its
``vertical_scrollbar`` property; it may count the CSS applications that reach it in a
``style_generation`` attribute (the bar's colours come from its parent's styles).
"""

from __future__ import annotations

from math import ceil
from typing import Any

from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget

BAR_EIGHTHS = 8
"""A scrollbar cell is drawn in eighths (``ScrollBarRender``'s partial block glyphs)."""


class SteadyScrollBar(ScrollBar):
    """A scrollbar that repaints its cells only when what they show changes.

    Textual refreshes a scroll view's scrollbar on every change of its sizes or position; rendering
    it again goes through the styles cache line by line. The cells depend only on the thumb's
    place in eighths of a cell, the bar's size and its colours, so the last rendering is reused
    while those are the same.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._painted: tuple[tuple[Any, ...], Region, list[Strip]] | None = None

    def _thumb_key(self) -> tuple[Any, ...]:
        """What the painted cells depend on: the thumb's ends in eighths of a cell, computed as
        ``ScrollBarRender.render_bar`` does, the bar's size, its state and its colours' sources."""
        size = self.size.height if self.vertical else self.size.width
        virtual = ceil(self.window_virtual_size)
        window = ceil(self.window_size) if self.window_size < self.window_virtual_size else 0
        thumb_place: tuple[int, int] = (0, 0)
        if window and size and virtual and size != virtual:
            thumb = max(1, window / (virtual / size))
            start = int((size - thumb) * (self.position / (virtual - window)) * BAR_EIGHTHS)
            thumb_place = (start, start + ceil(thumb * BAR_EIGHTHS))
        parent = self.parent
        parent_look = (parent.styles._cache_key, getattr(parent, "style_generation", None)) if isinstance(parent, Widget) else None
        return (self.size, thumb_place, bool(self.grabbed), self.mouse_over, parent_look, self.app.theme,
                tuple(id(line_filter) for line_filter in self.app.get_line_filters()))

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> "SteadyScrollBar":
        """A plain repaint is skipped when the cells would come out as painted: Textual refreshes
        the bar at every change of the view's sizes or position (each line written to the REPL
        log), and a dirty bar makes the compositor take every row it crosses (the whole height of
        the log) into the next frame, although only one or two rows of the log changed. A later
        change that moves the thumb repaints as usual (its own ``refresh`` then finds a new key)."""
        if (not regions and repaint and not layout and not recompose and self._painted is not None
                and self.is_mounted and self._painted[0] == self._thumb_key()):
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_lines(self, crop: Region) -> list[Strip]:
        key = self._thumb_key()
        painted = self._painted
        if painted is not None and painted[0] == key and painted[1] == crop:
            return list(painted[2])
        self._styles_cache.clear()  # the cells below change: render them again
        moved = self._moved_rows(painted, key, crop) if self.vertical else None
        if moved is None and key[1] == (0, 0) and self.vertical and crop.height > 1:
            # no thumb (the log fits its box, as in the first frame): every row is the same track
            strips = super().render_lines(Region(crop.x, crop.y, crop.width, 1)) * crop.height
        elif moved is None:
            strips = super().render_lines(crop)
        else:  # only the thumb moved: the rows it left or reached are rendered again, the rest kept
            assert painted is not None
            strips = list(painted[2])
            for first, last in moved:
                fresh = super().render_lines(Region(crop.x, first, crop.width, last - first))
                strips[first - crop.y:last - crop.y] = fresh
        self._painted = (key, crop, list(strips))
        return strips

    @staticmethod
    def _moved_rows(painted: tuple[tuple[Any, ...], Region, list[Strip]] | None, key: tuple[Any, ...],
                    crop: Region) -> list[tuple[int, int]] | None:
        """The row ranges (first, end) whose cells differ when only the thumb moved since
        ``painted`` (same size, colours, state and crop); None if anything else changed. A row is a
        cell of eight eighths: it changes only if one of the thumb's ends crossed it (a move of a
        long log's thumb by one eighth changes two rows, not the whole bar). Each range takes a row
        more on either side: a rounding of the thumb's ends unlike ``ScrollBarRender``'s costs a
        row rendered for nothing, never a stale one."""
        if painted is None or painted[1] != crop or painted[0][0] != key[0] or painted[0][2:] != key[2:]:
            return None
        (old_start, old_end), (new_start, new_end) = painted[0][1], key[1]
        if not (old_end and new_end):
            return None  # no thumb before or now (the bar was or is empty)
        ranges = []
        for low, high in sorted(((min(old_start, new_start), max(old_start, new_start)),
                                 (min(old_end, new_end), max(old_end, new_end)))):
            if high > low:
                first, end = max(low // BAR_EIGHTHS - 1, crop.y), min(-(-high // BAR_EIGHTHS) + 1, crop.bottom)
                if end > first:
                    if ranges and first <= ranges[-1][1]:
                        ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
                    else:
                        ranges.append((first, end))
        return ranges


def steady_vertical_scrollbar(widget: Widget) -> ScrollBar:
    """``widget``'s vertical scrollbar, a ``SteadyScrollBar``, created when first needed (as
    ``Widget.vertical_scrollbar`` does for a plain one)."""
    if widget._vertical_scrollbar is not None:
        return widget._vertical_scrollbar
    widget._vertical_scrollbar = scroll_bar = SteadyScrollBar(
        vertical=True, name="vertical", thickness=widget.scrollbar_size_vertical
    )
    scroll_bar.display = False
    widget.app._start_widget(widget, scroll_bar)
    return scroll_bar
