"""The Sessions table: a virtual list of every session with its size, last access, counts, clients
and lock (the widget inside the Sessions pane, ``sessions_pane``).

``SessionsTable`` is a ``ScrollView`` whose height is the number of shown rows, and only the rows on
screen are formatted and drawn, so 10,000 sessions cost what the visible ten cost (a ``DataTable``
took 3 s to paint 10,000 rows). Line 0 is the header, which stays put while the rows scroll under
it and marks the sorted column. The highlight stays on the row the user chose, and moves to a
session just created or opened as soon as a listing has it.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omega_tui.components.sessions_rows import Column, SortKey, cell_text, filter_rows, fit, fit_columns, sort_rows
from omega_tui.keys import bindings_for

__all__ = ["SessionsTable", "AGE_REPAINT_S"]

AGE_REPAINT_S = 30.0
"""How often the visible rows are redrawn while idle, so "12 s ago" ages (one repaint of ~10 lines)."""

MOVE_BINDINGS = [
    Binding("up,k", "move(-1)", "Up", show=False),
    Binding("down,j", "move(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home,g", "ends(-1)", "First", show=False),
    Binding("end,G", "ends(1)", "Last", show=False),
]


class SessionsTable(ScrollView, can_focus=True, inherit_bindings=False):
    BINDINGS = bindings_for("sessions") + MOVE_BINDINGS

    COMPONENT_CLASSES = {
        "sessions--header",
        "sessions--cursor",
        "sessions--cursor-blurred",
        "sessions--current",
        "sessions--stripe",
        "sessions--empty",
        "sessions--damaged",
        "sessions--degraded",
    }

    DEFAULT_CSS = """
    SessionsTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    SessionsTable > .sessions--header { color: $text-primary; text-style: bold; background: $panel; }
    SessionsTable > .sessions--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    SessionsTable > .sessions--cursor-blurred { background: $block-cursor-blurred-background; }
    SessionsTable > .sessions--current { text-style: bold; }
    SessionsTable > .sessions--stripe { background: $surface-lighten-1 30%; }
    SessionsTable > .sessions--empty { color: $text-muted; text-style: italic; }
    SessionsTable > .sessions--damaged { color: $text-error; text-style: bold; }
    SessionsTable > .sessions--degraded { color: $text-warning; }
    """

    class Command(Message):
        """The user asked for ``action`` (open, new, fork, rename, delete, refresh) on ``name``."""

        def __init__(self, action: str, name: str | None) -> None:
            super().__init__()
            self.action = action
            self.name = name

    class Changed(Message):
        """The shown rows, the order or the filter changed (the pane updates its titles)."""

    class FilterWanted(Message):
        """``/`` was pressed: the pane opens its filter input."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows_data: list[dict[str, Any]] = []
        """Every row as the server listed it (unfiltered, in its order)."""
        self.shown: list[dict[str, Any]] = []
        """The rows on display: filtered, then sorted."""
        self.current: str | None = None
        self.deterministic = False
        self.cursor_row = 0
        self.sort_key = SortKey.NAME
        self.filter_text = ""
        self.loaded = False
        self._follow: str | None = None
        self._columns: list[Column] = []
        self._columns_for: tuple[int, int, SortKey] | None = None

    def on_mount(self) -> None:
        self.set_interval(AGE_REPAINT_S, self._repaint_ages)

    def _repaint_ages(self) -> None:
        if not self.deterministic and self.shown:
            self.refresh()

    # --- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows on display (after the filter)."""
        return len(self.shown)

    @property
    def highlighted_name(self) -> str | None:
        if not 0 <= self.cursor_row < len(self.shown):
            return None
        return str(self.shown[self.cursor_row].get("name"))

    def set_rows(self, rows: list[dict[str, Any]], current: str | None) -> None:
        """Show ``rows``; the highlight stays on its session, or follows ``current`` when that is a
        session just created or opened (it may be listed only by a later call: it is followed then)."""
        if current is not None and current != self.current:
            self._follow = current
        self.current = current
        self.rows_data = list(rows)
        self.loaded = True
        self._rebuild(keep=self.highlighted_name)

    def follow(self, name: str) -> None:
        """Move the highlight to ``name`` now, or as soon as a listing has it."""
        self._follow = name
        self._rebuild(keep=self.highlighted_name)

    def set_filter(self, text: str) -> None:
        if text == self.filter_text:
            return
        self.filter_text = text
        self._rebuild(keep=self.highlighted_name)

    def cycle_sort(self) -> None:
        self.sort_key = self.sort_key.next
        self._rebuild(keep=self.highlighted_name)

    def _rebuild(self, keep: str | None) -> None:
        follow = self._follow
        if follow is not None and self.filter_text and follow in self._names(self.rows_data):
            if follow not in self._names(filter_rows(self.rows_data, self.filter_text)):
                self.filter_text = ""  # the filter hides the session just opened: show it
        self.shown = sort_rows(filter_rows(self.rows_data, self.filter_text), self.sort_key)
        names = self._names(self.shown)
        target = None
        if follow is not None and follow in names:
            target, self._follow = follow, None
        elif keep is not None and keep in names:
            target = keep
        if target is not None:
            self.cursor_row = names.index(target)
        self.cursor_row = max(0, min(self.cursor_row, len(self.shown) - 1))
        self._columns_for = None
        self.virtual_size = Size(1, len(self.shown) + 1)
        self.scroll_to_cursor()
        self.refresh()
        self.post_message(self.Changed())

    @staticmethod
    def _names(rows: list[dict[str, Any]]) -> list[str]:
        return [str(row.get("name")) for row in rows]

    # --- drawing ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._columns_for = None
        self.virtual_size = Size(1, len(self.shown) + 1)

    def columns(self, width: int) -> list[Column]:
        key = (width, len(self.shown), self.sort_key)
        if key != self._columns_for:
            self._columns = fit_columns(width, self.shown or self.rows_data, self.sort_key)
            self._columns_for = key
        return self._columns

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        columns = self.columns(width)
        if y == 0:
            header = " ".join(fit(column.label, column.width, column.right) for column in columns)
            return Strip([Segment(header, self.get_component_rich_style("sessions--header"))]).crop_extend(
                0, width, base)
        index = self.scroll_offset.y + y - 1
        if not self.shown:
            if y != 1:
                return Strip.blank(width, base)
            if not self.loaded:
                message = "loading sessions…"
            elif self.rows_data:
                message = f"no session name contains '{self.filter_text}' (escape clears the filter)"
            else:
                message = "no sessions yet (n creates one)"
            return Strip([Segment(fit(message, width), self.get_component_rich_style("sessions--empty"))], width)
        if index >= len(self.shown):
            return Strip.blank(width, base)
        return self._row_strip(self.shown[index], index, columns, width, base)

    def _row_strip(self, row: dict[str, Any], index: int, columns: list[Column], width: int, base: Style) -> Strip:
        name = str(row.get("name"))
        is_current = name == self.current
        style = base
        if index % 2:
            style = style + self.get_component_rich_style("sessions--stripe")
        if is_current:
            style = style + self.get_component_rich_style("sessions--current")
        if index == self.cursor_row:
            style = style + self.get_component_rich_style("sessions--cursor" if self.has_focus else "sessions--cursor-blurred")
        segments: list[Segment] = []
        for position, column in enumerate(columns):
            if position:
                segments.append(Segment(" ", style))
            if column.key == "name":
                segments.extend(self._name_segments(row, name, is_current, column.width, style))
            else:
                segments.append(Segment(fit(cell_text(row, column.key, self.deterministic), column.width, column.right), style))
        return Strip(segments).crop_extend(0, width, style)

    def _name_segments(self, row: dict[str, Any], name: str, is_current: bool, width: int, style: Style) -> list[Segment]:
        note, note_class = "", ""
        if row.get("damaged"):  # the log failed validation: read-only until ":session repair NAME"
            note, note_class = " ⚠ damaged", "sessions--damaged"
        elif row.get("degraded"):  # a background job failed for this session
            note, note_class = " ⚠ degraded", "sessions--degraded"
        label = ("● " if is_current else "  ") + name
        if not note:
            return [Segment(fit(label, width), style)]
        room = max(0, width - len(note))
        if len(label) > room:
            label = fit(label, room)
        text = Text(label + note, style=style)
        text.stylize(style + self.get_component_rich_style(note_class), len(label))
        text.truncate(width, pad=True)
        return list(text.render(self.app.console))

    # --- moving ----------------------------------------------------------------------------------

    @property
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        self._follow = None  # the user chose a row: a session opened meanwhile does not take it
        if not self.shown:
            return
        self.cursor_row = max(0, min(index, len(self.shown) - 1))
        self.scroll_to_cursor()
        self.refresh()

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """``DataTable``'s name for ``move_to`` (callers written for the old table keep working)."""
        self.move_to(row)

    def scroll_to_cursor(self) -> None:
        rows = self._page_rows
        top = self.scroll_offset.y
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + rows:
            top = self.cursor_row - rows + 1
        top = max(0, min(top, len(self.shown) + 1 - max(1, self.scrollable_content_region.height)))
        if top != self.scroll_offset.y:
            self.scroll_target_y = top
            self.scroll_y = top

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor_row + direction * self._page_rows)

    def action_ends(self, direction: int) -> None:
        self.move_to(0 if direction < 0 else len(self.shown) - 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        """A click on the header cycles the order; on a row selects it; a double click opens it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self.cycle_sort()
            return
        index = self.scroll_offset.y + offset.y - 1
        if 0 <= index < len(self.shown):
            self.move_to(index)
            if event.chain >= 2:
                self._command("open")

    # --- commands --------------------------------------------------------------------------------

    def _command(self, action: str) -> None:
        self.post_message(self.Command(action, self.highlighted_name))

    def action_open_session(self) -> None:
        self._command("open")

    def action_new_session(self) -> None:
        self._command("new")

    def action_fork_session(self) -> None:
        self._command("fork")

    def action_rename_session(self) -> None:
        self._command("rename")

    def action_delete_session(self) -> None:
        self._command("delete")

    def action_refresh(self) -> None:
        self._command("refresh")

    def action_filter(self) -> None:
        self.post_message(self.FilterWanted())

    def action_cycle_sort(self) -> None:
        self.cycle_sort()
