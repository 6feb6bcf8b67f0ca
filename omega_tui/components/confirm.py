"""Small modal dialogs: a yes/no confirmation, a form of text fields and a choice from a list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from omega_tui.keys import bindings_for


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True (yes) or False (no, escape)."""

    BINDINGS = bindings_for("dialog", ("dialog.yes", "dialog.no", "dialog.cancel"))

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Confirm"
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes_label, variant="error", id="yes")
                yield Button(self.no_label, variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_cancel(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""


class FormScreen(ModalScreen["dict[str, str] | None"]):
    """A few text fields; enter in the last field (or OK) submits, escape cancels (None)."""

    BINDINGS = bindings_for("dialog", ("dialog.cancel",))

    def __init__(self, title: str, fields: list[Field], ok: str = "OK", note: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.fields = fields
        self.ok_label = ok
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = self.title_text
            if self.note:
                yield Static(self.note, classes="dialog-text")
            for field in self.fields:
                yield Label(field.label)
                yield Input(value=field.value, placeholder=field.placeholder, id=f"field-{field.name}")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ok_label, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def values(self) -> dict[str, str]:
        return {field.name: self.query_one(f"#field-{field.name}", Input).value for field in self.fields}

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.dismiss(self.values())
        else:
            inputs[inputs.index(event.input) + 1].focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.values() if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen["tuple[Any, dict[str, str]] | None"]):
    """Pick one of ``choices`` (value, text); optional extra fields. Dismisses with (value, fields)."""

    BINDINGS = bindings_for("dialog", ("dialog.cancel",))

    def __init__(self, title: str, choices: list[tuple[Any, str]], fields: list[Field] | None = None,
                 empty: str = "nothing to choose") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.choices = choices
        self.fields = fields or []
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = self.title_text
            if self.choices:
                yield OptionList(*[Option(text, id=str(index)) for index, (_, text) in enumerate(self.choices)])
            else:
                yield Static(self.empty, classes="dialog-text")
            for field in self.fields:
                yield Label(field.label)
                yield Input(value=field.value, placeholder=field.placeholder, id=f"field-{field.name}")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        lists = self.query(OptionList)
        if lists:
            lists.first().focus()
            lists.first().highlighted = 0
        else:
            self.query_one("#cancel", Button).focus()

    def _fields(self) -> dict[str, str]:
        return {field.name: self.query_one(f"#field-{field.name}", Input).value for field in self.fields}

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        self.dismiss((self.choices[index][0], self._fields()))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        lists = self.query(OptionList)
        if lists and lists.first().highlighted is not None:
            self.dismiss((self.choices[lists.first().highlighted][0], self._fields()))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
