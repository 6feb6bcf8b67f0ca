"""Textual's compositor, rendering for a partial frame only the widgets that can show in it.

Why: a partial frame (the REPL log scrolled by an Enter's result) repaints a region of the screen
(the update's *crop*). Textual 8's ``Compositor._get_renders`` picks the widgets to render by
whether their *clip* (the parent's visible region) overlaps that crop, not their own visible area:
every widget of the right-hand column and the header, footer and status bar share a clip with
the REPL, so each frame of the log also rendered, cut into pieces and assembled every row of the
Sessions, Timeline and Metrics panes, none of which the frame writes (the update writes only the
spans of the crop: ``ChopsUpdate``). About half of an Enter's frame on the UI thread went there.

``CroppedCompositor._get_renders`` is Textual's with one change: a widget is taken only if its
visible area (its region within its clip) overlaps the crop. What reaches the terminal is the
same (``tests/tui/test_cropped_compositor.py`` compares the frames of both).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class CroppedCompositor(Compositor):
    """A ``Compositor`` that renders, for a crop, only the widgets visible in it (see the module docstring)."""

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        # follows textual._compositor.Compositor._get_renders (Textual 8.2), the overlap test changed
        _rich_traceback_guard = True  # noqa: F841 - as Textual's: no traceback frames from here
        intersection = Region.intersection
        contains_region = Region.contains_region
        if crop:
            crop_overlaps = crop.overlaps
            widget_regions = [(widget, region, clip) for widget, (region, clip) in self.visible_widgets.items()
                              if crop_overlaps(intersection(region, clip))]
        else:
            widget_regions = [(widget, region, clip) for widget, (region, clip) in self.visible_widgets.items()]
        for widget, region, clip in widget_regions:
            if contains_region(clip, region):
                yield region, clip, widget.render_lines(Region(0, 0, region.width, region.height))
            else:
                new_x, new_y, new_width, new_height = intersection(region, clip)
                if new_width and new_height:
                    yield region, clip, widget.render_lines(
                        Region(new_x - region.x, new_y - region.y, new_width, new_height))
