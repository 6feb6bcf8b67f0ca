"""The first frame's CSS: every widget type's default CSS added at once, before the first widget
is styled, so that Textual's restyle of the whole screen when it is first shown can be skipped.

Why: Textual adds a widget type's ``DEFAULT_CSS`` to the stylesheet when the first widget of that
type is mounted. The main screen mounts in several batches (the screen's children, then what
each of them composes), so the stylesheet grew eight times during the start: each time Textual
rebuilt its rule list and selector map, and since a widget styled before a later source was added
may lack its rules, Textual restyles every node of a screen when it is first shown
(``ScreenResume``). Together some 10 ms of the 0.3 s from launch to an input that takes keys
(issue 12).

``add_default_css`` adds the sources of the first frame's widget types in the order Textual would
(the same sources, tie breakers and scopes, by Textual's own ``_get_default_css``), before the
screen composes; ``FirstFrameStyles`` notes how many sources the stylesheet holds then, and on the
screen's first ``ScreenResume`` skips the restyle only if none was added since: every node was
then styled with the complete stylesheet when it was mounted, and restyled by Textual on every
change of its classes, pseudo classes or theme since. A widget type missing from the list only
makes the start slower (the restyle runs), never wrong. ``tests/tui/test_first_frame_css.py``
checks that the list yields Textual's own sources in Textual's order and that the styles are those
of a full restyle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from textual import events
from textual.dom import DOMNode

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App


class _ClassAsNode:
    """What ``DOMNode._get_default_css`` reads of a node (its CSS bases), for a class not yet
    instantiated."""

    def __init__(self, node_class: type[DOMNode]) -> None:
        self._node_bases = node_class._css_bases(node_class)


def default_css_sources(node_class: type[DOMNode]) -> list[tuple[Any, str, int, str]]:
    """(location, css, tie breaker, scope) of ``node_class``'s default CSS and its bases', as
    Textual adds them when a widget of that type is mounted (``Widget._post_register``)."""
    return DOMNode._get_default_css(_ClassAsNode(node_class))  # type: ignore[arg-type]


def add_default_css(app: App[Any], node_classes: Iterable[type[DOMNode]]) -> None:
    """Add the default CSS of ``node_classes`` (in this order) to ``app``'s stylesheet."""
    add_source = app.stylesheet.add_source
    for node_class in node_classes:
        for read_from, css, tie_breaker, scope in default_css_sources(node_class):
            add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope)


class FirstFrameStyles:
    """Decides whether a screen's first ``ScreenResume`` needs its restyle (see the module docstring)."""

    def __init__(self) -> None:
        self._sources_at_start: int | None = None
        self.skipped = False
        """Whether the first resume's restyle was skipped (tests read it)."""
        self._resumed = False

    def prepare(self, app: App[Any], node_classes: Sequence[type[DOMNode]]) -> None:
        """Add the first frame's default CSS and note the stylesheet's size (before any of the
        screen's widgets is styled)."""
        add_default_css(app, node_classes)
        self._sources_at_start = len(app.stylesheet.source)

    def screen_resumed(self, app: App[Any], event: events.ScreenResume) -> None:
        """Called first on every ``ScreenResume`` of the screen: the first one keeps its restyle
        only if the stylesheet grew since ``prepare``."""
        if self._resumed:
            return
        self._resumed = True
        if self._sources_at_start is not None and len(app.stylesheet.source) == self._sources_at_start:
            event.refresh_styles = False
            self.skipped = True
