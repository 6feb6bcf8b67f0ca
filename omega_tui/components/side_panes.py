"""The right-hand column (Sessions, Timeline, Metrics): empty titled boxes in the first frame, the
real panes right after it.

Why: the app must take keys within 0.3 s of its start (issue 12), and a bare Textual app with one
input already paints its first frame at about 0.27 s. Composing, styling and rendering the three
side panes (and importing their modules: tables, the timeline's rows and preview, dialogs) cost the
first frame more than a third of its time, for panes that show nothing until the server answers
anyway. So the first frame holds ``EmptyPane`` boxes: the same ids, hence the same borders,
titles and sizes from ``app.tcss``, and nothing inside; nothing moves when the real panes replace
them (``SidePanes.fill``, called once the first frame is on screen, in one batch: no frame shows
the column half swapped).

Until ``filled`` is set nothing may look the real panes up; the app gates everything that does
(the connection's first answer) on ``when_filled``.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from omega_tui.components.alike_rows import render_alike_rows

SIDE_PANES = (("sessions", "Sessions"), ("timeline", "Timeline"), ("metrics", "Metrics"))
"""(id, border title) of each side pane, top to bottom."""


class EmptyPane(Widget, can_focus=False):
    """An empty box styled as the pane of the same id (border, title, size); renders nothing."""

    def __init__(self, pane_id: str, title: str) -> None:
        super().__init__(id=pane_id)
        self.border_title = title

    def render(self) -> str:
        return ""

    def render_lines(self, crop: Region) -> list[Strip]:
        """Its inner rows rendered once (``alike_rows``: an empty box)."""
        return render_alike_rows(super().render_lines, self.region.size, crop)


def empty_panes() -> list[EmptyPane]:
    """The first frame's side column."""
    return [EmptyPane(pane_id, title) for pane_id, title in SIDE_PANES]


def real_panes() -> list[Widget]:
    """The side panes themselves (their modules are imported here, after the first frame)."""
    from omega_tui.components.metrics_pane import MetricsPane
    from omega_tui.components.sessions_pane import SessionsPane
    from omega_tui.components.timeline_pane import TimelinePane

    return [SessionsPane(id="sessions"), TimelinePane(id="timeline"), MetricsPane(id="metrics")]


class SidePanes:
    """Swaps the empty boxes of ``column`` for the real panes once, and runs what waited for them."""

    def __init__(self) -> None:
        self.filled = False
        self._waiting: list[Callable[[], object]] = []

    def when_filled(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` now if the real panes are mounted, else right after they are."""
        if self.filled:
            callback()
        else:
            self._waiting.append(callback)

    async def fill(self, column: Widget) -> None:
        """Replace the empty boxes in ``column`` by the real panes (one batch: one frame)."""
        if self.filled:
            return
        panes = real_panes()
        with column.app.batch_update():
            await column.remove_children()
            await column.mount_all(panes)
        if not all(pane.is_attached for pane in panes):
            return  # the app closed meanwhile (its screen is gone): nothing is waiting any more
        self.filled = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback()
