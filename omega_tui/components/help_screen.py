"""The help screen (``?``): every key binding, grouped by the pane it works in, with its current
key after the user's keymap (the same table the footer and the command palette use)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omega_tui.keys import KEYS, SCOPES, current_key

KEY_NAMES = {"left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?"}


def help_table(keymap: dict[str, str]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what")
    for scope, title in SCOPES.items():
        specs = [spec for spec in KEYS if spec.scope == scope]
        if not specs:
            continue
        table.add_row(Text(title, style="bold underline"), "")
        for spec in specs:
            keys = ", ".join(KEY_NAMES.get(key.strip(), key.strip()) for key in current_key(spec, keymap).split(","))
            table.add_row(keys, spec.description)
    table.add_row("", "")
    table.add_row(Text("REPL input", style="bold underline"), "")
    table.add_row("escape", "take the last queued input back (cancel it before it runs)")
    table.add_row("ctrl+p", "command palette: every command, searchable")
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every binding by pane; escape, q or ? closes it."""

    BINDINGS = [("escape", "dismiss", "Close"), ("q", "dismiss", "Close"), ("question_mark", "dismiss", "Close")]

    def __init__(self, keymap: dict[str, str], **kwargs: Any) -> None:
        super().__init__(classes="dialog", **kwargs)
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog-box help-box"):
            yield Static(Text("Keys (escape closes)", style="bold"))
            yield Static(help_table(self.keymap))
