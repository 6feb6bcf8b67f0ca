"""A screen that skips, before its first frame, the work Textual does for screens in general but
that a screen being drawn for the first time does not need.

Why: the app must take keys within 0.3 s of its launch (issue 12), and Textual's own imports take
two thirds of that. Of what Textual then does for the main screen up to its first frame, some
15 ms went to passes that change nothing on a screen that was never drawn:

* **Default CSS, added piecemeal, then the whole screen restyled.** Textual adds a widget type's
  ``DEFAULT_CSS`` to the stylesheet when the first widget of that type mounts; the main screen
  mounts in several batches (its children, then what each of them composes), and a widget
  styled before a later type's CSS arrived may lack rules, so Textual restyles every node of a
  screen when it is shown (``ScreenResume``). ``prepare_styles`` adds the CSS of every type of
  the first frame at once, in Textual's own order and by Textual's own ``_get_default_css``,
  before the first widget is styled; the first ``ScreenResume`` then skips its restyle, but only
  if no source was added since (a type missing from the list makes the start slower, never
  wrong).
* **The first focus restyles a whole pane.** Focusing the REPL input changes the REPL pane's
  ``:focus-within``, and Textual restyles the pane and everything in it (the input's CSS alone,
  with its component classes, costs a millisecond) in case some of it is drawn from styles it
  inherits. Before the first frame nothing is drawn, so only the nodes whose rules name
  ``:focus-within`` can change: they alone are restyled (``_update_focus_styles``). After the
  first frame, Textual's own pass runs.
* **Resizes to the size the screen has.** The terminal driver and the app each announce the
  terminal's size after the screen has been laid out at that size; each announcement laid the
  whole screen out again. Before the first frame a resize to the screen's own size is dropped
  (a real resize always goes through).

Each shortcut leans on a Textual 8 internal (``DOMNode._get_default_css``, ``DOMNode._css_bases``,
``Screen._update_focus_styles``, ``ScreenResume.refresh_styles``); ``tests/tui/test_start_screen.py``
checks that the stylesheet's sources, the styles of every node and the first frame are those
Textual's own passes give.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from textual import events
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets._toast import ToastRack
from textual.widgets._tooltip import Tooltip

from omega_tui.components.prompt_paint import PromptPaintScreen

if TYPE_CHECKING:  # pragma: no cover - types only
    from textual.app import App


class _ClassAsNode:
    """What ``DOMNode._get_default_css`` reads of a node (its CSS bases), for a class."""

    def __init__(self, node_class: type[DOMNode]) -> None:
        self._node_bases = node_class._css_bases(node_class)


def default_css_sources(node_class: type[DOMNode]) -> list[tuple[Any, str, int, str]]:
    """(location, css, tie breaker, scope) of the default CSS of ``node_class`` and its bases, as
    Textual adds them when a widget of that type mounts (``Widget._post_register``)."""
    return DOMNode._get_default_css(_ClassAsNode(node_class))  # type: ignore[arg-type]


def add_default_css(app: App[Any], node_classes: Iterable[type[DOMNode]]) -> None:
    """Add the default CSS of ``node_classes``, in this order, to ``app``'s stylesheet."""
    add_source = app.stylesheet.add_source
    for node_class in node_classes:
        for read_from, css, tie_breaker, scope in default_css_sources(node_class):
            add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope)


class StartScreen(PromptPaintScreen):
    """A screen that skips, before its first frame, what that frame does not need (see the
    module docstring). The app calls ``prepare_styles`` before the screen composes and
    ``first_frame_shown`` once the first frame is on screen."""

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._sources_prepared: int | None = None
        """How many CSS sources the stylesheet held once ``prepare_styles`` added the first frame's."""
        self._resumed = False
        self.restyle_skipped = False
        """Whether the first ``ScreenResume`` skipped its restyle (tests read it)."""
        self.before_first_frame = True
        """Until the app's ``Ready``: same-size resizes are dropped meanwhile."""

    def prepare_styles(self, node_classes: Sequence[type[DOMNode]]) -> None:
        """Add the default CSS of the screen's own class, of Textual's widgets of every screen, then
        of the first frame's widget types ``node_classes`` (in the order Textual mounts them),
        before any of its widgets is styled."""
        add_default_css(self.app, [type(self), *self._textual_widget_types(), *node_classes])
        self._sources_prepared = len(self.app.stylesheet.source)

    def _textual_widget_types(self) -> list[type[Widget]]:
        """The widgets Textual adds to every screen (``Screen._extend_compose``), first in its
        children: the notifications' rack and the tooltip, unless the app turned them off (tests do)."""
        app = self.app
        return [*([] if app._disable_notifications else [ToastRack]), *([] if app._disable_tooltips else [Tooltip])]

    def first_frame_shown(self) -> None:
        """The first frame is on screen: from now on everything goes Textual's way."""
        self.before_first_frame = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # runs before ``Screen._on_screen_resume`` (handlers run in MRO order), which lays out and
        # paints the first frame: a restyle is needed only if CSS arrived after ``prepare_styles``
        if self._resumed:
            return
        self._resumed = True
        if self._sources_prepared is not None and len(self.app.stylesheet.source) == self._sources_prepared:
            event.refresh_styles = False
            self.restyle_skipped = True

    def _update_focus_styles(self, focused: Widget | None = None, blurred: Widget | None = None) -> None:
        if self._resumed or blurred is not None or focused is None:
            super()._update_focus_styles(focused, blurred)
            return
        # before the first frame (nothing drawn yet): as Textual's, but of the subtree it would
        # restyle only the nodes whose rules name :focus-within (``_has_focus_within``, which
        # Textual sets from every selector of the rules that may apply to a node)
        for widget in reversed(focused.ancestors_with_self):
            if widget._has_focus_within:
                nodes = [node for node in widget.walk_children(with_self=True) if node._has_focus_within]
                self.app.stylesheet.update_nodes(nodes, animate=False)
                break

    def _on_resize(self, event: events.Resize) -> None:
        # runs before ``Screen._on_resize``, which lays the screen out again at any size
        if self.before_first_frame and event.size == self.size:
            event.stop()
            event.prevent_default()
