"""Every key binding of the app in one table: id, default key, action, description, where it lives.

The id is what a user writes in the config file's ``[keymap]`` table to move a binding to another
key (``timeline.goto = "ctrl+g"``); the app hands that table to ``App.set_keymap``. The panes build
their ``BINDINGS`` from here and the command palette lists every row, so the footer, the palette
and the keymap can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding

__all__ = ["KEYS", "KeySpec", "bindings_for", "by_id", "check_keymap", "current_key"]

SCOPES = {
    "app": "App",
    "screen": "Panes",
    "repl": "REPL",
    "sessions": "Sessions",
    "timeline": "Timeline",
    "metrics": "Metrics",
    "dialog": "Dialog",
}

PANES_GROUP = Binding.Group("Pane", compact=True)
HISTORY_GROUP = Binding.Group("History", compact=True)
MOVE_GROUP = Binding.Group("Move", compact=True)
INPUT_GROUP = Binding.Group("Prev/next input", compact=True)
FOLD_GROUP = Binding.Group("Unfold/fold", compact=True)
MATCH_GROUP = Binding.Group("Next/prev match", compact=True)
ENDS_GROUP = Binding.Group("First/last", compact=True)
CYCLE_GROUP = Binding.Group("Pane", compact=False)
SCROLL_GROUP = Binding.Group("Scroll log", compact=False)
PAGE_GROUP = Binding.Group("Page", compact=False)


@dataclass(frozen=True)
class KeySpec:
    id: str
    key: str
    action: str
    description: str
    scope: str
    show: bool = True
    priority: bool = False
    key_display: str | None = None
    group: Binding.Group | None = None

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.show, priority=self.priority,
                       key_display=self.key_display, id=self.id, group=self.group)


KEYS: tuple[KeySpec, ...] = (
    # Whole app (priority: they work wherever the focus is).
    KeySpec("app.quit", "ctrl+q", "quit", "Quit", "app", priority=True),
    KeySpec("app.interrupt", "ctrl+c", "interrupt", "Interrupt", "app", priority=True),
    KeySpec("app.restart_server", "f5", "restart_server", "Start server", "app", priority=True, show=False),
    KeySpec("app.steal_access", "ctrl+w", "steal_access", "Take write access", "app", show=False,
            priority=True),
    # Moving between panes (on the main screen, so dialogs keep tab for their own fields).
    KeySpec("pane.help", "question_mark", "help", "Help", "screen", key_display="?"),
    KeySpec("pane.next", "tab", "next_pane", "Next pane", "screen", group=CYCLE_GROUP, show=False),
    KeySpec("pane.previous", "shift+tab", "previous_pane", "Previous pane", "screen", key_display="⇧tab", group=CYCLE_GROUP, show=False),
    KeySpec("pane.repl", "f1,alt+1", "focus_pane('repl')", "REPL", "screen", group=PANES_GROUP,
            key_display="F1"),
    KeySpec("pane.sessions", "f2,alt+2", "focus_pane('sessions')", "Sessions", "screen", group=PANES_GROUP,
            key_display="F2"),
    KeySpec("pane.timeline", "f3,alt+3", "focus_pane('timeline')", "Timeline", "screen", group=PANES_GROUP,
            key_display="F3"),
    KeySpec("pane.metrics", "f4,alt+4", "focus_pane('metrics')", "Metrics", "screen", group=PANES_GROUP,
            key_display="F4"),
    # REPL input.
    KeySpec("repl.submit", "enter", "submit", "Run", "repl"),
    KeySpec("repl.newline", "ctrl+j", "newline", "Newline", "repl", key_display="^j", show=False),
    KeySpec("repl.history_previous", "up", "history_previous", "History", "repl", group=HISTORY_GROUP, show=False),
    KeySpec("repl.history_next", "down", "history_next", "History", "repl", group=HISTORY_GROUP, show=False),
    KeySpec("repl.clear", "ctrl+l", "clear_log", "Clear log", "repl", show=False),
    KeySpec("repl.scroll_up", "pageup", "scroll_log(-1)", "Scroll log up", "repl", group=SCROLL_GROUP, show=False),
    KeySpec("repl.scroll_down", "pagedown", "scroll_log(1)", "Scroll log down", "repl", group=SCROLL_GROUP, show=False),
    # Sessions table.
    KeySpec("sessions.open", "enter", "open_session", "Open", "sessions"),
    KeySpec("sessions.new", "n", "new_session", "New", "sessions"),
    KeySpec("sessions.fork", "f", "fork_session", "Fork", "sessions"),
    KeySpec("sessions.rename", "r", "rename_session", "Rename", "sessions"),
    KeySpec("sessions.delete", "d", "delete_session", "Delete", "sessions"),
    KeySpec("sessions.refresh", "ctrl+r", "refresh", "Refresh", "sessions"),
    KeySpec("sessions.filter", "slash", "filter", "Filter", "sessions", key_display="/"),
    KeySpec("sessions.sort", "s", "cycle_sort", "Sort", "sessions"),
    # Timeline (the footer shows them in this order). Only enter changes the session (a recorded
    # goto); every other key browses.
    KeySpec("timeline.goto", "enter", "goto", "Go here", "timeline"),
    KeySpec("timeline.previous_input", "left_square_bracket", "step_input(-1)", "Prev input", "timeline",
            key_display="[", group=INPUT_GROUP),
    KeySpec("timeline.next_input", "right_square_bracket", "step_input(1)", "Next input", "timeline",
            key_display="]", group=INPUT_GROUP),
    KeySpec("timeline.search", "slash", "search", "Search", "timeline", key_display="/"),
    KeySpec("timeline.toggle_fold", "space", "toggle_fold", "Fold", "timeline", key_display="␣"),
    KeySpec("timeline.expand", "right,l", "expand", "Unfold", "timeline", group=FOLD_GROUP, show=False),
    KeySpec("timeline.collapse", "left,h", "collapse", "Fold", "timeline", group=FOLD_GROUP, show=False),
    KeySpec("timeline.next_match", "n", "search_again(1)", "Next match", "timeline", group=MATCH_GROUP, show=False),
    KeySpec("timeline.previous_match", "N", "search_again(-1)", "Prev match", "timeline", group=MATCH_GROUP,
            show=False),
    KeySpec("timeline.annotate", "a", "annotate", "Annotate", "timeline"),
    KeySpec("timeline.filter_tag", "t", "filter_tag", "Tag filter", "timeline"),
    KeySpec("timeline.snapshot", "s", "snapshot", "Snapshot", "timeline"),
    KeySpec("timeline.restore", "r", "restore", "Restore", "timeline"),
    KeySpec("timeline.up", "up,k", "cursor_up", "Up", "timeline", group=MOVE_GROUP),
    KeySpec("timeline.down", "down,j", "cursor_down", "Down", "timeline", group=MOVE_GROUP),
    KeySpec("timeline.first", "g", "first", "First", "timeline", group=ENDS_GROUP),
    KeySpec("timeline.last", "G", "last", "Last", "timeline", group=ENDS_GROUP),
    KeySpec("timeline.page_up", "pageup", "page(-1)", "Page up", "timeline", group=PAGE_GROUP),
    KeySpec("timeline.page_down", "pagedown", "page(1)", "Page down", "timeline", group=PAGE_GROUP),
    # Metrics.
    KeySpec("metrics.refresh", "r", "refresh", "Refresh", "metrics"),
    # Dialogs.
    KeySpec("dialog.yes", "y", "answer(True)", "Yes", "dialog"),
    KeySpec("dialog.no", "n", "answer(False)", "No", "dialog"),
    KeySpec("dialog.cancel", "escape", "cancel", "Cancel", "dialog"),
)

by_id: dict[str, KeySpec] = {spec.id: spec for spec in KEYS}


def bindings_for(scope: str, ids: tuple[str, ...] | None = None) -> list[Binding]:
    return [spec.binding() for spec in KEYS if spec.scope == scope and (ids is None or spec.id in ids)]


def current_key(spec: KeySpec, keymap: Mapping[str, str]) -> str:
    """The key(s) ``spec`` is on after the user's keymap."""
    return keymap.get(spec.id, spec.key)


def check_keymap(keymap: Mapping[str, str]) -> list[str]:
    """Warnings for keymap entries that name no binding (a typo would otherwise do nothing)."""
    import difflib

    problems = []
    for binding_id in keymap:
        if binding_id not in by_id:
            close = difflib.get_close_matches(binding_id, list(by_id), n=1)
            problems.append(f"[keymap] {binding_id}: no such binding" + (f" (did you mean {close[0]}?)" if close else ""))
    return problems
