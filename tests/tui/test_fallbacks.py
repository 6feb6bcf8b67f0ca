"""An older server without the newer ops: the app falls back and says what is off, never crashes.

This uses the canned client (it answers "not available yet" for the ops named) because a real
server of this checkout has them all.
"""

from __future__ import annotations

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.metrics_pane import MetricsPane
from omega_tui.components.timeline_pane import TimelineView

from .conftest import screen_text, wait_for

pytestmark = pytest.mark.anyio

MISSING = {"subscribe", "access", "clients", "metrics", "history", "timeline", "annotate", "snapshot", "snapshots", "restore"}


async def test_an_older_server_gets_fallbacks_and_notices() -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(missing=MISSING), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the session")
        view = app.main.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total > 0, 5, "the timeline from the checkpoint list")
        assert all(item["kind"] in ("checkpoint", "jump") for item in view.pages[0])
        assert not app.subscribed and app.mode == "read-write"
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = "\n".join(str(n.message) for n in app._notifications)
        assert "'subscribe'" in text and "polling" in text
        view.focus()
        for key in ("a", "s", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.main  # no dialog for an op the server lacks
        text = "\n".join(str(n.message) for n in app._notifications)
        assert "'annotate'" in text and "'snapshot'" in text and "'restore'" in text
        app.refresh_metrics()
        await wait_for(pilot, lambda: not app.metrics.busy, 5, "metrics")
        await pilot.pause()
        assert app.link is not None and not app.link.has("metrics")
        app.main.query_one(MetricsPane).focus()
        await pilot.pause()
        text = screen_text(app)
        assert "up 1h 02m" in text and "commands" in text  # from status, and this app's own counts
