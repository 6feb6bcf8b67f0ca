"""The metrics controller: fetches the session's and the server's figures for the Metrics pane,
one fetch at a time (a refresh asked for while one runs is folded into it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp


SOON_S = 0.3
"""Refreshes asked for right after a command wait this long (one fetch for a burst of commands,
and none in the way of painting the command's result)."""


class MetricsController:
    def __init__(self, app: "OmegaApp") -> None:
        self.app = app
        self.busy = False
        self._soon = False

    def refresh_soon(self) -> None:
        if self._soon:
            return
        self._soon = True

        def run() -> None:
            self._soon = False
            self.refresh()

        self.app.set_timer(SOON_S, self.app.guarded(run))

    def refresh(self) -> None:
        app = self.app
        link, session = app.link, app.session_name
        if link is None or self.busy:
            return
        self.busy = True

        def work() -> tuple[Any, Any]:
            return (link.session_metrics(session) if session else None), link.server_metrics()

        def done(result: tuple[Any, Any]) -> None:
            from omega_tui.components.metrics_pane import MetricsPane  # loads after the first frame (``side_panes``)

            self.busy = False
            notes = []
            if not link.has("metrics"):
                notes.append("(figures from status and this app: the server has no metrics op yet)")
            app.main.query_one(MetricsPane).show(session, result[0], result[1], notes)

        def failed(_: BaseException) -> None:
            self.busy = False

        app.background(work, done=done, failed=failed, group="metrics", quiet=True)
