"""The Timeline pane's preview panel and search field.

The preview shows the selected input once the cursor rests on it for a moment (so holding a key
down repaints only the list and asks the server nothing): its first line and result from its row,
then its detail from the ``history`` op: the whole input, its output, the names it defined, the
receipts it used and its tokens. Reading it
records nothing. The search field (``/``) finds inputs, labels and tags; enter searches, esc closes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from omega_tui.components.timeline_rows import HistorySource, preview_lines
from omega_tui.components.timeline_view import TimelineView

DETAIL_DELAY_S = 0.12
PREVIEW_HEIGHT = 4


class TimelinePreview(Widget):
    """Draws its lines itself (``render``) at a fixed height: showing another row repaints this
    widget only, never the screen's layout (``Static.update`` would, at ~100 ms a key)."""

    DEFAULT_CSS = f"""
    TimelinePreview {{ height: {PREVIEW_HEIGHT}; border-top: solid $panel-lighten-2; color: $text-muted;
                      overflow: hidden; padding: 0 1; }}
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []
        self.row: dict[str, Any] | None = None
        self.detail: dict[str, Any] | None = None
        self._timer: Timer | None = None
        self._asked: tuple[int, int] | None = None
        self.immediate: bool | None = None
        """Show at once, without the resting delay (None: when the app is deterministic, for snapshots)."""

    def show(self, row: dict[str, Any] | None, source: HistorySource | None) -> None:
        """Show ``row`` and its detail once the cursor has rested on it for a moment (at once in a
        deterministic app): a key held down repaints the list only and asks the server nothing."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        key = (int(row.get("index", -1)), int(row.get("end", -1))) if row is not None else None
        self._asked = key

        def fetch() -> None:
            self._timer = None
            self.row, self.detail = row, None
            self._paint()
            if row is None or source is None or row.get("item") is not None:
                return  # a row made of a timeline item (tag filter, older server) has no detail

            def done(result: dict[str, Any] | None, problem: BaseException | None) -> None:
                if self._asked == key and isinstance(result, dict):
                    self.detail = result
                    self._paint()

            source.detail(row, done)

        if self.immediate if self.immediate is not None else getattr(self.app, "deterministic", False):
            fetch()
        else:
            self._timer = self.set_timer(DETAIL_DELAY_S, fetch)

    def _paint(self) -> None:
        width = max(10, self.size.width - 2 if self.size.width else 40)
        shown = max(1, self.size.height or PREVIEW_HEIGHT - 1)  # the lines inside its top border
        self.lines = preview_lines(self.row, self.detail, width)[:shown]
        self.refresh()

    def render(self) -> Text:
        return Text("\n".join(self.lines), no_wrap=True, overflow="ellipsis")  # plain text: never markup

    def on_resize(self) -> None:
        self._paint()


class SearchField(Input):
    """``/`` opens it; enter searches from the cursor (n/N repeat in the list); esc closes it."""

    DEFAULT_CSS = """
    SearchField { display: none; height: 1; border: none; padding: 0 1; }
    SearchField.open { display: block; }
    """

    def open(self) -> None:
        self.add_class("open")
        self.focus()

    def close(self) -> None:
        self.remove_class("open")
        if self.parent is not None:
            self.parent.query_one(TimelineView).focus()

    async def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        view = self.parent.query_one(TimelineView) if self.parent is not None else None
        self.close()
        if view is not None:
            view.search(message.value, 1)

    async def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.close()
