"""What the Timeline list's keys and clicks do: move the cursor (and scroll it into view), fold
and unfold a row's checkpoints, search, and ask for the dialogs the controller runs.

A mixin of ``timeline_view.TimelineView`` (kept apart so that module holds the list's data and
drawing): it relies on the view's lines (``line_count``, ``line_to_row``, ``row_to_line``, ``row``,
``current_item``, ``expanded``, ``_set_total``), its source (``search``) and its messages
(``Goto``, ``Request``, ``Selected``). Only ``Goto`` (enter, double click) changes the session;
every other key and a single click only move the cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:  # pragma: no cover - types only: the mixin is used on a TimelineView
    from omega_tui.components.timeline_view import TimelineView as _Base
else:
    _Base = object


class TimelineKeys(_Base):
    """The Timeline list's cursor, folding, search and dialog keys (see the module docstring)."""

    # --- moving ----------------------------------------------------------------------------------

    def move_to(self, line: int, follow: bool = False) -> None:
        if self.line_count == 0:
            return
        line = max(0, min(self.line_count - 1, line))
        previous = self.cursor
        self.cursor = line
        self.follow_end = follow or line == self.line_count - 1
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if line < top:
            self._scroll_y_to(line)
        elif line >= top + height:
            self._scroll_y_to(line - height + 1)
        else:
            self._refresh_line(previous)
            self._refresh_line(line)
            self._selection_changed()
            return
        self.refresh()
        self._selection_changed()

    def _selection_changed(self) -> None:
        index = self.line_to_row(self.cursor)[0] if self.total else None
        if index != self._selected:
            self._selected = index
            self.post_message(self.Selected(None if index is None else self.row(index)))

    def scroll_to_cursor(self) -> None:
        """Bring the cursor line into view (after a layout, when the height is known)."""
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if self.cursor < top:
            self._scroll_y_to(self.cursor)
        elif self.cursor >= top + height:
            self._scroll_y_to(self.cursor - height + 1)

    def _scroll_y_to(self, y: int) -> None:
        y = max(0, min(y, self.line_count - max(1, self.scrollable_content_region.height)))
        self.scroll_target_y = y
        self.scroll_y = y
        # Textual moves the scrollbar's thumb only while the scrollbar is shown: a scroll made
        # before the first layout (the first load) left the thumb at the top once it appeared.
        self.vertical_scrollbar.position = y

    def _refresh_line(self, line: int) -> None:
        y = line - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    def on_focus(self) -> None:
        self._refresh_line(self.cursor)

    def on_blur(self) -> None:
        self._refresh_line(self.cursor)

    def on_click(self, event: events.Click) -> None:
        """A click selects the row under the mouse; a double click goes there."""
        line = self.scroll_offset.y + event.y
        if 0 <= line < self.line_count:
            self.focus()
            self.move_to(line)
            if event.chain >= 2:
                self.action_goto()

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.line_count - 1, follow=True)

    def action_step_input(self, direction: int) -> None:
        """The previous/next input, over unfolded checkpoints; browsing only (nothing is recorded)."""
        index, sub = self.line_to_row(self.cursor)
        target = index if direction < 0 and sub >= 0 else index + direction
        self.move_to(self.row_to_line(max(0, min(self.total - 1, target))))

    def action_goto(self) -> None:
        item = self.current_item
        if item is not None:
            self.post_message(self.Goto(item))

    # --- folding ---------------------------------------------------------------------------------

    def action_expand(self) -> None:
        index, sub = self.line_to_row(self.cursor)
        row = self.row(index)
        if sub >= 0 or row is None or index in self.expanded or not row.get("folded"):
            return
        self.expanded[index] = len(row["folded"])
        self._set_total(self.total)
        self.refresh()

    def action_collapse(self) -> None:
        index, sub = self.line_to_row(self.cursor)
        if index not in self.expanded:
            return
        del self.expanded[index]
        self._set_total(self.total)
        self.move_to(self.row_to_line(index))
        self.refresh()

    def action_toggle_fold(self) -> None:
        if self.line_to_row(self.cursor)[0] in self.expanded:
            self.action_collapse()
        else:
            self.action_expand()

    # --- search ----------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.post_message(self.Request("search", self.current_item))

    def search(self, text: str, direction: int = 1) -> None:
        """Move to the next (previous) row whose input, label or tag contains ``text``."""
        text = text.strip()
        if not text or self.source is None:
            return
        if self.tag:  # the rows are the tagged items, not inputs: a row number would point elsewhere
            self.app.notify(f"Search looks through inputs: clear the #{self.tag} filter first (t, then empty)",
                            severity="warning")
            return
        self.last_search = text
        start = self.line_to_row(self.cursor)[0]

        def done(result: dict[str, Any] | None, problem: BaseException | None) -> None:
            match = result.get("match") if isinstance(result, dict) else None
            if problem is not None:
                self.app.notify(f"search: {problem}", severity="error")
            elif not isinstance(match, int):
                self.app.notify(f"No input, label or tag contains {text!r}", severity="warning")
            else:
                self.move_to(self.row_to_line(match))

        self.source.search(text, start, direction, done)

    def action_search_again(self, direction: int) -> None:
        if self.last_search:
            self.search(self.last_search, direction)
        else:
            self.action_search()

    # --- dialogs (the controller runs them) ------------------------------------------------------

    def action_annotate(self) -> None:
        self.post_message(self.Request("annotate", self.current_item))

    def action_filter_tag(self) -> None:
        self.post_message(self.Request("filter_tag", self.current_item))

    def action_snapshot(self) -> None:
        self.post_message(self.Request("snapshot", self.current_item))

    def action_restore(self) -> None:
        self.post_message(self.Request("restore", self.current_item))
