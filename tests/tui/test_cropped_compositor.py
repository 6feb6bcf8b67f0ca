"""``CroppedCompositor``: a partial frame renders only the widgets visible in its crop, and what it
writes to the terminal is what Textual's own compositor writes."""

from __future__ import annotations

import types
from typing import Any

import pytest
from textual._compositor import Compositor

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.cropped_compositor import CroppedCompositor, covered_widgets
from omega_tui.components.repl_pane import ReplPane

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


def frame_of(app: OmegaApp, compositor: Compositor, get_renders: Any, full: bool = False) -> tuple[str, set[str]]:
    """The terminal text of the pending partial frame (``full``: of a whole frame) made with
    ``get_renders``, and the ids of the widgets it rendered; the compositor's dirty regions are left
    as they were."""
    dirty = set(compositor._dirty_regions)
    rendered: set[str] = set()
    visible = compositor.visible_widgets
    originals = {widget: widget.render_lines for widget in visible}

    def spy(widget: Any) -> Any:
        def render_lines(crop: Any) -> Any:
            rendered.add(f"{type(widget).__name__}#{widget.id}")
            return originals[widget](crop)
        return render_lines

    for widget in visible:
        widget.render_lines = spy(widget)
    compositor._get_renders = types.MethodType(get_renders, compositor)  # type: ignore[method-assign]
    try:
        update = compositor.render_full_update() if full else compositor.render_partial_update()
    finally:
        del compositor._get_renders
        for widget in visible:
            del widget.render_lines
        compositor._dirty_regions = dirty
    assert update is not None
    return update.render_segments(app.console), rendered


async def test_a_partial_frame_writes_what_textual_writes_and_skips_the_side_column() -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set() and app.side_panes.filled, 10, "the canned session")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        compositor = app.screen._compositor
        assert isinstance(compositor, CroppedCompositor)
        repl = app.query_one(ReplPane)
        for index in range(60):  # past the log's height: the next line scrolls the whole log
            repl.show_notice(f"line {index}")
        await pilot.pause()
        await pilot.pause()
        seen: list[tuple[tuple[str, set[str]], tuple[str, set[str]]]] = []
        original = compositor.render_update

        def render_update(*args: Any, **kwargs: Any) -> Any:  # the next frame, made both ways first
            if not seen and compositor._dirty_regions:
                seen.append((frame_of(app, compositor, CroppedCompositor._get_renders),
                             frame_of(app, compositor, Compositor._get_renders)))
            return original(*args, **kwargs)

        compositor.render_update = render_update  # type: ignore[method-assign]
        repl.show_notice("one more line")
        await wait_for(pilot, lambda: bool(seen), 5, "the next frame")
        (ours, rendered_by_ours), (textuals, rendered_by_textual) = seen[0]
        assert ours == textuals and "one more line" in ours
        assert "ReplLog#repl-log" in rendered_by_ours
        side = {name for name in rendered_by_textual if name.split("#")[1] in ("side", "sessions", "timeline", "metrics")}
        assert side and not side & rendered_by_ours, (side, rendered_by_ours)


async def test_a_full_frame_writes_what_textual_writes_without_rendering_what_is_covered() -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set() and app.side_panes.filled, 10, "the canned session")
        await app.workers.wait_for_complete()
        await pilot.pause()
        compositor = app.screen._compositor
        ours, rendered_by_ours = frame_of(app, compositor, CroppedCompositor._get_renders, full=True)
        textuals, rendered_by_textual = frame_of(app, compositor, Compositor._get_renders, full=True)
    assert ours == textuals
    skipped = rendered_by_textual - rendered_by_ours
    # the screen behind its bars and columns, the header behind its parts, the columns behind their panes
    assert {"MainScreen#None", "Header#None", "Horizontal#main", "Vertical#side"} <= skipped, skipped
    assert "ReplPane#repl" in rendered_by_ours  # its border shows around its children


def test_a_widget_is_covered_only_by_children_that_fill_it_without_overlapping() -> None:
    from textual.geometry import Region
    from textual.widget import Widget

    parent, left, right = Widget(), Widget(), Widget()
    for child in (left, right):
        child._parent = parent
    whole = Region(0, 0, 10, 4)

    def covered(left_region: Region, right_region: Region) -> bool:
        visible = {parent: (whole, whole), left: (left_region, whole), right: (right_region, whole)}
        return parent in covered_widgets(visible)

    assert covered(Region(0, 0, 6, 4), Region(6, 0, 4, 4))
    assert not covered(Region(0, 0, 6, 4), Region(6, 0, 4, 3))  # a row of the parent shows
    assert not covered(Region(0, 0, 6, 4), Region(5, 0, 4, 4))  # overlapping: a column shows
    assert not covered(Region(0, 0, 7, 4), Region(5, 0, 5, 4))  # areas add up, yet they overlap
