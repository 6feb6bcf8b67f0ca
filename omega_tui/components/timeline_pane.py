"""The Timeline pane: a session's checkpoints, annotations, snapshots, forks and jumps.

The list is virtual: ``TimelineView`` is a ``ScrollView`` whose height is the item count, draws
only the rows on screen (``render_line``) and fetches the pages it needs from a ``TimelineSource``
(the server's paged ``timeline`` op through a worker, or memory in the bench). 100,000 items cost
what the visible 20 cost. The row at the session's current position is marked with ``▶``.

Keys: up/down (j/k) move, enter jumps there (goto), [ and ] jump to the previous/next checkpoint,
g/G first/last, a annotates, t filters by tag, s takes a snapshot, r restores one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rich.segment import Segment
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omega_tui.keys import bindings_for

PAGE = 200
SEARCH_PAGES = 10
"""How many pages [ and ] look through for the next checkpoint before giving up."""

ICONS = {"checkpoint": "●", "annotation": "✎", "snapshot": "◆", "fork": "⑂", "jump": "↷"}

Done = Callable[["dict[str, Any] | None", "BaseException | None"], None]


class TimelineSource(Protocol):  # pragma: no cover - a shape
    def request(self, offset: int, limit: int, tag: str | None, done: Done) -> None:
        """Fetch one page ``{total, position, items}``; call ``done(page, None)`` or ``done(None, error)``
        on the UI thread (possibly at once)."""


class MemorySource:
    """Items held in memory (tests and the bench): answers at once."""

    def __init__(self, items: list[dict[str, Any]], position: int | None = None) -> None:
        self.items = items
        self.position = position

    def request(self, offset: int, limit: int, tag: str | None, done: Done) -> None:
        items = self.items if not tag else [i for i in self.items if tag in (i.get("tags") or [])]
        done({"total": len(items), "position": self.position, "items": items[offset:offset + limit]}, None)


def describe(item: dict[str, Any]) -> str:
    """One item as text (without the markers), after the server's item shapes:
    checkpoint (reason), jump (label "jump to N"), annotation (label, note, tags),
    snapshot (snapshot_id, label = description, tags), fork (label = the fork's name)."""
    kind = str(item.get("kind") or "checkpoint")
    seq = item.get("seq", "?")
    parts = [f"{seq:>6}"]
    label = item.get("label")
    if kind == "checkpoint":
        parts.append(str(item.get("reason") or "checkpoint"))
    elif kind == "jump":
        parts.append(str(label or "jump"))
    elif kind == "annotation":
        parts.append(f"★ {label}" if label else "★")
        if item.get("note"):
            parts.append(f"— {item['note']}")
    elif kind == "snapshot":
        parts.append(str(item.get("snapshot_id") or "snapshot"))
        if label:
            parts.append(str(label))
    elif kind == "fork":
        parts.append(f"fork → {label}" if label else "fork")
    else:
        parts.append(kind + (f" {label}" if label else ""))
    tags = item.get("tags") or []
    if tags:
        parts.append(" ".join(f"#{tag}" for tag in tags))
    return " ".join(parts)


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    BINDINGS = bindings_for("timeline")

    COMPONENT_CLASSES = {
        "timeline--cursor",
        "timeline--cursor-blurred",
        "timeline--position",
        "timeline--loading",
        "timeline--annotation",
        "timeline--snapshot",
        "timeline--empty",
    }

    DEFAULT_CSS = """
    TimelineView { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    TimelineView > .timeline--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    TimelineView > .timeline--cursor-blurred { background: $block-cursor-blurred-background; }
    TimelineView > .timeline--position { color: $text-success; text-style: bold; }
    TimelineView > .timeline--loading { color: $text-muted; text-style: italic; }
    TimelineView > .timeline--annotation { color: $text-accent; }
    TimelineView > .timeline--snapshot { color: $text-secondary; }
    TimelineView > .timeline--empty { color: $text-muted; text-style: italic; }
    """

    class Goto(Message):
        def __init__(self, item: dict[str, Any]) -> None:
            super().__init__()
            self.item = item

    class Request(Message):
        """annotate / filter_tag / snapshot / restore, about ``item`` (may be None)."""

        def __init__(self, action: str, item: dict[str, Any] | None) -> None:
            super().__init__()
            self.action = action
            self.item = item

    class Changed(Message):
        """Total, position or filter changed (the pane updates its subtitle)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source: TimelineSource | None = None
        self.cursor = 0
        self.total = 0
        self.position: int | None = None
        self.tag: str | None = None
        self.pages: dict[int, list[dict[str, Any]]] = {}
        self.pending: set[int] = set()
        self.generation = 0
        self.loaded_once = False
        self.follow_end = True
        self.error: str | None = None
        self._search: tuple[int, int, int] | None = None  # (generation, direction, pages left)

    # --- data ------------------------------------------------------------------------------------

    def set_source(self, source: TimelineSource | None, tag: str | None = None) -> None:
        self.source = source
        self.tag = tag
        self.total = 0
        self.position = None
        self.loaded_once = False
        self.follow_end = True
        self.cursor = 0
        self.reload()

    def reload(self) -> None:
        """Forget the pages and fetch what is visible again (after new events, a jump, a filter)."""
        self.generation += 1
        self.pages.clear()
        self.pending.clear()
        self.error = None
        self._search = None
        if self.source is None:
            self._set_total(0)
            self.refresh()
            return
        first_page = self.cursor // PAGE if self.loaded_once else 0
        self._request(first_page)

    def _request(self, page: int) -> None:
        if self.source is None or page in self.pages or page in self.pending:
            return
        self.pending.add(page)
        generation = self.generation

        def done(result: dict[str, Any] | None, problem: BaseException | None) -> None:
            self._loaded(generation, page, result, problem)

        self.source.request(page * PAGE, PAGE, self.tag, done)

    def _loaded(self, generation: int, page: int, result: dict[str, Any] | None, problem: BaseException | None) -> None:
        if generation != self.generation:
            return
        self.pending.discard(page)
        if problem is not None or result is None:
            self.error = str(problem) if problem is not None else "no answer"
            self.refresh()
            return
        self.pages[page] = list(result.get("items") or [])
        total = int(result.get("total") or 0)
        first_load = not self.loaded_once
        self.loaded_once = True
        self.position = result.get("position")
        self._set_total(total)
        if first_load or (self.follow_end and total):
            target = self._position_index() if first_load else None
            self.move_to(total - 1 if target is None else target, follow=target is None)
            self.call_after_refresh(self.scroll_to_cursor)
        self.post_message(self.Changed())
        self.refresh()
        if self._search is not None and self._search[0] == generation:
            _, direction, left = self._search
            self._search = None
            self._step_checkpoint(direction, left - 1)

    def _set_total(self, total: int) -> None:
        if total != self.total or self.virtual_size.height != total:
            self.total = total
            self.virtual_size = Size(1, total)
        if self.total and self.cursor >= self.total:
            self.cursor = self.total - 1

    def _is_position(self, index: int, item: dict[str, Any]) -> bool:
        """The current point is the last item whose seq is at or before the session's position."""
        position = self.position
        seq = item.get("seq")
        if position is None or not isinstance(seq, int) or seq > position:
            return False
        if index + 1 >= self.total:
            return True
        following = self.pages.get((index + 1) // PAGE)
        if following is None:
            return False
        offset = index + 1 - (index + 1) // PAGE * PAGE
        if offset >= len(following):
            return False
        after = following[offset].get("seq")
        return isinstance(after, int) and after > position

    def _position_index(self) -> int | None:
        if self.position is None:
            return None
        for page in sorted(self.pages):
            for offset, item in enumerate(self.pages[page]):
                index = page * PAGE + offset
                if self._is_position(index, item):
                    return index
        return None

    def item(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self.total:
            return None
        page = index // PAGE
        items = self.pages.get(page)
        if items is None:
            self._request(page)
            items = self.pages.get(page)  # a memory source answers at once
            if items is None:
                return None
        offset = index - page * PAGE
        return items[offset] if offset < len(items) else None

    @property
    def current_item(self) -> dict[str, Any] | None:
        return self.item(self.cursor)

    # --- drawing ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(1, self.total)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if self.total == 0:
            if y == 0:
                if self.error:
                    text = f"  {self.error}"
                elif not self.loaded_once and self.source is not None:
                    text = "  loading…"
                elif self.tag:
                    text = f"  nothing tagged #{self.tag}"
                else:
                    text = "  no checkpoints yet"
                style = self.get_component_rich_style("timeline--empty")
                return Strip([Segment(text[:width].ljust(width), style)], width)
            return Strip.blank(width, self.rich_style)
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        item = self.item(index)
        base = self.rich_style
        if item is None:
            style = base + self.get_component_rich_style("timeline--loading")
            return Strip([Segment(f"  {index + 1:>6} …".ljust(width)[:width], style)], width)
        at_position = self._is_position(index, item)
        marker = "▶" if at_position else " "
        icon = ICONS.get(str(item.get("kind")), "·")
        body = describe(item)
        line = f"{marker}{icon}{body}"
        if len(line) < width:
            line = line.ljust(width)
        else:
            line = line[:width - 1] + "…" if width > 1 else line[:width]
        style = base
        kind = item.get("kind")
        if kind == "annotation" or item.get("label"):
            style = style + self.get_component_rich_style("timeline--annotation")
        elif kind == "snapshot":
            style = style + self.get_component_rich_style("timeline--snapshot")
        if at_position:
            style = style + self.get_component_rich_style("timeline--position")
        if index == self.cursor:
            cursor_style = "timeline--cursor" if self.has_focus else "timeline--cursor-blurred"
            style = style + self.get_component_rich_style(cursor_style)
        return Strip([Segment(line, style)], width)

    # --- moving ----------------------------------------------------------------------------------

    def move_to(self, index: int, follow: bool = False) -> None:
        if self.total == 0:
            return
        index = max(0, min(self.total - 1, index))
        previous = self.cursor
        self.cursor = index
        self.follow_end = follow or index == self.total - 1
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if index < top:
            self._scroll_y_to(index)
        elif index >= top + height:
            self._scroll_y_to(index - height + 1)
        else:
            self._refresh_row(previous)
            self._refresh_row(index)
            return
        self.refresh()

    def scroll_to_cursor(self) -> None:
        """Bring the cursor row into view (after a layout, when the height is known)."""
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if self.cursor < top:
            self._scroll_y_to(self.cursor)
        elif self.cursor >= top + height:
            self._scroll_y_to(self.cursor - height + 1)

    def _scroll_y_to(self, y: int) -> None:
        y = max(0, min(y, self.total - max(1, self.scrollable_content_region.height)))
        self.scroll_target_y = y
        self.scroll_y = y

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    def on_focus(self) -> None:
        self._refresh_row(self.cursor)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.total - 1, follow=True)

    def action_goto(self) -> None:
        item = self.current_item
        if item is not None:
            self.post_message(self.Goto(item))

    def action_step_checkpoint(self, direction: int) -> None:
        self._step_checkpoint(direction, SEARCH_PAGES)

    def _step_checkpoint(self, direction: int, pages_left: int) -> None:
        """Move the cursor to the previous/next checkpoint (fetching pages on the way); no goto."""
        index = self.cursor + direction
        while 0 <= index < self.total:
            page = index // PAGE
            if page not in self.pages:
                if pages_left <= 0:
                    self.app.notify("No checkpoint nearby in that direction", severity="warning")
                    return
                self.move_to(index)
                self._search = (self.generation, direction, pages_left)
                self._request(page)
                if page not in self.pages:
                    return  # continues in _loaded
                self._search = None
                pages_left -= 1
                continue
            item = self.item(index)
            if item is not None and item.get("kind", "checkpoint") == "checkpoint":
                self.move_to(index)  # browsing only: Enter performs the goto (nothing is recorded here)
                return
            index += direction
        self.app.notify("No earlier checkpoint" if direction < 0 else "No later checkpoint", severity="information")

    def action_annotate(self) -> None:
        self.post_message(self.Request("annotate", self.current_item))

    def action_filter_tag(self) -> None:
        self.post_message(self.Request("filter_tag", self.current_item))

    def action_snapshot(self) -> None:
        self.post_message(self.Request("snapshot", self.current_item))

    def action_restore(self) -> None:
        self.post_message(self.Request("restore", self.current_item))


class TimelinePane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Timeline"

    def compose(self):  # type: ignore[no-untyped-def]
        yield TimelineView(id="timeline-view")

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    def on_timeline_view_changed(self, message: TimelineView.Changed) -> None:
        view = self.view
        parts = [f"{view.total:,} items"]
        if view.position is not None:
            parts.append(f"at seq {view.position}")
        if view.tag:
            parts.append(f"#{view.tag}")
        self.border_subtitle = " · ".join(parts)
