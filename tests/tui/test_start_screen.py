"""``StartScreen`` (``components.start_screen``): what the main screen skips before its first frame
changes nothing that Textual's own passes would give: the same CSS sources in the same order, the
same styles on every node, and the screen laid out once before the first frame."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.dom import DOMNode
from textual.geometry import Size
from textual.screen import Screen

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.start_screen import StartScreen
from omega_tui.main_screen import MainScreen

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


def comparable(rules: dict[str, Any]) -> dict[str, Any]:
    """Rules with values that compare by identity only (a layout object) given by their repr."""
    return {name: repr(value) if type(value).__eq__ is object.__eq__ else value for name, value in rules.items()}


def styles_of(node: DOMNode) -> tuple[Any, ...]:
    """A node's rules from CSS, and those of its component classes."""
    components = tuple(sorted((name, comparable(styles.base._rules)) for name, styles in node._component_styles.items()))
    return comparable(node.styles.base._rules), components


class FirstFrame(OmegaApp):
    """The app, noting at its first frame the stylesheet's sources, every node's styles, and how
    often the screen was laid out until then."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Config(), client_factory=lambda: CannedClient(), deterministic=True, **kwargs)
        self.layouts = 0
        self.seen: dict[str, Any] = {}

    def on_ready(self) -> None:
        nodes = list(self.main.walk_children(with_self=True))
        self.seen["sources"] = list(self.stylesheet.source.items())
        self.seen["layouts"] = self.layouts
        self.seen["styles"] = {id(node): (repr(node), styles_of(node)) for node in nodes}
        self.stylesheet.update_nodes(nodes, animate=False)  # Textual's full restyle
        self.seen["restyled"] = {id(node): (repr(node), styles_of(node)) for node in nodes}


async def first_frame(monkeypatch: pytest.MonkeyPatch, shortcuts: bool) -> FirstFrame:
    original = Screen._refresh_layout

    def counted(screen: Screen, *args: Any, **kwargs: Any) -> None:
        if isinstance(screen, MainScreen):
            screen.app.layouts += 1  # type: ignore[attr-defined]
        original(screen, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    if not shortcuts:  # Textual's way: no CSS added ahead, so every pass runs as Textual has it
        monkeypatch.setattr(StartScreen, "prepare_styles", lambda self, classes: None)
        monkeypatch.setattr(StartScreen, "_update_focus_styles", Screen._update_focus_styles)
        monkeypatch.setattr(StartScreen, "_on_resize", lambda self, event: None)
    app = FirstFrame()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "restyled" in app.seen, 10, "the first frame")
    return app


async def test_the_first_frame_has_textuals_css_and_styles_with_less_work(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = await first_frame(monkeypatch, shortcuts=True)
    assert ours.main.restyle_skipped, "the first ScreenResume restyled the whole screen"
    assert ours.seen["styles"] == ours.seen["restyled"], "a node's styles differ from a full restyle's"
    assert ours.seen["layouts"] == 1, f"laid out {ours.seen['layouts']} times before the first frame"
    monkeypatch.undo()
    textuals = await first_frame(monkeypatch, shortcuts=False)
    assert not textuals.main.restyle_skipped
    assert textuals.seen["layouts"] > 1  # the resizes to its own size (what the shortcut saves)
    assert ours.seen["sources"] == textuals.seen["sources"], "FIRST_FRAME_TYPES is not in Textual's order"
    by_place = lambda seen: [styles for _, styles in seen["styles"].values()]  # noqa: E731
    assert by_place(ours.seen) == by_place(textuals.seen)


async def test_another_theme_at_start_gives_the_styles_of_a_full_restyle(monkeypatch: pytest.MonkeyPatch) -> None:
    # the app sets the configured theme on mount: Textual then reparses the CSS and restyles
    original = FirstFrame.__init__

    def themed(self: FirstFrame) -> None:
        original(self, theme="textual-light")

    monkeypatch.setattr(FirstFrame, "__init__", themed)
    app = await first_frame(monkeypatch, shortcuts=True)
    assert app.theme == "textual-light"
    assert app.seen["styles"] == app.seen["restyled"]


async def test_a_css_source_added_after_prepare_keeps_the_restyle(monkeypatch: pytest.MonkeyPatch) -> None:
    # a widget type missing from FIRST_FRAME_TYPES makes the start slower, never wrong
    monkeypatch.setattr(MainScreen, "FIRST_FRAME_TYPES", MainScreen.FIRST_FRAME_TYPES[:-3])
    app = await first_frame(monkeypatch, shortcuts=True)
    assert not app.main.restyle_skipped
    assert app.seen["styles"] == app.seen["restyled"]


async def test_before_the_first_frame_only_a_resize_to_the_screens_own_size_is_dropped() -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.first_paint is not None, 10, "the first frame")
        screen = app.main
        assert not screen.before_first_frame
        events_seen = {}
        for before in (True, False):
            screen.before_first_frame = before
            for size in ((120, 40), (100, 30)):
                event = events.Resize(Size(*size), Size(*size))
                screen._on_resize(event)
                events_seen[before, size] = event._no_default_action  # True: Textual's handler skipped
        screen.before_first_frame = False
    assert events_seen == {(True, (120, 40)): True, (True, (100, 30)): False,
                           (False, (120, 40)): False, (False, (100, 30)): False}
