"""The Sessions pane: the ``/`` filter line above the virtual ``SessionsTable``, and the titles.

Keys (in the table): enter opens the highlighted session; n, f, r and d ask for a new session's
name, a fork's name, a new name, or a confirmation, then the app does it on the server; ``/``
filters by name as you type (enter goes back to the table, escape clears), ``s`` cycles the order
(name, last access, size). The subtitle says how many sessions are shown and in which order.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from omega_tui.components.sessions_rows import human_bytes, human_time
from omega_tui.components.sessions_table import SessionsTable
from omega_tui.components.pane_titles import set_border_subtitle

__all__ = ["SessionsPane", "SessionsTable", "SessionsFilter", "human_bytes", "human_time"]


class SessionsFilter(Input):
    """The ``/`` filter line above the table: filters as you type; enter keeps the filter and goes
    back to the table, escape clears it."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=True),
                Binding("down", "back_to_table", "To the table", show=False)]

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Done())

    def action_back_to_table(self) -> None:
        self.post_message(self.Done())

    class Done(Message):
        """Back to the table (the filter stays as typed; empty hides the line)."""


class SessionsPane(Vertical):
    DEFAULT_CSS = """
    SessionsPane > SessionsFilter, SessionsPane > SessionsFilter:focus {
        height: 1; border: none; padding: 0 1; display: none; background: $boost;
    }
    SessionsPane > SessionsFilter.shown { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Sessions"

    def compose(self):  # type: ignore[no-untyped-def]
        yield SessionsFilter(placeholder="/ filter by name (escape clears)", id="sessions-filter")
        yield SessionsTable(id="sessions-table")

    @property
    def table(self) -> SessionsTable:
        return self.query_one(SessionsTable)

    @property
    def filter_input(self) -> SessionsFilter:
        return self.query_one(SessionsFilter)

    @on(SessionsTable.FilterWanted)
    def _open_filter(self) -> None:
        box = self.filter_input
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#sessions-filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        self.table.set_filter(message.value)

    @on(Input.Submitted, "#sessions-filter")
    @on(SessionsFilter.Done)
    def _filter_done(self) -> None:
        box = self.filter_input
        if not box.value:
            box.remove_class("shown")
        self.table.focus()

    @on(SessionsTable.Changed)
    def _table_changed(self) -> None:
        table = self.table
        box = self.filter_input
        if box.value != table.filter_text:  # the table cleared it (a session just opened was hidden)
            box.value = table.filter_text
            if not table.filter_text and not box.has_focus:
                box.remove_class("shown")
        total = len(table.rows_data)
        if not table.loaded:
            set_border_subtitle(self, "")
            return
        count = f"{len(table.shown):,} of {total:,}" if table.filter_text else f"{total:,}"
        set_border_subtitle(self, f"{count} · by {table.sort_key.title}")
