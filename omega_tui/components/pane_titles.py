"""Setting a pane's border subtitle only when it changes.

Why: Textual's ``border_subtitle`` setter refreshes the whole widget every time, even to the same
text. For a pane (a container as big as a third of the screen) that is a full re-render: the app
sets the REPL pane's subtitle on every status change (several per command, ten per second while a
command runs), which cost milliseconds of every frame between Enter and its painted result.
"""

from __future__ import annotations

from textual.widget import Widget


def set_border_subtitle(widget: Widget, text: str) -> None:
    """``widget.border_subtitle = text``, skipped when ``text`` is what this function last set."""
    if getattr(widget, "_omega_border_subtitle", None) == text:
        return
    widget._omega_border_subtitle = text  # type: ignore[attr-defined]
    widget.border_subtitle = text
