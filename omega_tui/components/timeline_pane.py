"""The Timeline pane: the session's history, one row per input, with its branches drawn in a gutter.

Each row is an input: the branch graph (as ``git log --graph`` draws it; the current branch is
highlighted), its first line, a preview of its result or error, and its marks (snapshots,
annotations, forks). The checkpoints an input took while it ran fold under it (right/left/space).

Browsing never changes the session: the cursor keys, ``[``/``]`` (previous/next input), g/G,
``/`` (search inputs, labels and tags; n/N for the next/previous match) and a click only move the
cursor, and the preview panel below shows the selected input, its output, the names it defined,
the receipts it used and its tokens. Enter ("Go here") or a double click performs the goto, which
the server records; the next input then starts a branch.

The list is ``timeline_view.TimelineView`` (virtual: 100,000 inputs cost what the visible 20
cost); the preview panel and the search field are in ``timeline_preview``.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.containers import Vertical

from omega_tui.components.timeline_preview import SearchField, TimelinePreview
from omega_tui.components.timeline_rows import MemorySource
from omega_tui.components.timeline_view import PAGE, TimelineView
from omega_tui.components.pane_titles import set_border_subtitle

__all__ = ["PAGE", "MemorySource", "TimelinePane", "TimelineView"]


class TimelinePane(Vertical):
    """The view, the preview panel below it and (after ``/``) the search field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Timeline"

    def compose(self):  # type: ignore[no-untyped-def]
        yield TimelineView(id="timeline-view")
        yield SearchField(placeholder="search inputs, labels, #tags (enter finds, esc closes)", id="timeline-search")
        yield TimelinePreview(id="timeline-preview")

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    def on_timeline_view_selected(self, message: TimelineView.Selected) -> None:
        self.query_one(TimelinePreview).show(message.row, self.view.source)

    def on_timeline_view_request(self, message: TimelineView.Request) -> None:
        if message.action == "search":  # the pane's own field; other requests go on to the app
            message.stop()
            self.query_one(SearchField).open()

    def on_resize(self, event: events.Resize) -> None:
        """A short pane gives the list most of its lines: the preview shrinks to two."""
        preview = self.query_one(TimelinePreview)
        preview.styles.height = 2 if event.size.height < 10 else 4

    def on_timeline_view_changed(self, message: TimelineView.Changed) -> None:
        view = self.view
        parts = [f"{view.total:,} {'items' if view.tag else 'inputs'}"]
        if view.position is not None:
            parts.append(f"at seq {view.position}")
        if view.lanes > 1:
            parts.append(f"{view.lanes} lanes")
        if view.tag:
            parts.append(f"#{view.tag}")
        set_border_subtitle(self, " · ".join(parts))
