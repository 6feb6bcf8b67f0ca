"""Textual's compositor, rendering for a partial frame only the widgets that can show in it.

Why: a partial frame (the REPL log scrolled by an Enter's result) repaints a region of the screen
(the update's *crop*). Textual 8's ``Compositor._get_renders`` picks the widgets to render by
whether their *clip* (the parent's visible region) overlaps that crop, not their own visible area:
every widget of the right-hand column and the header, footer and status bar share a clip with
the REPL, so each frame of the log also rendered, cut into pieces and assembled every row of the
Sessions, Timeline and Metrics panes, none of which the frame writes (the update writes only the
spans of the crop: ``ChopsUpdate``). About half of an Enter's frame on the UI thread went there.

``CroppedCompositor._get_renders`` is Textual's with two changes: a widget is taken only if its
visible area (its region within its clip) overlaps the crop, and not if its children cover all of
its visible area (the screen behind the header, panes and bars; the columns behind their panes):
the compositor paints front to back and the first strip for a cell wins, so such a widget's strips
were rendered and cut up only to be thrown away (some 3 ms of every full frame, the first one
included). What reaches the terminal is the same (``tests/tui/test_cropped_compositor.py``
compares the frames of both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class CroppedCompositor(Compositor):
    """A ``Compositor`` that renders, for a crop, only the widgets visible in it (see the module docstring)."""

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        # follows textual._compositor.Compositor._get_renders (Textual 8.2), the overlap test changed
        _rich_traceback_guard = True  # noqa: F841 - as Textual's: no traceback frames from here
        intersection = Region.intersection
        contains_region = Region.contains_region
        visible = self.visible_widgets
        covered = covered_widgets(visible)
        if crop:
            crop_overlaps = crop.overlaps
            widget_regions = [(widget, region, clip) for widget, (region, clip) in visible.items()
                              if widget not in covered and crop_overlaps(intersection(region, clip))]
        else:
            widget_regions = [(widget, region, clip) for widget, (region, clip) in visible.items() if widget not in covered]
        for widget, region, clip in widget_regions:
            if contains_region(clip, region):
                yield region, clip, widget.render_lines(Region(0, 0, region.width, region.height))
            else:
                new_x, new_y, new_width, new_height = intersection(region, clip)
                if new_width and new_height:
                    yield region, clip, widget.render_lines(
                        Region(new_x - region.x, new_y - region.y, new_width, new_height))


def covered_widgets(visible: Mapping[Widget, tuple[Region, Region]]) -> set[Widget]:
    """The widgets of ``visible`` (widget -> region, clip) whose visible area their visible children
    cover entirely, without overlapping one another (overlapping children could leave a hole
    while their areas add up)."""
    children: dict[Widget, list[Region]] = {}
    for widget, (region, clip) in visible.items():
        parent = widget._parent
        if parent in visible:
            children.setdefault(parent, []).append(region.intersection(clip))  # type: ignore[index]
    covered: set[Widget] = set()
    for parent, parts in children.items():
        region, clip = visible[parent]
        area = region.intersection(clip)
        inside = [part.intersection(area) for part in parts]
        if sum(part.area for part in inside) != area.area or not area.area:
            continue
        if any(first.overlaps(second) for index, first in enumerate(inside) for second in inside[index + 1:]):
            continue
        covered.add(parent)
    return covered
