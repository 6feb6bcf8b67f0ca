"""The Timeline pane's list: one row per input, the branch graph in its gutter, folded checkpoints.

See ``timeline_pane`` for what the pane does; this is its virtual list. ``TimelineView`` is a
``ScrollView`` whose height is the number of lines (rows plus unfolded checkpoints); it draws only
the lines on screen (``render_line``) and fetches the pages it needs from its ``HistorySource``:
100,000 inputs cost what the visible 20 cost. What its keys and clicks do is ``timeline_keys``:
only ``Goto`` (enter, double click) changes the session; every other key and a single click only
move the cursor.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from omega_tui.components.steady_scrollbar import steady_vertical_scrollbar
from omega_tui.components.timeline_keys import TimelineKeys
from omega_tui.components.timeline_rows import HistorySource, MemorySource, row_segments
from omega_tui.keys import bindings_for

__all__ = ["PAGE", "MemorySource", "TimelineView"]

PAGE = 200


class TimelineView(TimelineKeys, ScrollView, can_focus=True, inherit_bindings=False):
    BINDINGS = bindings_for("timeline")

    COMPONENT_CLASSES = {
        "timeline--cursor", "timeline--cursor-blurred", "timeline--position", "timeline--loading",
        "timeline--graph", "timeline--graph-current", "timeline--result", "timeline--error", "timeline--marks",
        "timeline--folded", "timeline--off-branch", "timeline--empty",
    }

    DEFAULT_CSS = """
    TimelineView { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    TimelineView > .timeline--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    TimelineView > .timeline--cursor-blurred { background: $block-cursor-blurred-background; }
    TimelineView > .timeline--position { color: $text-success; text-style: bold; }
    TimelineView > .timeline--loading { color: $text-muted; text-style: italic; }
    TimelineView > .timeline--graph { color: $text-muted; }
    TimelineView > .timeline--graph-current { color: $text-warning; text-style: bold; }
    TimelineView > .timeline--result { color: $text-muted; }
    TimelineView > .timeline--error { color: $text-error; }
    TimelineView > .timeline--marks { color: $text-accent; }
    TimelineView > .timeline--folded { color: $text-muted; text-style: italic; }
    TimelineView > .timeline--off-branch { color: $text-muted; }
    TimelineView > .timeline--empty { color: $text-muted; text-style: italic; }
    """

    class Goto(Message):
        """Go to ``item`` (a row, or one of its folded checkpoints): its ``goto`` seq."""

        def __init__(self, item: dict[str, Any]) -> None:
            super().__init__()
            self.item = item

    class Request(Message):
        """annotate / filter_tag / snapshot / restore, about ``item`` (may be None)."""

        def __init__(self, action: str, item: dict[str, Any] | None) -> None:
            super().__init__()
            self.action = action
            self.item = item

    class Changed(Message):
        """Total, position or filter changed (the pane updates its subtitle)."""

    class Selected(Message):
        """The cursor is on another row (the pane shows its preview)."""

        def __init__(self, row: dict[str, Any] | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source: HistorySource | None = None
        self.cursor = 0
        """Line of the cursor (rows and unfolded checkpoints)."""
        self.total = 0
        """Rows (inputs)."""
        self.position: int | None = None
        self.position_row: int | None = None
        self.lanes = 1
        self.tag: str | None = None
        self.pages: dict[int, list[dict[str, Any]]] = {}
        self.pending: set[int] = set()
        self.generation = 0
        self.loaded_once = False
        self.follow_end = True
        self.error: str | None = None
        self.expanded: dict[int, int] = {}
        """Row -> how many folded checkpoint lines are shown under it."""
        self.last_search: str | None = None
        self._selected: int | None = None
        self.style_generation = 0
        """Counts the CSS applications to the view (its own state, an ancestor's, a new theme)."""
        self._styles_for: tuple[Any, ...] | None = None
        self._styles: dict[str, Style] = {}

    # --- data ------------------------------------------------------------------------------------

    def set_source(self, source: HistorySource | None, tag: str | None = None) -> None:
        self.source = source
        self.tag = tag
        self.total = 0
        self.position = self.position_row = None
        self.loaded_once = False
        self.follow_end = True
        self.cursor = 0
        self.expanded.clear()
        self._selected = None
        self.reload()

    def reload(self) -> None:
        """Forget the pages and fetch what is visible again (after new events, a jump, a filter)."""
        self.generation += 1
        self.pages.clear()
        self.pending.clear()
        self.error = None
        if self.source is None:
            self._set_total(0)
            self.refresh()
            return
        first_page = self.line_to_row(self.cursor)[0] // PAGE if self.loaded_once else 0
        self._request(first_page)

    def _request(self, page: int) -> None:
        if self.source is None or page in self.pages or page in self.pending:
            return
        self.pending.add(page)
        generation = self.generation

        def done(result: dict[str, Any] | None, problem: BaseException | None) -> None:
            self._loaded(generation, page, result, problem)

        self.source.page(page * PAGE, PAGE, self.tag, done)

    def _loaded(self, generation: int, page: int, result: dict[str, Any] | None, problem: BaseException | None) -> None:
        if generation != self.generation:
            return
        self.pending.discard(page)
        if problem is not None or result is None:
            self.error = str(problem) if problem is not None else "no answer"
            self.refresh()
            return
        rows = list(result.get("rows") or [])
        self.pages[page] = rows
        for row in rows:  # a row still running may have taken more checkpoints since
            index = int(row.get("index", -1))
            if index in self.expanded:
                self.expanded[index] = len(row.get("folded") or [])
        first_load = not self.loaded_once
        self.loaded_once = True
        self.position = result.get("position")
        self.position_row = result.get("position_row")
        self.lanes = max(1, int(result.get("lanes") or 1))
        self._set_total(int(result.get("total") or 0))
        if first_load or (self.follow_end and self.total):
            target = self.position_row if first_load and isinstance(self.position_row, int) else None
            self.move_to(self.line_count - 1 if target is None else self.row_to_line(target), follow=target is None)
            self.call_after_refresh(self.scroll_to_cursor)
        self.post_message(self.Changed())
        self._selection_changed()
        self.refresh()

    @property
    def line_count(self) -> int:
        return self.total + sum(self.expanded.values())

    def _set_total(self, total: int) -> None:
        self.total = total
        self.expanded = {row: count for row, count in self.expanded.items() if row < total}
        if self.virtual_size.height != self.line_count:
            self.virtual_size = Size(1, self.line_count)
        if self.line_count and self.cursor >= self.line_count:
            self.cursor = self.line_count - 1

    def line_to_row(self, line: int) -> tuple[int, int]:
        """(row, folded checkpoint number or -1 for the row itself) shown on ``line``."""
        extra = 0
        for row in sorted(self.expanded):
            start = row + extra
            if line <= start:
                break
            if line <= start + self.expanded[row]:
                return row, line - start - 1
            extra += self.expanded[row]
        return line - extra, -1

    def row_to_line(self, row: int) -> int:
        return row + sum(count for expanded, count in self.expanded.items() if expanded < row)

    def row(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self.total:
            return None
        page = index // PAGE
        rows = self.pages.get(page)
        if rows is None:
            self._request(page)
            rows = self.pages.get(page)  # a memory source answers at once
            if rows is None:
                return None
        offset = index - page * PAGE
        return rows[offset] if offset < len(rows) else None

    def item_at(self, line: int) -> dict[str, Any] | None:
        """The row on ``line``, or the folded checkpoint there (``kind`` checkpoint, ``goto`` its seq)."""
        index, sub = self.line_to_row(line)
        row = self.row(index)
        if row is None or sub < 0:
            return row
        folded = row.get("folded") or []
        if sub >= len(folded):
            return None
        checkpoint = folded[sub]
        return {"seq": checkpoint["seq"], "goto": checkpoint["seq"], "kind": "checkpoint",
                "reason": checkpoint.get("reason"), "row": index, "tags": []}

    @property
    def current_item(self) -> dict[str, Any] | None:
        return self.item_at(self.cursor)

    @property
    def current_row(self) -> dict[str, Any] | None:
        return self.row(self.line_to_row(self.cursor)[0])

    # --- drawing ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(1, self.line_count)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.style_generation += 1

    def _look(self) -> dict[str, Style]:
        """The styles lines are drawn with, kept while nothing they come from changes. Why:
        ``rich_style`` walks every ancestor, and Textual forgets the component styles at every
        refresh, so a page of lines used to work them out again line by line (key to repaint)."""
        key = (self.style_generation, self.styles._cache_key, self.has_focus, self.app.theme, self.app.ansi_color)
        if key != self._styles_for:
            self._styles_for = key
            self._styles = {"": self.rich_style}
        return self._styles

    def _style(self, name: str) -> Style:
        styles = self._look()
        style = styles.get(name)
        if style is None:
            style = styles[name] = self.get_component_rich_style(name)
        return style

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """A ``SteadyScrollBar``: moving a row in 100,000 seldom moves its thumb (no repaint)."""
        return steady_vertical_scrollbar(self)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = self.scroll_offset.y + y
        base = self._style("")
        if self.total == 0:
            if y != 0:
                return Strip.blank(width, base)
            if self.error:
                text = f"  {self.error}"
            elif not self.loaded_once and self.source is not None:
                text = "  loading…"
            elif self.tag:
                text = f"  nothing tagged #{self.tag}"
            else:
                text = "  no inputs yet"
            return Strip([Segment(text[:width].ljust(width), base + self._style("timeline--empty"))], width)
        if line >= self.line_count:
            return Strip.blank(width, base)
        index, sub = self.line_to_row(line)
        row = self.row(index)
        if row is None:
            return Strip([Segment(f"  {index + 1:>6} …".ljust(width)[:width], base + self._style("timeline--loading"))],
                         width)
        segments = row_segments(row, sub, self.lanes, index in self.expanded, base, self._style)
        if line == self.cursor:
            cursor = self._style("timeline--cursor" if self.has_focus else "timeline--cursor-blurred")
            segments = [Segment(segment.text, (segment.style or base) + cursor) for segment in segments]
        strip = Strip(segments).crop(0, width)
        return strip.extend_cell_length(width, segments[-1].style if line == self.cursor else base)
